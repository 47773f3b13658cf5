"""Tests of the Zephyr IPMI actions against bmcsim over UDP on 127.0.0.1."""

from __future__ import annotations

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.zephyr_ipmi.const import DOMAIN

from .control_helpers import SimFactory, async_add, control, entity_id, sets, start_sim, state, writes

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


@pytest.fixture
async def non_admin(hass: HomeAssistant, hass_owner_user: MockUser) -> Context:
    """A call made by a Home Assistant user without administrator rights."""
    user = await hass.auth.async_create_user("Operator", group_ids=[GROUP_ID_USER])
    return Context(user_id=user.id)


async def _action(hass: HomeAssistant, service: str, context: Context, **data: object) -> object:
    supports_response = hass.services.supports_response(DOMAIN, service).value != "none"
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=context,
        return_response=supports_response and "entity_id" not in data,
    )


async def test_set_fan_mode(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """set_fan_mode sends 0x30 0x45 0x01 <mode>; Full makes Zephyr hold the fans."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _action(hass, "set_fan_mode", admin, config_entry_id=entry.entry_id, mode="full")

    assert sets(sim, seq) == ["45 01 01 -> 00"]
    assert state(hass, entry, "select", "fan_mode").state == "full"
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"


async def test_set_fan_mode_the_board_lacks(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A Dell mode asked of a Supermicro board is refused with a translated message; nothing is sent."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    with pytest.raises(ServiceValidationError) as err:
        await _action(hass, "set_fan_mode", admin, config_entry_id=entry.entry_id, mode="manual")

    assert err.value.translation_key == "unknown_mode"
    assert sets(sim, seq) == []


async def test_set_zone_duty(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """set_zone_duty on the peripheral zone: Full mode, then 0x30 0x70 0x66 0x01 0x01 0x2D (45 %)."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _action(hass, "set_zone_duty", admin, config_entry_id=entry.entry_id, zone="peripheral", percentage=45)

    assert sets(sim, seq) == ["45 01 01 -> 00", "70 66 01 01 2d -> 00"]
    assert state(hass, entry, "fan", "fan_zone_peripheral").attributes["percentage"] == 45


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        (
            {"zone": "cpu", "percentage": 0},
            "duty_zero",
            "A duty cycle of 0 % would stop the fans, so Zephyr never sends it. Turn the fan off to give it back "
            "to the BMC's automatic mode",
        ),
        (
            {"zone": "cpu", "percentage": 19},
            "duty_below_floor",
            "The duty cycle is below this board's lowest safe duty cycle (20 %)",
        ),
        ({"zone": "zone_3", "percentage": 50}, "unknown_zone", 'This BMC has no fan zone "zone_3"'),
    ],
)
async def test_set_zone_duty_refused(
    hass: HomeAssistant, *, bmc_sim_factory: SimFactory, admin: Context, data: dict[str, object], key: str, message: str
) -> None:
    """0 %, a duty below the floor and an unknown zone are refused in words; nothing reaches the BMC."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    with pytest.raises(ServiceValidationError) as err:
        await _action(hass, "set_zone_duty", admin, config_entry_id=entry.entry_id, **data)

    assert (err.value.translation_key, str(err.value)) == (key, message)
    assert sets(sim, seq) == []


async def test_restore_automatic(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """restore_automatic_fan_control sends the mode found before Zephyr took the fans."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await _action(hass, "set_zone_duty", admin, config_entry_id=entry.entry_id, zone="cpu", percentage=40)
    seq = sim.control.last_seq()

    await _action(hass, "restore_automatic_fan_control", admin, config_entry_id=entry.entry_id)

    assert sets(sim, seq) == ["45 01 02 -> 00"]
    assert sim.control.state()["fans"]["mode_name"] == "optimal"
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"


async def test_fan_actions_on_a_monitoring_only_bmc(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """HPE iLO: the fan actions are refused with the reason to look at."""
    sim = start_sim(bmc_sim_factory, "hpe-ilo4")
    entry = await async_add(hass, sim)

    with pytest.raises(ServiceValidationError) as err:
        await _action(hass, "set_fan_mode", admin, config_entry_id=entry.entry_id, mode="standard")

    assert err.value.translation_key == "fan_control_unavailable"
    assert entry.title in str(err.value)
    assert writes(sim) == []


async def test_non_admin_refused_unless_allowed(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, non_admin: Context
) -> None:
    """Fan actions from a non-admin user are refused in words, unless the options allow them."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    with pytest.raises(HomeAssistantError) as err:
        await _action(hass, "restore_automatic_fan_control", non_admin, config_entry_id=entry.entry_id)
    assert err.value.translation_key == "not_allowed"

    hass.config_entries.async_update_entry(entry, options={**entry.options, "allow_non_admin_control": True})
    await hass.async_block_till_done()
    seq = sim.control.last_seq()
    await _action(hass, "set_fan_mode", non_admin, config_entry_id=entry.entry_id, mode="full")
    assert sets(sim, seq) == ["45 01 01 -> 00"]


async def test_set_fan_thresholds(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Lower fan thresholds, rounded to the sensor's 100 rpm step, written with Set Sensor Thresholds."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    fan1 = entity_id(hass, entry, "sensor", f"20_0_{sim.control.sensor('FAN1')['number']}")
    seq = sim.control.last_seq()

    response = await hass.services.async_call(
        DOMAIN,
        "set_fan_thresholds",
        {"entity_id": fan1, "lower_non_recoverable": 120, "lower_critical": 240, "lower_non_critical": 380},
        blocking=True,
        context=admin,
        return_response=True,
    )

    assert response == {
        "thresholds": {"lower_non_recoverable": 100.0, "lower_critical": 200.0, "lower_non_critical": 400.0}
    }
    thresholds = sim.control.sensor("FAN1")["thresholds"]
    assert (thresholds["lnr"], thresholds["lcr"], thresholds["lnc"]) == (100.0, 200.0, 400.0)
    assert [line for line in writes(sim, seq, netfn=0x04) if line.startswith("26")] == [
        # Mask 0x07 (LNC, LCR, LNR), then LNC 4, LCR 2, LNR 1 (x 100 rpm) and the upper ones unchanged.
        f"26 {sim.control.sensor('FAN1')['number']:02x} 07 04 02 01 fd fe ff -> 00"
    ]


async def test_set_fan_thresholds_ast2600_only_lower_critical(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """X13 (AST2600) fans take only the lower critical threshold: others are refused before sending."""
    sim = start_sim(bmc_sim_factory, "supermicro-x13")
    entry = await async_add(hass, sim)
    fan1 = entity_id(hass, entry, "sensor", f"20_0_{sim.control.sensor('FAN1')['number']}")
    seq = sim.control.last_seq()

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_fan_thresholds", {"entity_id": fan1, "lower_non_critical": 400}, blocking=True, context=admin
        )
    assert err.value.translation_key == "threshold_not_settable"
    assert not [line for line in writes(sim, seq, netfn=0x04) if line.startswith("26")]

    await hass.services.async_call(
        DOMAIN, "set_fan_thresholds", {"entity_id": fan1, "lower_critical": 400}, blocking=True, context=admin
    )
    assert sim.control.sensor("FAN1")["thresholds"]["lcr"] == 400.0


async def test_set_fan_thresholds_needs_a_fan_sensor(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Only fan speed sensors of a Zephyr BMC take fan thresholds."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    cpu_temp = entity_id(hass, entry, "sensor", f"20_0_{sim.control.sensor('CPU Temp')['number']}")

    for target in (cpu_temp, entity_id(hass, entry, "binary_sensor", "connectivity"), "sensor.not_there"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "set_fan_thresholds", {"entity_id": target, "lower_critical": 300}, blocking=True, context=admin
            )
        assert err.value.translation_key == "not_a_fan_sensor"


async def test_send_raw_command(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A raw Get Fan Mode (0x30 0x45 0x00) answers the mode byte as response data; it is audited."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    response = await hass.services.async_call(
        DOMAIN,
        "send_raw_command",
        {"config_entry_id": entry.entry_id, "netfn": 0x30, "command": 0x45, "data": "0x00"},
        blocking=True,
        context=admin,
        return_response=True,
    )

    assert response == {"data": [2], "hex": "02"}
    # The raw request, then the fans read back (a raw command may have changed them).
    assert writes(sim, seq)[0] == "45 00 -> 00"
    assert control(entry).audit[-1]["command"] == "raw"


@pytest.mark.parametrize("data", ["0x01 0x01", "01,01", [1, 1]])
async def test_send_raw_fan_mode_is_supervised(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, data: object
) -> None:
    """A raw Set Fan Mode Full (hex text or numbers) takes the fans like the entities do: handed back at unload."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await hass.services.async_call(
        DOMAIN,
        "send_raw_command",
        {"config_entry_id": entry.entry_id, "netfn": 0x30, "command": 0x45, "data": data},
        blocking=True,
        context=admin,
    )
    assert sim.control.state()["fans"]["mode_name"] == "full"
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"
    seq = sim.control.last_seq()

    assert await hass.config_entries.async_unload(entry.entry_id)

    assert sets(sim, seq) == ["45 01 02 -> 00"]


async def test_send_raw_command_forbidden(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Set User Password (0x06 0x47) is refused; the password never reaches the BMC, the audit or storage."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()
    secret = "53 65 6b 72 65 74"  # "Sekret"

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_raw_command",
            {"config_entry_id": entry.entry_id, "netfn": 0x06, "command": 0x47, "data": f"02 02 {secret}"},
            blocking=True,
            context=admin,
        )

    assert err.value.translation_key == "raw_command_forbidden"
    assert writes(sim, seq, netfn=0x06) == []
    assert control(entry).audit[-1] | {"time": 0} == {
        "time": 0,
        "actor": admin.user_id,
        "command": "raw",
        "netfn": 0x06,
        "cmd": 0x47,
        "data": "**REDACTED**",
        "completion_code": None,
        "result": "refused",
        "detail": "raw_command_forbidden",
    }


@pytest.mark.parametrize("data", ["0x100", "zz", "0x45 -1", [256], [-1]])
async def test_send_raw_command_bad_data(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, data: object
) -> None:
    """Data that is not bytes is refused in words before anything is sent."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_raw_command",
            {"config_entry_id": entry.entry_id, "netfn": 0x30, "command": 0x45, "data": data},
            blocking=True,
            context=admin,
        )

    assert err.value.translation_key == "raw_data_invalid"
    assert writes(sim, seq) == []


async def test_send_raw_command_refused_by_the_bmc(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A completion code is reported in words with its value (0xC1 for a command the BMC does not know)."""
    sim = start_sim(bmc_sim_factory, "hpe-ilo4")
    entry = await async_add(hass, sim)

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "send_raw_command",
            {"config_entry_id": entry.entry_id, "netfn": 0x30, "command": 0x45, "data": "00"},
            blocking=True,
            context=admin,
        )

    assert str(err.value) == "The BMC refused the command (completion code 0xC1)"


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("send_raw_command", {"netfn": 0x06, "command": 0x01}),
        ("set_fan_thresholds", {"lower_critical": 300}),
    ],
)
async def test_admin_only_actions(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, non_admin: Context, service: str, data: dict[str, object]
) -> None:
    """Raw commands and thresholds are admin services, whatever the options say."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "allow_non_admin_control": True})
    await hass.async_block_till_done()
    target = (
        {"config_entry_id": entry.entry_id}
        if service == "send_raw_command"
        else {"entity_id": entity_id(hass, entry, "sensor", f"20_0_{sim.control.sensor('FAN1')['number']}")}
    )
    seq = sim.control.last_seq()

    with pytest.raises(Unauthorized):
        await hass.services.async_call(DOMAIN, service, {**target, **data}, blocking=True, context=non_admin)

    assert writes(sim, seq, netfn=0x06) == []
    assert writes(sim, seq, netfn=0x04) == [] or all(not line.startswith("26") for line in writes(sim, seq, netfn=0x04))


async def test_actions_refuse_the_channels_entry(hass: HomeAssistant, admin: Context) -> None:
    """The notification channels entry is no BMC: actions naming it are refused in words."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "notification_channels"}
    )
    await hass.async_block_till_done()
    channels = result["result"]

    for service, data in (
        ("set_fan_mode", {"mode": "full"}),
        ("send_raw_command", {"netfn": 0x06, "command": 0x01}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, service, {"config_entry_id": channels.entry_id, **data}, blocking=True, context=admin
            )
        assert err.value.translation_key == "not_a_bmc"
