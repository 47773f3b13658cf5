"""Tests of the Zephyr IPMI coordinator: polling, hourly SDR checks, poll history and energy."""

from dataclasses import replace
from datetime import timedelta
from unittest.mock import MagicMock

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zephyr_ipmi.coordinator import ZephyrCoordinator
from custom_components.zephyr_ipmi.ipmi import (
    IpmiCompletionCodeError,
    IpmiConnectionError,
    PowerReading,
)

from .conftest import SNAPSHOT

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
