"""Fan control safety through Home Assistant, against bmcsim over UDP on 127.0.0.1.

Zephyr hands the fans back to the BMC's own mode (Optimal on the simulated X11, as found at start) when the
entry is unloaded, reloaded or removed, Home Assistant stops, a write is refused, the BMC answers again after
it did not, or the BMC keeps reverting the mode; after Home Assistant was killed, the next start hands back
before anything else. Who may write and the audit trail are tested here too.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_capture_events, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from bmcsim import Simulator
from custom_components.zephyr_ipmi.const import DOMAIN
from custom_components.zephyr_ipmi.fan_control import store_key

from .control_helpers import (
    PASSWORD,
    USER,
    SimFactory,
    async_add,
    async_next_interval,
    control,
    entity_id,
    sets,
    start_sim,
    state,
    writes,
)

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled", "pyghmi_io_thread")]

HAND_BACK = "45 01 02 -> 00"
"""Supermicro Set Fan Mode Optimal: the mode the simulated X11 runs in before Zephyr touches it."""
TAKE_40 = ["45 01 01 -> 00", "70 66 01 00 28 -> 00"]
"""Full mode, then the CPU zone at 40 % (0x28)."""


@pytest.fixture
def admin(hass_admin_user: MockUser) -> Context:
    """A call made by a Home Assistant administrator."""
    return Context(user_id=hass_admin_user.id)


async def _set_duty(hass: HomeAssistant, entry: ConfigEntry, context: Context, percentage: int = 40) -> None:
    await hass.services.async_call(
        "fan",
        "set_percentage",
        {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu"), "percentage": percentage},
        blocking=True,
        context=context,
    )


async def _holding(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> tuple[Simulator, ConfigEntry]:
    """A simulated X11 whose CPU zone Zephyr runs at 40 %."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()
    await _set_duty(hass, entry, admin)
    assert sets(sim, seq) == TAKE_40
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"
    return sim, entry


def _stored(hass_storage: dict[str, Any], entry: ConfigEntry) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[store_key(entry.unique_id or "")]["data"]
    return data


def _mode(sim: Simulator) -> str:
    return str(sim.control.state()["fans"]["mode_name"])


# ---------------------------------------------------------------------------
# Hand-back on every path
# ---------------------------------------------------------------------------


async def test_unload_hands_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """Unloading the entry sends the BMC's own mode back before logging out, and stores that it did."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    assert _stored(hass_storage, entry)["controller"]["holding"] is True
    seq = sim.control.last_seq()

    assert await hass.config_entries.async_unload(entry.entry_id)

    assert sets(sim, seq) == [HAND_BACK]
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("optimal", {})
    assert _stored(hass_storage, entry)["controller"]["holding"] is False


async def test_a_hot_bmc_gets_its_fans_back_from_a_manual_duty(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """A duty set by hand is supervised too: at a temperature's upper non-critical threshold the BMC takes over.

    Below the threshold nothing changes; at it, the next control interval hands back, audited.
    """
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    unc = sim.control.sensor("CPU Temp")["thresholds"]["unc"]
    sim.control.set_temperature("CPU Temp", unc - 2)
    seq = sim.control.last_seq()
    await async_next_interval(hass, sim)
    assert sets(sim, seq) == []
    assert state(hass, entry, "sensor", "fan_control").state == "zephyr"

    sim.control.set_temperature("CPU Temp", unc + 1)
    await async_next_interval(hass, sim)

    assert sets(sim, seq) == [HAND_BACK]
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("optimal", {})
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert control(entry).audit[-1]["command"] == "set_fan_mode"
    assert "temperature" in control(entry).audit[-1]["detail"]
    assert f"CPU Temp reads {unc + 1:g} °C, at or over its limit of {unc:g} °C" in caplog.text

    # Nothing is taken again by itself: the owner decides when to lower the fans again.
    await async_next_interval(hass, sim)
    assert sets(sim, seq) == [HAND_BACK]


async def test_a_session_that_comes_back_with_user_privilege_gives_the_fans_back(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """Held fans whose BMC now grants only the User privilege are not left unsupervised: a hand-back is tried.

    The BMC refuses it (a User session may not set the fan mode), so it stays owed, with a repair issue, and is
    sent as soon as the privilege is back.
    """
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_credentials(USER, PASSWORD, privilege=2)
    sim.control.restart_bmc()
    seq = sim.control.last_seq()
    for _ in range(2):
        await async_next_interval(hass, sim)
        await _coordinator_refresh(entry)
    assert state(hass, entry, "sensor", "fan_control").state == "user_privilege"
    assert any(line.startswith("45 01 02") for line in writes(sim, seq))  # the hand-back was tried
    issue_id = f"hand_back_failed_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    sim.control.set_credentials(USER, PASSWORD, privilege=4)
    sim.control.restart_bmc()
    for _ in range(2):
        await _coordinator_refresh(entry)
        await async_next_interval(hass, sim)
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("optimal", {})
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def _coordinator_refresh(entry: ConfigEntry) -> None:
    """Poll the sensors now (the poll logs in again after the BMC's restart)."""
    await entry.runtime_data.coordinator.async_refresh()


async def test_reload_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A reload (options saved, say) hands back; the reloaded entry shows the BMC in control."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    seq = sim.control.last_seq()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert sets(sim, seq) == [HAND_BACK]
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"


async def test_remove_hands_back_and_forgets(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """Removing the entry hands back, then deletes its stored control state."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    seq = sim.control.last_seq()

    assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False
    await hass.async_block_till_done()

    assert sets(sim, seq) == [HAND_BACK]
    assert store_key(entry.unique_id or "") not in hass_storage


async def test_remove_keeps_state_when_hand_back_failed(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """A BMC that refuses the hand-back at removal keeps the stored holding state for a later start."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_completion_code(0x30, 0x45, 0xC0, data_prefix="01")

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert _stored(hass_storage, entry)["controller"]["holding"] is True


async def test_stop_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Home Assistant stopping hands back, then logs out."""
    sim, _entry = await _holding(hass, bmc_sim_factory, admin)
    seq = sim.control.last_seq()

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()

    assert sets(sim, seq) == [HAND_BACK]
    assert _mode(sim) == "optimal"


async def test_start_after_kill_hands_back_first(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """Killed while holding the fans (nothing handed back), the next start hands back before any poll."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    # Killed: the entry goes away without a hand-back, the fans stay at 40 % in Full mode.
    with patch("custom_components.zephyr_ipmi.fan_control.ZephyrControlCoordinator.async_hand_back", AsyncMock()):
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("full", {"0": 40.0})
    assert _stored(hass_storage, entry)["controller"] == {
        "version": 1,
        "holding": True,
        "baseline": "optimal",
        "locked": None,
        "locked_code": None,
    }
    seq = sim.control.last_seq()

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    log = sim.control.request_log(since=seq)
    hand_back = next(i for i, r in enumerate(log) if (r.netfn, r.cmd, r.data) == (0x30, 0x45, b"\x01\x02"))
    first_poll = next(i for i, r in enumerate(log) if (r.netfn, r.cmd) == (0x04, 0x2D))
    assert hand_back < first_poll
    assert sets(sim, seq) == [HAND_BACK]
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("optimal", {})
    assert _stored(hass_storage, entry)["controller"]["holding"] is False
    assert [item["detail"] for item in control(entry).audit][-1] == "hand_back:restart:read back optimal"


async def test_bmc_answers_again_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A BMC that stopped answering kept Zephyr's duty unsupervised: when it answers again, Zephyr hands back."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_fault(silent=True)

    await async_next_interval(hass, sim)
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_UNAVAILABLE
    assert _mode(sim) == "full"

    sim.control.set_fault(silent=False)
    seq = sim.control.last_seq()
    await async_next_interval(hass, sim)

    assert HAND_BACK in sets(sim, seq)
    assert _mode(sim) == "optimal"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"


async def test_refused_write_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """The BMC refusing a zone duty (0xC0 busy) while Zephyr holds the fans: hand back, translated error."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_completion_code(0x30, 0x70, 0xC0, data_prefix="6601", count=1)
    seq = sim.control.last_seq()

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin, 50)

    assert err.value.translation_key == "command_refused"
    assert str(err.value) == "The BMC refused the command (completion code 0xC0)"
    assert sets(sim, seq) == ["70 66 01 00 32 -> c0", HAND_BACK]
    assert _mode(sim) == "optimal"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF


async def test_hand_back_retried_until_the_bmc_takes_it(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, issue_registry: ir.IssueRegistry
) -> None:
    """A hand-back the BMC refuses raises a repair issue and is retried every control interval."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    # Refused three times: at the request, at once again, and when the entities are refreshed.
    sim.control.set_completion_code(0x30, 0x45, 0xC0, data_prefix="0102", count=3)

    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "fan",
            "turn_off",
            {"entity_id": entity_id(hass, entry, "fan", "fan_zone_cpu")},
            blocking=True,
            context=admin,
        )
    assert _mode(sim) == "full"
    issue = issue_registry.async_get_issue(DOMAIN, f"hand_back_failed_{entry.entry_id}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR

    seq = sim.control.last_seq()
    await async_next_interval(hass, sim)

    assert sets(sim, seq) == [HAND_BACK]
    assert _mode(sim) == "optimal"
    assert issue_registry.async_get_issue(DOMAIN, f"hand_back_failed_{entry.entry_id}") is None


async def test_bmc_reverting_ends_in_fan_control_lost(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, issue_registry: ir.IssueRegistry
) -> None:
    """A BMC that keeps going back to Standard: three re-applies, then hand back, a problem and a repair issue."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_policy(revert_after=5.0, revert_mode=0)
    seq = sim.control.last_seq()

    for _ in range(5):
        await async_next_interval(hass, sim)

    assert sets(sim, seq) == TAKE_40 * 3 + [HAND_BACK]
    assert state(hass, entry, "binary_sensor", "fan_control_lost").state == STATE_ON
    assert state(hass, entry, "sensor", "fan_control").state == "lost"
    issue = issue_registry.async_get_issue(DOMAIN, f"fan_control_lost_{entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable

    seq = sim.control.last_seq()
    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin)
    assert err.value.translation_key == "fan_control_lost"
    assert sets(sim, seq) == []


async def test_bmc_reverting_once_is_reapplied(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """A single revert (someone set the mode back) is answered by sending Zephyr's settings again."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_policy(revert_after=5.0)
    await async_next_interval(hass, sim)
    sim.control.set_policy(revert_after=None)
    seq = sim.control.last_seq()

    await async_next_interval(hass, sim)

    assert sets(sim, seq) == []
    assert (_mode(sim), sim.control.state()["fans"]["manual"]) == ("full", {"0": 40.0})
    assert state(hass, entry, "binary_sensor", "fan_control_lost").state == STATE_OFF
    assert state(hass, entry, "fan", "fan_zone_cpu").attributes["percentage"] == 40


# ---------------------------------------------------------------------------
# Firmware that refuses fan commands, privileges, monitoring-only BMCs
# ---------------------------------------------------------------------------


async def test_locked_firmware(
    hass: HomeAssistant,
    bmc_sim_factory: SimFactory,
    admin: Context,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
) -> None:
    """iDRAC9 firmware that answers 0xD4: clear message, repair issue, fan control off and never retried."""
    sim = start_sim(bmc_sim_factory, "dell-idrac9-locked")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_all")

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "fan", "set_percentage", {"entity_id": fan, "percentage": 30}, blocking=True, context=admin
        )

    assert err.value.translation_key == "fan_control_locked"
    assert "0xD4" in str(err.value)
    assert sim.control.state()["fans"]["manual"] is False
    assert state(hass, entry, "fan", "fan_zone_all").state == STATE_UNAVAILABLE
    assert state(hass, entry, "sensor", "fan_control").state == "firmware_refuses_raw_fan_commands"
    issue = issue_registry.async_get_issue(DOMAIN, f"fan_control_locked_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"name": entry.title, "code": "0xD4"}
    assert _stored(hass_storage, entry)["controller"]["locked"] == "firmware_refuses_raw_fan_commands"

    # After a restart the refusal is remembered: no fan entity, nothing sent.
    seq = sim.control.last_seq()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(fan) is None or hass.states.get(fan).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert state(hass, entry, "sensor", "fan_control").state == "firmware_refuses_raw_fan_commands"
    assert sets(sim, seq) == []


async def test_x14_lockdown(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """An X14 board in system lockdown answers 0xD4 to the bypass: told as a lockdown, fans left to the BMC."""
    sim = start_sim(bmc_sim_factory, "supermicro-x14")
    sim.control.set_fault(lockdown=True)
    entry = await async_add(hass, sim)

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin)

    assert err.value.translation_key == "fan_control_locked"
    assert state(hass, entry, "sensor", "fan_control").state == "x14_lockdown"
    assert _mode(sim) == "optimal"


async def test_x14_bypass_before_duty(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """X14: Full mode, the bypass (0x30 0x70 0x66 0x02 0x01), then the duty."""
    sim = start_sim(bmc_sim_factory, "supermicro-x14")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    await _set_duty(hass, entry, admin)

    assert sets(sim, seq) == ["45 01 01 -> 00", "70 66 02 01 -> 00", "70 66 01 00 28 -> 00"]
    assert state(hass, entry, "fan", "fan_zone_cpu").attributes["percentage"] == 40


@pytest.mark.parametrize(
    ("profile", "status"), [("hpe-ilo4", "hpe_no_ipmi_fan_control"), ("generic", "generic_monitoring_only")]
)
async def test_monitoring_only(hass: HomeAssistant, bmc_sim_factory: SimFactory, profile: str, status: str) -> None:
    """HPE iLO and generic BMCs: no fan entities, the Fan control sensor says why; power buttons remain."""
    sim = start_sim(bmc_sim_factory, profile)
    entry = await async_add(hass, sim)

    assert state(hass, entry, "sensor", "fan_control").state == status
    domains = {item.domain for item in hass.states.async_all()}
    assert not domains & {"fan", "select", "switch"}
    assert state(hass, entry, "button", "power_on").state != STATE_UNAVAILABLE
    assert hass.states.get(entity_id(hass, entry, "sensor", "fan_control")).attributes["options"]  # type: ignore[union-attr]
    assert writes(sim) == []


async def test_user_privilege_session(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """An IPMI user with only the User privilege: the UI says so, and no fan command is even tried.

    The BMC refuses a User session even the zone duty reads (D4h), so no zone is known and no fan entity is
    made; the Fan control status tells the owner why.
    """
    sim = start_sim(bmc_sim_factory, "supermicro-x11", users={USER: (PASSWORD, 2)})
    entry = await async_add(hass, sim)

    assert state(hass, entry, "sensor", "fan_control").state == "user_privilege"
    registry = er.async_get(hass)
    fans = [e for e in er.async_entries_for_config_entry(registry, entry.entry_id) if e.domain == "fan"]
    assert fans == []
    assert sets(sim) == []


# ---------------------------------------------------------------------------
# Who may write
# ---------------------------------------------------------------------------


@pytest.fixture
async def non_admin(hass: HomeAssistant, hass_owner_user: MockUser) -> Context:
    """A call made by a Home Assistant user without administrator rights (who may control entities)."""
    user = await hass.auth.async_create_user("Operator", group_ids=[GROUP_ID_USER])
    return Context(user_id=user.id)


async def test_non_admin_refused(hass: HomeAssistant, bmc_sim_factory: SimFactory, non_admin: Context) -> None:
    """A user without administrator rights is refused with a translated message; nothing reaches the BMC."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    seq = sim.control.last_seq()

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, non_admin)

    assert err.value.translation_key == "not_allowed"
    assert str(err.value).startswith("Only Home Assistant administrators may change this BMC's fans and power")
    assert sets(sim, seq) == []
    assert [(item["command"], item["result"], item["detail"]) for item in control(entry).audit] == [
        ("set_duty", "refused", "not_allowed")
    ]


async def test_non_admin_allowed_by_option(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, non_admin: Context
) -> None:
    """With the option on, a non-admin user may set fans; the audit names that user."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"scan_interval": 300, "allow_non_admin_control": True}
    )
    await hass.async_block_till_done()
    seq = sim.control.last_seq()

    await _set_duty(hass, entry, non_admin)

    assert sets(sim, seq) == TAKE_40
    assert {item["actor"] for item in control(entry).audit if item["command"] != "options"} == {non_admin.user_id}


async def test_automation_allowed(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """An automation (no user in its context) may set fans; the audit names the automation."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    fan = entity_id(hass, entry, "fan", "fan_zone_cpu")
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: {
                "id": "quiet_nights",
                "alias": "Quiet nights",
                "triggers": {"trigger": "event", "event_type": "zephyr_test_night"},
                "actions": {"action": "fan.set_percentage", "target": {"entity_id": fan}, "data": {"percentage": 40}},
            }
        },
    )
    seq = sim.control.last_seq()

    hass.bus.async_fire("zephyr_test_night")
    await hass.async_block_till_done()

    assert sets(sim, seq) == TAKE_40
    assert [item["actor"] for item in control(entry).audit] == ["automation:quiet_nights"] * 2


# ---------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------


async def test_audit_persisted_and_logged(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """Each write is stored per BMC (bytes, completion code, result, who), fired for the logbook, kept over restarts."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    events = async_capture_events(hass, "zephyr_ipmi_audit")

    await _set_duty(hass, entry, admin)

    stored = _stored(hass_storage, entry)["audit"]
    assert [(a["command"], a["netfn"], a["cmd"], a["data"], a["completion_code"], a["result"]) for a in stored] == [
        ("set_fan_mode", 0x30, 0x45, "0101", 0, "ok"),
        ("set_zone_duty", 0x30, 0x70, "66010028", 0, "ok"),
    ]
    assert {a["actor"] for a in stored} == {admin.user_id}
    assert [event.data["command"] for event in events] == ["set_fan_mode", "set_zone_duty"]
    assert {event.context.id for event in events} == {admin.id}
    assert events[0].data["name"] == entry.title

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    audit = list(control(entry).audit)
    assert [a["command"] for a in audit] == ["set_fan_mode", "set_zone_duty", "set_fan_mode"]
    assert audit[-1]["actor"] == "zephyr"
    assert audit[-1]["detail"].startswith("hand_back:unload")
    assert _stored(hass_storage, entry)["audit"] == audit


async def test_audit_is_bounded(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_storage: dict[str, Any]
) -> None:
    """The stored audit trail keeps the newest 500 entries."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    assert await hass.config_entries.async_unload(entry.entry_id)
    old = {"time": 0.0, "actor": None, "command": "identify", "netfn": 0, "cmd": 4, "data": "0f"}
    _stored(hass_storage, entry)["audit"] = [{**old, "result": "ok", "detail": str(i)} for i in range(600)]
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    await _set_duty(hass, entry, admin)

    audit = _stored(hass_storage, entry)["audit"]
    assert len(audit) == 500
    assert audit[0]["detail"] == "102"
    assert [a["command"] for a in audit[-2:]] == ["set_fan_mode", "set_zone_duty"]


async def test_options_change_audited(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """Changing the options is recorded in the audit trail, with the old and new values."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "polling"})
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"scan_interval": 60, "allow_non_admin_control": True}
    )
    await hass.async_block_till_done()

    (entry_audit,) = control(entry).audit
    assert entry_audit["command"] == "options"
    assert entry_audit["detail"] == {"allow_non_admin_control": [None, True], "scan_interval": [None, 60]}


async def test_unavailable_entry_refuses_actions(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """An unloaded entry's BMC cannot be written to through the actions."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED

    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "set_fan_mode", {"config_entry_id": entry.entry_id, "mode": "full"}, blocking=True
        )


async def test_reverted_mode_is_reapplied(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """Full mode chosen in the select and undone by the BMC once: Full is sent again."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": entity_id(hass, entry, "select", "fan_mode"), "option": "full"},
        blocking=True,
        context=admin,
    )
    sim.control.set_policy(revert_after=5.0, revert_mode=0)
    seq = sim.control.last_seq()

    await async_next_interval(hass, sim)

    assert sets(sim, seq) == ["45 01 01 -> 00"]
    assert state(hass, entry, "select", "fan_mode").state == "full"


async def test_reapply_refused_hands_back(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """When the BMC refuses Zephyr's settings sent again after a revert, the fans stay with the BMC."""
    sim, entry = await _holding(hass, bmc_sim_factory, admin)
    sim.control.set_policy(revert_after=5.0, revert_mode=0)
    sim.control.set_completion_code(0x30, 0x45, 0xC0, data_prefix="0101", count=1)
    seq = sim.control.last_seq()

    await async_next_interval(hass, sim)

    assert sets(sim, seq) == ["45 01 01 -> c0", HAND_BACK]
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF


async def test_write_to_a_silent_bmc(hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context) -> None:
    """A write to a BMC that does not answer fails in words and marks the controls unavailable."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    sim.control.set_fault(silent=True)

    with pytest.raises(HomeAssistantError) as err:
        await _set_duty(hass, entry, admin)

    assert err.value.translation_key == "communication_error"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_UNAVAILABLE
    assert state(hass, entry, "select", "fan_mode").state == STATE_UNAVAILABLE


async def test_write_with_rejected_credentials_starts_reauth(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context
) -> None:
    """The password changed on the BMC and its sessions ended: the write fails in words, reauthentication starts."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    entry = await async_add(hass, sim)
    sim.control.set_credentials(USER, "Another-Pw-9")
    sim.control.restart_bmc()
    # The BMC forgot the session: a write may get no answer first (the fans turn unavailable), or log in again at
    # once when the session looked idle long enough to have expired; either way a write logs in again, and the
    # refused login asks for reauthentication.
    keys: list[str | None] = []
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_zone_duty",
                {"config_entry_id": entry.entry_id, "zone": "cpu", "percentage": 40},
                blocking=True,
                context=admin,
            )
        keys.append(err.value.translation_key)
        if keys[-1] == "authentication_failed":
            break
    await hass.async_block_till_done()

    assert keys in (["authentication_failed"], ["communication_error", "authentication_failed"])
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_probe_failure_retries_setup(hass: HomeAssistant, bmc_sim_factory: SimFactory) -> None:
    """A busy answer while finding out what the BMC can control retries the setup; then the controls appear."""
    sim = start_sim(bmc_sim_factory, "supermicro-x11")
    sim.control.set_completion_code(0x0A, 0x23, 0xC0, count=1)  # Get SDR: node busy, once
    entry = await async_add(hass, sim)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "0xC0" in (entry.reason or "")

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, entry, "sensor", "fan_control").state == "bmc"
    assert state(hass, entry, "fan", "fan_zone_cpu").state == STATE_OFF


async def test_diagnostics(
    hass: HomeAssistant, bmc_sim_factory: SimFactory, admin: Context, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics show capabilities, the fans read back, the holding state and the audit, without user ids."""
    _sim, entry = await _holding(hass, bmc_sim_factory, admin)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    fan_control = diagnostics["control"]
    assert fan_control["status"] == "zephyr"
    assert fan_control["capabilities"]["zones"][0]["key"] == "cpu"
    assert fan_control["state"]["zone_duty"] == {"cpu": 40, "peripheral": 100}
    assert fan_control["persisted"]["holding"] is True
    assert [(a["command"], a["data"], a["actor"]) for a in fan_control["audit"]] == [
        ("set_fan_mode", "0101", "**REDACTED**"),
        ("set_zone_duty", "66010028", "**REDACTED**"),
    ]
    assert admin.user_id not in json.dumps(diagnostics)
