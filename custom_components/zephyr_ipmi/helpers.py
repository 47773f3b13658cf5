"""Helpers of Zephyr IPMI's control entities and actions: who may write, and translated errors.

Every write reaches the BMC through ``async_call_bmc``: the blocking core call runs in the executor (one at
a time per BMC), IPMI errors become translated ``HomeAssistantError``/``ServiceValidationError`` (never a
library's free text), and the entities show the state read back from the BMC afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Concatenate, Final

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.trace import trace_id_get

from .const import CONF_ALLOW_NON_ADMIN, DOMAIN
from .coordinator import ZephyrConfigEntry
from .fan_control import KNOWN_REASONS, ControlData, ZephyrControlCoordinator
from .ipmi import IpmiAuthError, IpmiCompletionCodeError, IpmiConnectionError, IpmiError, IpmiWrongBmcError
from .ipmi.control import FanController, FanState
from .ipmi.errors import IpmiFanControlLockedError, IpmiWriteRefusedError

if TYPE_CHECKING:
    from .entity import ZephyrControlEntity

#: Refusals caused by what was asked (a duty, a command, a threshold): shown as validation errors.
VALIDATION_REFUSALS: Final = frozenset(
    {
        "duty_zero",
        "duty_below_floor",
        "duty_out_of_range",
        "identify_interval_invalid",
        "not_supported",
        "raw_command_forbidden",
        "raw_command_invalid",
        "threshold_invalid",
        "threshold_not_settable",
        "unknown_mode",
        "unknown_zone",
    }
)
#: Refusals caused by the BMC's state; each has its own translated message too.
STATE_REFUSALS: Final = frozenset({"identity_unconfirmed", "fan_control_lost", "control_closing"} | KNOWN_REASONS)


async def async_actor(
    hass: HomeAssistant, entry: ZephyrConfigEntry, context: Context | None, *, command: str = "write"
) -> str:
    """Return who writes, for the audit trail; refuse a non-admin user unless the options allow them.

    Returns the Home Assistant user id, ``automation:<id>`` / ``script:<id>`` inside an automation or
    script without a user, or ``system``. Raises a translated ``HomeAssistantError`` for a non-admin
    user unless the entry's options allow them; the refusal is audited under ``command``.
    """
    user_id = context.user_id if context is not None else None
    if user_id is None:
        trace = trace_id_get()
        return trace[0].replace(".", ":", 1) if trace else "system"
    user = await hass.auth.async_get_user(user_id)
    if user is None or (not user.is_admin and not entry.options.get(CONF_ALLOW_NON_ADMIN, False)):
        await entry.runtime_data.control.async_audit_refusal(command, user_id, "not_allowed", context)
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_allowed")
    return user.id


@asynccontextmanager
async def bmc_errors(coordinator: ZephyrControlCoordinator) -> AsyncIterator[None]:
    """Translate IPMI errors raised inside the block into Home Assistant errors.

    Refusals by the write gate (nothing was sent) name their reason; rejected credentials start
    reauthentication; a BMC that does not answer marks the control entities unavailable.
    """
    try:
        yield
    except IpmiWriteRefusedError as err:
        placeholders = {key: str(value) for key, value in err.placeholders.items()}
        if err.reason in VALIDATION_REFUSALS:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=err.reason, translation_placeholders=placeholders
            ) from err
        key = err.reason if err.reason in STATE_REFUSALS else "write_refused"
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders={"reason": err.reason}
        ) from err
    except IpmiFanControlLockedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="fan_control_locked",
            translation_placeholders={"code": f"0x{err.code:02X}"},
        ) from err
    except IpmiAuthError as err:
        coordinator.hass.config_entries.async_schedule_reload(coordinator.config_entry.entry_id)
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="authentication_failed") from err
    except IpmiWrongBmcError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="wrong_bmc") from err
    except IpmiConnectionError as err:
        coordinator.last_update_success = False
        coordinator.async_update_listeners()
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="communication_error") from err
    except IpmiCompletionCodeError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_refused",
            translation_placeholders={"code": f"0x{err.code:02X}"},
        ) from err
    except IpmiError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="command_failed") from err


async def async_call_bmc[T](
    coordinator: ZephyrControlCoordinator, job: Callable[[FanController], T], *, context: Context | None
) -> T:
    """Run one blocking control call in the executor with translated errors, then show the new state.

    A call that returns a ``FanState`` (read back by the core after the write) is shown at once; after any
    other, the coordinator reads the fans again at once (not debounced: the entity must show the result).
    """
    try:
        async with bmc_errors(coordinator):
            result = await coordinator.async_run(job, context=context)
    except HomeAssistantError as err:
        # The BMC answered but refused: show what it runs now (Zephyr may just have handed back).
        if not isinstance(err.__cause__, IpmiWriteRefusedError | IpmiConnectionError):
            await coordinator.async_refresh()
        raise
    if isinstance(result, FanState):
        coordinator.async_set_updated_data(ControlData(state=result, status=coordinator.status))
    else:
        await coordinator.async_refresh()
    return result


async def async_clear_event_log(entry: ZephyrConfigEntry, actor: str, context: Context | None) -> None:
    """Empty the BMC's SEL through the write gate for ``actor`` (see ``HealthMonitor.async_clear_sel``).

    Raises the translated errors of ``async_call_bmc``; a ``HomeAssistantError`` ("sel_clear_unconfirmed") when
    the BMC did not report the erasure done.
    """
    runtime = entry.runtime_data
    if runtime.health is None:  # pragma: no cover - set before the platforms and actions can reach the entry
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="command_failed")
    await runtime.health.async_clear_sel(runtime.control, actor, context)


def zephyr_action[EntityT: ZephyrControlEntity, **P](
    func: Callable[Concatenate[EntityT, FanController, str, P], object],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Decorate a blocking write of a control entity: check who asks, run it in the executor, translate errors.

    The decorated method receives the core's ``FanController`` and the actor (see ``async_actor``) before
    its own arguments and runs in an executor thread.
    """

    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        coordinator = self.coordinator
        context = self._context
        command = func.__name__.removeprefix("_").removeprefix("async_")
        actor = await async_actor(self.hass, coordinator.config_entry, context, command=command)
        await async_call_bmc(
            coordinator, lambda controller: func(self, controller, actor, *args, **kwargs), context=context
        )

    return handler
