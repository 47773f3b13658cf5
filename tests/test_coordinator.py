"""Tests of the Zephyr IPMI coordinator: polling, hourly SDR checks, poll history and energy."""

import itertools
import time
from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator, next_poll_delay, poll_slot
from custom_components.zephyr_ipmi.ipmi import (
    IpmiCompletionCodeError,
    IpmiConnectionError,
    PowerReading,
)

from .conftest import SNAPSHOT, setup_integration

INTERVAL = timedelta(seconds=300)


def _power(watts: float) -> PowerReading:
    """Return a DCMI power reading of ``watts`` (W)."""
    return PowerReading(current=watts, minimum=watts, maximum=watts, average=watts)


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, after: timedelta = INTERVAL) -> None:
    """Let ``after`` pass and run the scheduled poll."""
    freezer.tick(after)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.fixture
def coordinator(freezer: FrozenDateTimeFactory, init_integration: MockConfigEntry) -> ZephyrCoordinator:
    """Return the coordinator of the set-up entry, set up with time already frozen."""
    return init_integration.runtime_data.coordinator


async def test_poll_history(
    hass: HomeAssistant,
    coordinator: ZephyrCoordinator,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each poll is recorded with its start, duration and result; only the last 20 are kept."""
    assert [poll.result for poll in coordinator.polls] == ["ok"]
    mock_client.poll.side_effect = IpmiConnectionError("Session no longer connected")
    await _poll(hass, freezer)
    assert not coordinator.last_update_success
    mock_client.poll.side_effect = RuntimeError("bug")
    await _poll(hass, freezer)
    mock_client.poll.side_effect = None
    await _poll(hass, freezer)
    assert coordinator.last_update_success

    assert [poll.result for poll in coordinator.polls] == ["ok", "IpmiConnectionError", "RuntimeError", "ok"]
    last = coordinator.polls[-1]
    assert last.start.endswith("+00:00")
    assert last.duration >= 0

    for _ in range(25):
        await _poll(hass, freezer)
    assert len(coordinator.polls) == 20


async def test_sdr_checked_hourly(
    hass: HomeAssistant,
    coordinator: ZephyrCoordinator,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The SDR is checked once an hour, not at every poll, and re-read only when it changed."""
    for _ in range(11):
        await _poll(hass, freezer)
    mock_client.check_sdr.assert_not_called()

    await _poll(hass, freezer)
    mock_client.check_sdr.assert_called_once_with()
    assert mock_client.sensors.call_count == 1

    mock_client.check_sdr.return_value = True
    await _poll(hass, freezer, timedelta(hours=1))
    assert mock_client.check_sdr.call_count == 2
    assert mock_client.sensors.call_count == 2


async def test_sdr_check_unsupported(
    hass: HomeAssistant,
    coordinator: ZephyrCoordinator,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A BMC that refuses the SDR check still polls; one that is gone fails the poll."""
    mock_client.check_sdr.side_effect = IpmiCompletionCodeError(0x0A, 0x20, 0xC1)
    await _poll(hass, freezer, timedelta(hours=1))
    assert coordinator.last_update_success
    assert mock_client.poll.call_count == 2

    mock_client.check_sdr.side_effect = IpmiConnectionError("no answer")
    await _poll(hass, freezer, timedelta(hours=1))
    assert not coordinator.last_update_success
    assert mock_client.poll.call_count == 2


async def test_energy_integration(
    hass: HomeAssistant,
    coordinator: ZephyrCoordinator,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """DCMI power is integrated by the trapezoid rule; long gaps and missing readings add nothing."""
    assert coordinator.energy_kwh == 0

    mock_client.poll.return_value = replace(SNAPSHOT, power=_power(218.0))
    await _poll(hass, freezer)
    # (182 W + 218 W) / 2 for 300 s = 60 kJ
    assert coordinator.energy_kwh == pytest.approx(200 * 300 / 3_600_000)

    # A gap of more than two intervals (the BMC was away) is not guessed.
    mock_client.poll.side_effect = IpmiConnectionError("no answer")
    await _poll(hass, freezer)
    await _poll(hass, freezer)
    mock_client.poll.side_effect = None
    await _poll(hass, freezer, timedelta(seconds=1))
    assert coordinator.energy_kwh == pytest.approx(200 * 300 / 3_600_000)

    # A poll without DCMI power ends the series; the next reading starts a new one.
    mock_client.poll.return_value = replace(SNAPSHOT, power=None)
    await _poll(hass, freezer)
    mock_client.poll.return_value = replace(SNAPSHOT, power=_power(100.0))
    await _poll(hass, freezer)
    assert coordinator.energy_kwh == pytest.approx(200 * 300 / 3_600_000)
    await _poll(hass, freezer)
    assert coordinator.energy_kwh == pytest.approx((200 + 100) * 300 / 3_600_000)


def test_next_poll_delay() -> None:
    """One interval, shortened towards the slot, never below half an interval; slow polls keep one interval."""
    # On its slot (slot 7 s of 30 s; now = 3607 s): exactly one interval.
    assert next_poll_delay(3607.0, 30.0, 7.0) == pytest.approx(30.0)
    # A timer that fired 0.4 s early waits for the slot.
    assert next_poll_delay(3606.6, 30.0, 7.0) == pytest.approx(30.4)
    # 5 s past its slot: 5 s sooner.
    assert next_poll_delay(3612.0, 30.0, 7.0) == pytest.approx(25.0)
    # 20 s past its slot: half an interval now, on the slot at the next poll.
    assert next_poll_delay(3627.0, 30.0, 7.0) == pytest.approx(15.0)
    assert next_poll_delay(3642.0, 30.0, 7.0) == pytest.approx(25.0)
    # A poll that took 16 s of a 30 s interval: the next one a whole interval later.
    assert next_poll_delay(3612.0, 30.0, 7.0, last_poll=16.0) == pytest.approx(30.0)


def test_poll_slots_are_stable_and_spread() -> None:
    """An entry keeps its slot; 50 entries get 50 different slots within the interval."""
    assert poll_slot("01JABCDEF", 300.0) == poll_slot("01JABCDEF", 300.0)
    slots = [poll_slot(f"entry-{index}", 30.0) for index in range(50)]
    assert all(0.0 <= slot < 30.0 for slot in slots)
    assert len({round(slot, 3) for slot in slots}) == 50
    # Spread over the interval, not bunched: every third of it holds some of them.
    assert {int(slot // 10) for slot in slots} == {0, 1, 2}


@pytest.mark.parametrize("entry_id", ["bmc-rack-c", "bmc-rack-d"])
async def test_polls_keep_the_entrys_slot(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
    entry_id: str,
) -> None:
    """The entry's timer polls move to its slot of the interval and then poll once per interval on it.

    Set up at a whole half minute, so Home Assistant's own schedule would poll near second 0 of each interval;
    these entries' slots are at 22.5 s and 10.7 s.
    """
    freezer.move_to("2026-03-01T12:00:00+00:00")
    entry = MockConfigEntry(
        domain=mock_config_entry.domain,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        data=dict(mock_config_entry.data),
        options={CONF_SCAN_INTERVAL: 30},
        entry_id=entry_id,
    )
    polled: list[float] = []
    mock_client.poll.side_effect = lambda: polled.append(time.time()) or SNAPSHOT
    await setup_integration(hass, entry)
    set_up = time.time()
    polled.clear()
    for _ in range(150):
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()

    slot = poll_slot(entry_id, 30.0)
    # Never later than Home Assistant's own schedule (one interval after the last poll, + 1 s of ticks).
    assert polled[0] - set_up <= 31
    # From the third timer poll on: on the slot (within the 1 s ticks), once per interval.
    steady = polled[2:]
    assert len(steady) >= 2
    assert all(abs((at - slot + 15) % 30 - 15) <= 1 for at in steady)
    assert [round(b - a) for a, b in itertools.pairwise(steady)] == [30] * (len(steady) - 1)


async def test_a_retry_delay_asked_for_is_kept(
    hass: HomeAssistant,
    coordinator: ZephyrCoordinator,
    mock_client: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A poll failing with a retry delay (60 s) is retried after that delay, not in the entry's slot."""
    mock_client.poll.side_effect = UpdateFailed("busy", retry_after=60)
    await _poll(hass, freezer)
    calls = mock_client.poll.call_count
    mock_client.poll.side_effect = None
    # Home Assistant rounds the retry's start down to a whole second.
    await _poll(hass, freezer, timedelta(seconds=58))
    assert mock_client.poll.call_count == calls
    await _poll(hass, freezer, timedelta(seconds=3))
    assert mock_client.poll.call_count == calls + 1
    assert coordinator.last_update_success
