"""What IPMI sensor types and event/reading offsets mean (IPMI 2.0 §36.1, §42, §29.7).

A sensor (SDR) or an event (SEL record, Platform Event message) names a *sensor type* (Table 42-3,
e.g. 0x08 power supply), an *event/reading type code* (Table 42-1: 0x01 threshold, 0x02-0x0C generic
discrete, 0x6F sensor-specific, 0x70-0x7F OEM) and, per state, an *offset* 0-14. The state an offset
names comes from:

* Table 42-2 (generic event/reading types) when the event/reading type code is 0x01-0x0C, whatever
  the sensor type is;
* Table 42-3 (sensor-specific offsets) when the code is 0x6F, looked up by sensor type.

Everything here is a plain lookup; nothing talks to a BMC. Typical use::

    state = event_state(reading_type=0x6F, sensor_type=0x08, offset=1)
    state.key, state.name, state.severity, state.problem
    # ("failure_detected", "Power supply failure detected", Severity.CRITICAL, True)

    event = parse_event_data(bytes([0x36, 0xFF, 0x03]))   # SEL record bytes 14-16
    event_details(0x08, 0x6F, event)                       # {"config_error": "rating_mismatch"}

State keys are stable snake_case identifiers, unique within one table (one sensor type, or one
generic event/reading type); the table's key plus the state's key is unique overall. No state is keyed ``ok`` or
``absent``: those name "nothing asserted" and "presence deasserted" (see ``discrete``). English names follow the
spec's wording, shortened where the spec adds an explanation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

READING_TYPE_THRESHOLD = 0x01
"""Event/reading type code of threshold sensors (IPMI 2.0 Table 42-1)."""
READING_TYPE_SENSOR_SPECIFIC = 0x6F
"""Event/reading type code whose offsets are defined per sensor type (IPMI 2.0 Table 42-1, 42-3)."""


class Severity(StrEnum):
    """How bad an asserted state is: ``ok`` < ``info`` < ``warning`` < ``critical``.

    ``ok`` is a normal, healthy state (e.g. "presence detected", "fully redundant"); ``info`` is worth
    knowing but not wrong (e.g. "hot spare", "power off"); ``warning`` needs attention soon
    (predictive failure, non-critical threshold); ``critical`` means failure or data loss risk.
    The spec gives no severities; these are Zephyr IPMI's reading of each state.
    """

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Return 0 (ok) to 3 (critical), for comparisons."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class EventState:
    """One state offset of a sensor type or generic event/reading type.

    ``offset`` is the bit number (0-14) in Get Sensor Reading's state bytes and the offset in event
    data 1 bits [3:0]. ``problem`` is True when the state being asserted means something is wrong
    (every ``warning`` and ``critical`` state, nothing else).
    """

    offset: int
    key: str
    name: str
    severity: Severity

    @property
    def problem(self) -> bool:
        """Return whether this state, asserted, means something is wrong (warning or critical)."""
        return self.severity in (Severity.WARNING, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class StateTable:
    """The states of one sensor type (Table 42-3) or one generic event/reading type (Table 42-2).

    ``key`` is snake_case ("power_supply", "redundancy"); ``states`` maps offset → ``EventState``.
    ``presence_offset`` is the offset that, asserted, means the monitored entity is present (None when
    the table has none); ``absent_severity`` is how bad that offset being deasserted is — the entity
    was removed or is missing (e.g. ``critical`` for a power supply, ``info`` for an empty drive bay).
    """

    key: str
    name: str
    states: Mapping[int, EventState]
    presence_offset: int | None = None
    absent_severity: Severity = Severity.INFO

    def __iter__(self) -> Iterator[EventState]:
        """Iterate over the states in offset order."""
        return iter(self.states[offset] for offset in sorted(self.states))

    def asserted(self, mask: int) -> list[EventState]:
        """Return the known states whose bit is set in ``mask`` (bit n = offset n), in offset order."""
        return [state for state in self if mask >> state.offset & 1]


@dataclass(frozen=True, slots=True)
class SensorType:
    """A sensor type code (IPMI 2.0 Table 42-3): snake_case key, English name and its specific states.

    ``table`` is None for types without sensor-specific offsets (temperature, voltage, current, fan,
    cooling device, ...); such sensors are threshold sensors or use a generic event/reading type.
    """

    code: int
    key: str
    name: str
    table: StateTable | None = field(default=None)


def _table(
    key: str,
    name: str,
    rows: list[tuple[int, str, str, Severity]],
    *,
    presence_offset: int | None = None,
    absent_severity: Severity = Severity.INFO,
) -> StateTable:
    states = {offset: EventState(offset, state_key, state_name, sev) for offset, state_key, state_name, sev in rows}
    return StateTable(
        key=key,
        name=name,
        states=MappingProxyType(states),
        presence_offset=presence_offset,
        absent_severity=absent_severity,
    )


_OK, _INFO, _WARNING, _CRITICAL = Severity.OK, Severity.INFO, Severity.WARNING, Severity.CRITICAL

# --- Table 42-2: generic event/reading type codes 0x01-0x0C -------------------------------------

THRESHOLD_STATES = _table(
    "threshold",
    "Threshold",
    [
        (0, "lower_non_critical_going_low", "Lower non-critical going low", _WARNING),
        (1, "lower_non_critical_going_high", "Lower non-critical going high", _WARNING),
        (2, "lower_critical_going_low", "Lower critical going low", _CRITICAL),
        (3, "lower_critical_going_high", "Lower critical going high", _CRITICAL),
        (4, "lower_non_recoverable_going_low", "Lower non-recoverable going low", _CRITICAL),
        (5, "lower_non_recoverable_going_high", "Lower non-recoverable going high", _CRITICAL),
        (6, "upper_non_critical_going_low", "Upper non-critical going low", _WARNING),
        (7, "upper_non_critical_going_high", "Upper non-critical going high", _WARNING),
        (8, "upper_critical_going_low", "Upper critical going low", _CRITICAL),
        (9, "upper_critical_going_high", "Upper critical going high", _CRITICAL),
        (10, "upper_non_recoverable_going_low", "Upper non-recoverable going low", _CRITICAL),
        (11, "upper_non_recoverable_going_high", "Upper non-recoverable going high", _CRITICAL),
    ],
)
"""Event/reading type 0x01 (Table 42-2): threshold crossings, as event offsets in SEL records."""

GENERIC_TABLES: Mapping[int, StateTable] = MappingProxyType(
    {
        READING_TYPE_THRESHOLD: THRESHOLD_STATES,
        0x02: _table(
            "dmi_usage",
            "DMI usage state",
            [
                (0, "transition_to_idle", "Transition to idle", _OK),
                (1, "transition_to_active", "Transition to active", _OK),
                (2, "transition_to_busy", "Transition to busy", _INFO),
            ],
        ),
        0x03: _table(
            "digital_state",
            "Digital state",
            [
                (0, "state_deasserted", "State deasserted", _OK),
                (1, "state_asserted", "State asserted", _INFO),
            ],
        ),
        0x04: _table(
            "predictive_failure",
            "Predictive failure",
            [
                (0, "predictive_failure_deasserted", "Predictive failure deasserted", _OK),
                (1, "predictive_failure_asserted", "Predictive failure asserted", _WARNING),
            ],
        ),
        0x05: _table(
            "limit",
            "Limit",
            [
                (0, "limit_not_exceeded", "Limit not exceeded", _OK),
                (1, "limit_exceeded", "Limit exceeded", _WARNING),
            ],
        ),
        0x06: _table(
            "performance",
            "Performance",
            [
                (0, "performance_met", "Performance met", _OK),
                (1, "performance_lags", "Performance lags", _WARNING),
            ],
        ),
        0x07: _table(
            "severity",
            "Severity",
            [
                (0, "transition_to_ok", "Transition to OK", _OK),
                (1, "transition_to_non_critical_from_ok", "Transition to non-critical from OK", _WARNING),
                (2, "transition_to_critical_from_less_severe", "Transition to critical from less severe", _CRITICAL),
                (
                    3,
                    "transition_to_non_recoverable_from_less_severe",
                    "Transition to non-recoverable from less severe",
                    _CRITICAL,
                ),
                (
                    4,
                    "transition_to_non_critical_from_more_severe",
                    "Transition to non-critical from more severe",
                    _WARNING,
                ),
                (
                    5,
                    "transition_to_critical_from_non_recoverable",
                    "Transition to critical from non-recoverable",
                    _CRITICAL,
                ),
                (6, "transition_to_non_recoverable", "Transition to non-recoverable", _CRITICAL),
                (7, "monitor", "Monitor", _INFO),
                (8, "informational", "Informational", _INFO),
            ],
        ),
        0x08: _table(
            "device_presence",
            "Device presence",
            [
                (0, "device_absent", "Device removed or absent", _INFO),
                (1, "device_present", "Device inserted or present", _OK),
            ],
            presence_offset=1,
        ),
        0x09: _table(
            "device_enabled",
            "Device enabled",
            [
                (0, "device_disabled", "Device disabled", _INFO),
                (1, "device_enabled", "Device enabled", _OK),
            ],
        ),
        0x0A: _table(
            "availability",
            "Availability",
            [
                (0, "transition_to_running", "Transition to running", _OK),
                (1, "transition_to_in_test", "Transition to in test", _INFO),
                (2, "transition_to_power_off", "Transition to power off", _INFO),
                (3, "transition_to_on_line", "Transition to on line", _OK),
                (4, "transition_to_off_line", "Transition to off line", _WARNING),
                (5, "transition_to_off_duty", "Transition to off duty", _INFO),
                (6, "transition_to_degraded", "Transition to degraded", _WARNING),
                (7, "transition_to_power_save", "Transition to power save", _INFO),
                (8, "install_error", "Install error", _CRITICAL),
            ],
        ),
        0x0B: _table(
            "redundancy",
            "Redundancy",
            [
                (0, "fully_redundant", "Fully redundant", _OK),
                (1, "redundancy_lost", "Redundancy lost", _CRITICAL),
                (2, "redundancy_degraded", "Redundancy degraded", _WARNING),
                (
                    3,
                    "non_redundant_sufficient_from_redundant",
                    "Non-redundant: sufficient resources from redundant",
                    _WARNING,
                ),
                (
                    4,
                    "non_redundant_sufficient_from_insufficient",
                    "Non-redundant: sufficient resources from insufficient resources",
                    _WARNING,
                ),
                (5, "non_redundant_insufficient", "Non-redundant: insufficient resources", _CRITICAL),
                (6, "redundancy_degraded_from_fully_redundant", "Redundancy degraded from fully redundant", _WARNING),
                (7, "redundancy_degraded_from_non_redundant", "Redundancy degraded from non-redundant", _WARNING),
            ],
        ),
        0x0C: _table(
            "acpi_device_power_state",
            "ACPI device power state",
            [
                (0, "d0", "D0 power state", _OK),
                (1, "d1", "D1 power state", _INFO),
                (2, "d2", "D2 power state", _INFO),
                (3, "d3", "D3 power state", _INFO),
            ],
        ),
    }
)
"""Event/reading type code (0x01-0x0C) → its states (IPMI 2.0 Table 42-2)."""

# --- Table 42-3: sensor types and their sensor-specific offsets (event/reading type 0x6F) -----------

_SPECIFIC: dict[int, StateTable] = {
    0x05: _table(
        "physical_security",
        "Physical security",
        [
            (0, "general_chassis_intrusion", "General chassis intrusion", _CRITICAL),
            (1, "drive_bay_intrusion", "Drive bay intrusion", _CRITICAL),
            (2, "io_card_area_intrusion", "I/O card area intrusion", _CRITICAL),
            (3, "processor_area_intrusion", "Processor area intrusion", _CRITICAL),
            (4, "lan_leash_lost", "LAN leash lost", _WARNING),
            (5, "unauthorized_dock", "Unauthorized dock", _WARNING),
            (6, "fan_area_intrusion", "Fan area intrusion", _CRITICAL),
        ],
    ),
    0x06: _table(
        "platform_security",
        "Platform security violation attempt",
        [
            (0, "secure_mode_violation", "Secure mode (front panel lockout) violation attempt", _WARNING),
            (1, "preboot_user_password_violation", "Pre-boot user password violation", _WARNING),
            (2, "preboot_setup_password_violation", "Pre-boot setup password violation attempt", _WARNING),
            (3, "preboot_network_password_violation", "Pre-boot network boot password violation", _WARNING),
            (4, "other_preboot_password_violation", "Other pre-boot password violation", _WARNING),
            (5, "out_of_band_password_violation", "Out-of-band access password violation", _WARNING),
        ],
    ),
    0x07: _table(
        "processor",
        "Processor",
        [
            (0, "ierr", "IERR", _CRITICAL),
            (1, "thermal_trip", "Thermal trip", _CRITICAL),
            (2, "frb1_bist_failure", "FRB1/BIST failure", _CRITICAL),
            (3, "frb2_hang_in_post", "FRB2/hang in POST failure", _CRITICAL),
            (4, "frb3_startup_failure", "FRB3/processor startup failure", _CRITICAL),
            (5, "configuration_error", "Configuration error", _CRITICAL),
            (6, "uncorrectable_cpu_complex_error", "SMBIOS uncorrectable CPU-complex error", _CRITICAL),
            (7, "presence_detected", "Processor presence detected", _OK),
            (8, "disabled", "Processor disabled", _WARNING),
            (9, "terminator_presence_detected", "Terminator presence detected", _INFO),
            (10, "throttled", "Processor automatically throttled", _WARNING),
            (11, "uncorrectable_machine_check", "Machine check exception (uncorrectable)", _CRITICAL),
            (12, "correctable_machine_check", "Correctable machine check error", _WARNING),
        ],
        presence_offset=7,
    ),
    0x08: _table(
        "power_supply",
        "Power supply",
        [
            (0, "presence_detected", "Presence detected", _OK),
            (1, "failure_detected", "Power supply failure detected", _CRITICAL),
            (2, "predictive_failure", "Predictive failure", _WARNING),
            (3, "input_lost", "Power supply input lost (AC/DC)", _CRITICAL),
            (4, "input_lost_or_out_of_range", "Power supply input lost or out of range", _CRITICAL),
            (5, "input_out_of_range", "Power supply input out of range, but present", _WARNING),
            (6, "configuration_error", "Configuration error", _CRITICAL),
            (7, "inactive", "Power supply inactive (standby)", _INFO),
        ],
        presence_offset=0,
        absent_severity=_CRITICAL,
    ),
    0x09: _table(
        "power_unit",
        "Power unit",
        [
            (0, "power_off", "Power off / power down", _INFO),
            (1, "power_cycle", "Power cycle", _INFO),
            (2, "power_down_240va", "240 VA power down", _CRITICAL),
            (3, "interlock_power_down", "Interlock power down", _WARNING),
            (4, "input_lost", "AC lost / power input lost", _CRITICAL),
            (5, "soft_power_control_failure", "Soft power control failure", _CRITICAL),
            (6, "failure_detected", "Power unit failure detected", _CRITICAL),
            (7, "predictive_failure", "Predictive failure", _WARNING),
        ],
    ),
    0x0C: _table(
        "memory",
        "Memory",
        [
            (0, "correctable_ecc", "Correctable ECC or other correctable memory error", _WARNING),
            (1, "uncorrectable_ecc", "Uncorrectable ECC or other uncorrectable memory error", _CRITICAL),
            (2, "parity", "Parity error", _CRITICAL),
            (3, "scrub_failed", "Memory scrub failed (stuck bit)", _CRITICAL),
            (4, "device_disabled", "Memory device disabled", _WARNING),
            (5, "correctable_ecc_logging_limit", "Correctable memory error logging limit reached", _WARNING),
            (6, "presence_detected", "Presence detected", _OK),
            (7, "configuration_error", "Configuration error", _CRITICAL),
            (8, "spare", "Spare", _INFO),
            (9, "throttled", "Memory automatically throttled", _WARNING),
            (10, "critical_overtemperature", "Critical overtemperature", _CRITICAL),
        ],
        presence_offset=6,
    ),
    0x0D: _table(
        "drive_slot",
        "Drive slot",
        [
            (0, "drive_present", "Drive present", _OK),
            (1, "drive_fault", "Drive fault", _CRITICAL),
            (2, "predictive_failure", "Predictive failure", _WARNING),
            (3, "hot_spare", "Hot spare", _INFO),
            (4, "consistency_check", "Consistency check / parity check in progress", _INFO),
            (5, "in_critical_array", "In critical array", _CRITICAL),
            (6, "in_failed_array", "In failed array", _CRITICAL),
            (7, "rebuild_in_progress", "Rebuild/remap in progress", _WARNING),
            (8, "rebuild_aborted", "Rebuild/remap aborted", _CRITICAL),
        ],
        presence_offset=0,
    ),
    0x0F: _table(
        "system_firmware_progress",
        "System firmware progress",
        [
            (0, "firmware_error", "System firmware error (POST error)", _CRITICAL),
            (1, "firmware_hang", "System firmware hang", _CRITICAL),
            (2, "firmware_progress", "System firmware progress", _INFO),
        ],
    ),
    0x10: _table(
        "event_logging_disabled",
        "Event logging disabled",
        [
            (0, "correctable_memory_logging_disabled", "Correctable memory error logging disabled", _WARNING),
            (1, "event_type_logging_disabled", "Event type logging disabled", _WARNING),
            (2, "log_area_cleared", "Log area reset/cleared", _INFO),
            (3, "all_logging_disabled", "All event logging disabled", _WARNING),
            (4, "sel_full", "SEL full", _WARNING),
            (5, "sel_almost_full", "SEL almost full", _WARNING),
            (
                6,
                "correctable_machine_check_logging_disabled",
                "Correctable machine check error logging disabled",
                _WARNING,
            ),
        ],
    ),
    0x11: _table(
        "watchdog_1",
        "Watchdog 1",
        [
            (0, "bios_reset", "BIOS watchdog reset", _CRITICAL),
            (1, "os_reset", "OS watchdog reset", _CRITICAL),
            (2, "os_shut_down", "OS watchdog shut down", _CRITICAL),
            (3, "os_power_down", "OS watchdog power down", _CRITICAL),
            (4, "os_power_cycle", "OS watchdog power cycle", _CRITICAL),
            (5, "os_nmi", "OS watchdog NMI/diagnostic interrupt", _CRITICAL),
            (6, "os_expired", "OS watchdog expired, status only", _WARNING),
            (7, "os_pre_timeout_interrupt", "OS watchdog pre-timeout interrupt, non-NMI", _WARNING),
        ],
    ),
    0x12: _table(
        "system_event",
        "System event",
        [
            (0, "system_reconfigured", "System reconfigured", _INFO),
            (1, "oem_boot_event", "OEM system boot event", _INFO),
            (2, "undetermined_hardware_failure", "Undetermined system hardware failure", _CRITICAL),
            (3, "auxiliary_log_entry", "Entry added to auxiliary log", _INFO),
            (4, "pef_action", "PEF action", _INFO),
            (5, "timestamp_clock_sync", "Timestamp clock synchronised", _INFO),
        ],
    ),
    0x13: _table(
        "critical_interrupt",
        "Critical interrupt",
        [
            (0, "front_panel_nmi", "Front panel NMI/diagnostic interrupt", _CRITICAL),
            (1, "bus_timeout", "Bus timeout", _CRITICAL),
            (2, "io_channel_check_nmi", "I/O channel check NMI", _CRITICAL),
            (3, "software_nmi", "Software NMI", _WARNING),
            (4, "pci_perr", "PCI PERR", _CRITICAL),
            (5, "pci_serr", "PCI SERR", _CRITICAL),
            (6, "eisa_fail_safe_timeout", "EISA fail-safe timeout", _CRITICAL),
            (7, "bus_correctable_error", "Bus correctable error", _WARNING),
            (8, "bus_uncorrectable_error", "Bus uncorrectable error", _CRITICAL),
            (9, "fatal_nmi", "Fatal NMI", _CRITICAL),
            (10, "bus_fatal_error", "Bus fatal error", _CRITICAL),
            (11, "bus_degraded", "Bus degraded", _WARNING),
        ],
    ),
    0x14: _table(
        "button_switch",
        "Button / switch",
        [
            (0, "power_button", "Power button pressed", _INFO),
            (1, "sleep_button", "Sleep button pressed", _INFO),
            (2, "reset_button", "Reset button pressed", _INFO),
            (3, "fru_latch_open", "FRU latch open", _INFO),
            (4, "fru_service_request", "FRU service request button pressed", _INFO),
        ],
    ),
    0x19: _table(
        "chip_set",
        "Chip set",
        [
            (0, "soft_power_control_failure", "Soft power control failure", _CRITICAL),
            (1, "thermal_trip", "Thermal trip", _CRITICAL),
        ],
    ),
    0x1B: _table(
        "cable_interconnect",
        "Cable / interconnect",
        [
            (0, "connected", "Cable/interconnect is connected", _OK),
            (1, "configuration_error", "Incorrect cable connected / incorrect interconnection", _CRITICAL),
        ],
        presence_offset=0,
    ),
    0x1D: _table(
        "system_boot_initiated",
        "System boot / restart initiated",
        [
            (0, "power_up", "Initiated by power up", _INFO),
            (1, "hard_reset", "Initiated by hard reset", _INFO),
            (2, "warm_reset", "Initiated by warm reset", _INFO),
            (3, "pxe_boot_requested", "User requested PXE boot", _INFO),
            (4, "diagnostic_boot", "Automatic boot to diagnostic", _INFO),
            (5, "os_hard_reset", "OS / run-time software initiated hard reset", _INFO),
            (6, "os_warm_reset", "OS / run-time software initiated warm reset", _INFO),
            (7, "system_restart", "System restart", _INFO),
        ],
    ),
    0x1E: _table(
        "boot_error",
        "Boot error",
        [
            (0, "no_bootable_media", "No bootable media", _WARNING),
            (1, "non_bootable_diskette", "Non-bootable diskette left in drive", _WARNING),
            (2, "pxe_server_not_found", "PXE server not found", _WARNING),
            (3, "invalid_boot_sector", "Invalid boot sector", _WARNING),
            (4, "boot_selection_timeout", "Timeout waiting for selection of boot source", _WARNING),
        ],
    ),
    0x1F: _table(
        "os_boot",
        "Base OS boot / installation status",
        [
            (0, "a_boot_completed", "A: boot completed", _INFO),
            (1, "c_boot_completed", "C: boot completed", _INFO),
            (2, "pxe_boot_completed", "PXE boot completed", _INFO),
            (3, "diagnostic_boot_completed", "Diagnostic boot completed", _INFO),
            (4, "cdrom_boot_completed", "CD-ROM boot completed", _INFO),
            (5, "rom_boot_completed", "ROM boot completed", _INFO),
            (6, "boot_completed", "Boot completed, boot device not specified", _INFO),
            (7, "install_started", "Base OS/hypervisor installation started", _INFO),
            (8, "install_completed", "Base OS/hypervisor installation completed", _INFO),
            (9, "install_aborted", "Base OS/hypervisor installation aborted", _WARNING),
            (10, "install_failed", "Base OS/hypervisor installation failed", _WARNING),
        ],
    ),
    0x20: _table(
        "os_stop",
        "OS stop / shutdown",
        [
            (0, "critical_stop_during_load", "Critical stop during OS load / initialization", _CRITICAL),
            (1, "runtime_critical_stop", "Run-time critical stop", _CRITICAL),
            (2, "graceful_stop", "OS graceful stop", _INFO),
            (3, "graceful_shutdown", "OS graceful shutdown", _INFO),
            (4, "pef_soft_shutdown", "Soft shutdown initiated by PEF", _INFO),
            (5, "agent_not_responding", "Agent not responding", _WARNING),
        ],
    ),
    0x21: _table(
        "slot_connector",
        "Slot / connector",
        [
            (0, "fault", "Fault status asserted", _CRITICAL),
            (1, "identify", "Identify status asserted", _INFO),
            (2, "device_installed", "Device installed/attached", _OK),
            (3, "ready_for_installation", "Ready for device installation", _INFO),
            (4, "ready_for_removal", "Ready for device removal", _INFO),
            (5, "power_off", "Slot power is off", _INFO),
            (6, "removal_request", "Device removal request", _INFO),
            (7, "interlock", "Interlock asserted", _INFO),
            (8, "disabled", "Slot is disabled", _INFO),
            (9, "spare_device", "Slot holds spare device", _INFO),
        ],
        presence_offset=2,
    ),
    0x22: _table(
        "system_acpi_power_state",
        "System ACPI power state",
        [
            (0, "s0_working", "S0/G0 working", _OK),
            (1, "s1_sleeping", "S1 sleeping, hardware and processor context maintained", _INFO),
            (2, "s2_sleeping", "S2 sleeping, processor context lost", _INFO),
            (3, "s3_sleeping", "S3 sleeping, memory retained", _INFO),
            (4, "s4_suspend_to_disk", "S4 suspend to disk", _INFO),
            (5, "s5_soft_off", "S5/G2 soft off", _INFO),
            (6, "s4_s5_soft_off", "S4/S5 soft off", _INFO),
            (7, "g3_mechanical_off", "G3 mechanical off", _INFO),
            (8, "s1_s3_sleeping", "Sleeping in S1, S2 or S3", _INFO),
            (9, "g1_sleeping", "G1 sleeping", _INFO),
            (10, "s5_override", "S5 entered by override", _INFO),
            (11, "legacy_on", "Legacy on", _OK),
            (12, "legacy_off", "Legacy off", _INFO),
            (13, "unspecified", "Unspecified", _INFO),
            (14, "unknown", "Unknown", _INFO),
        ],
    ),
    0x23: _table(
        "watchdog_2",
        "Watchdog 2",
        [
            (0, "timer_expired", "Timer expired, status only", _WARNING),
            (1, "hard_reset", "Hard reset", _CRITICAL),
            (2, "power_down", "Power down", _CRITICAL),
            (3, "power_cycle", "Power cycle", _CRITICAL),
            (8, "timer_interrupt", "Timer interrupt", _WARNING),
        ],
    ),
    0x24: _table(
        "platform_alert",
        "Platform alert",
        [
            (0, "page", "Platform generated page", _INFO),
            (1, "lan_alert", "Platform generated LAN alert", _INFO),
            (2, "pet", "Platform event trap generated", _INFO),
            (3, "snmp_trap", "Platform generated SNMP trap, OEM format", _INFO),
        ],
    ),
    0x25: _table(
        "entity_presence",
        "Entity presence",
        [
            (0, "entity_present", "Entity present", _OK),
            (1, "entity_absent", "Entity absent", _INFO),
            (2, "entity_disabled", "Entity disabled", _INFO),
        ],
        presence_offset=0,
    ),
    0x27: _table(
        "lan",
        "LAN",
        [
            (0, "heartbeat_lost", "LAN heartbeat lost", _WARNING),
            (1, "heartbeat", "LAN heartbeat", _OK),
        ],
    ),
    0x28: _table(
        "management_subsystem_health",
        "Management subsystem health",
        [
            (0, "sensor_access_degraded", "Sensor access degraded or unavailable", _WARNING),
            (1, "controller_access_degraded", "Controller access degraded or unavailable", _WARNING),
            (2, "controller_offline", "Management controller off-line", _CRITICAL),
            (3, "controller_unavailable", "Management controller unavailable", _CRITICAL),
            (4, "sensor_failure", "Sensor failure", _WARNING),
            (5, "fru_failure", "FRU failure", _WARNING),
        ],
    ),
    0x29: _table(
        "battery",
        "Battery",
        [
            (0, "low", "Battery low (predictive failure)", _WARNING),
            (1, "failed", "Battery failed", _CRITICAL),
            (2, "presence_detected", "Battery presence detected", _OK),
        ],
        presence_offset=2,
    ),
    0x2A: _table(
        "session_audit",
        "Session audit",
        [
            (0, "session_activated", "Session activated", _INFO),
            (1, "session_deactivated", "Session deactivated", _INFO),
            (2, "invalid_credentials", "Invalid user name or password", _WARNING),
            (3, "user_disabled", "Invalid password disable", _WARNING),
        ],
    ),
    0x2B: _table(
        "version_change",
        "Version change",
        [
            (0, "hardware_change", "Hardware change detected", _INFO),
            (1, "firmware_change", "Firmware or software change detected", _INFO),
            (2, "hardware_incompatibility", "Hardware incompatibility detected", _CRITICAL),
            (3, "firmware_incompatibility", "Firmware or software incompatibility detected", _CRITICAL),
            (4, "invalid_hardware_version", "Invalid or unsupported hardware version", _WARNING),
            (5, "invalid_firmware_version", "Invalid or unsupported firmware or software version", _WARNING),
            (6, "hardware_change_successful", "Hardware change successful", _INFO),
            (7, "firmware_change_successful", "Firmware or software change successful", _INFO),
        ],
    ),
    0x2C: _table(
        "fru_state",
        "FRU state",
        [
            (0, "not_installed", "FRU not installed", _INFO),
            (1, "inactive", "FRU inactive", _INFO),
            (2, "activation_requested", "FRU activation requested", _INFO),
            (3, "activation_in_progress", "FRU activation in progress", _INFO),
            (4, "active", "FRU active", _OK),
            (5, "deactivation_requested", "FRU deactivation requested", _INFO),
            (6, "deactivation_in_progress", "FRU deactivation in progress", _INFO),
            (7, "communication_lost", "FRU communication lost", _CRITICAL),
        ],
    ),
}

_TYPE_NAMES: dict[int, tuple[str, str]] = {
    0x01: ("temperature", "Temperature"),
    0x02: ("voltage", "Voltage"),
    0x03: ("current", "Current"),
    0x04: ("fan", "Fan"),
    0x05: ("physical_security", "Physical security"),
    0x06: ("platform_security", "Platform security violation attempt"),
    0x07: ("processor", "Processor"),
    0x08: ("power_supply", "Power supply"),
    0x09: ("power_unit", "Power unit"),
    0x0A: ("cooling_device", "Cooling device"),
    0x0B: ("other_units", "Other units-based sensor"),
    0x0C: ("memory", "Memory"),
    0x0D: ("drive_slot", "Drive slot"),
    0x0E: ("post_memory_resize", "POST memory resize"),
    0x0F: ("system_firmware_progress", "System firmware progress"),
    0x10: ("event_logging_disabled", "Event logging disabled"),
    0x11: ("watchdog_1", "Watchdog 1"),
    0x12: ("system_event", "System event"),
    0x13: ("critical_interrupt", "Critical interrupt"),
    0x14: ("button_switch", "Button / switch"),
    0x15: ("module_board", "Module / board"),
    0x16: ("microcontroller", "Microcontroller / coprocessor"),
    0x17: ("add_in_card", "Add-in card"),
    0x18: ("chassis", "Chassis"),
    0x19: ("chip_set", "Chip set"),
    0x1A: ("other_fru", "Other FRU"),
    0x1B: ("cable_interconnect", "Cable / interconnect"),
    0x1C: ("terminator", "Terminator"),
    0x1D: ("system_boot_initiated", "System boot / restart initiated"),
    0x1E: ("boot_error", "Boot error"),
    0x1F: ("os_boot", "Base OS boot / installation status"),
    0x20: ("os_stop", "OS stop / shutdown"),
    0x21: ("slot_connector", "Slot / connector"),
    0x22: ("system_acpi_power_state", "System ACPI power state"),
    0x23: ("watchdog_2", "Watchdog 2"),
    0x24: ("platform_alert", "Platform alert"),
    0x25: ("entity_presence", "Entity presence"),
    0x26: ("monitor_asic", "Monitor ASIC / IC"),
    0x27: ("lan", "LAN"),
    0x28: ("management_subsystem_health", "Management subsystem health"),
    0x29: ("battery", "Battery"),
    0x2A: ("session_audit", "Session audit"),
    0x2B: ("version_change", "Version change"),
    0x2C: ("fru_state", "FRU state"),
}

SENSOR_TYPES: Mapping[int, SensorType] = MappingProxyType(
    {code: SensorType(code, key, name, _SPECIFIC.get(code)) for code, (key, name) in _TYPE_NAMES.items()}
)
"""Sensor type code (0x01-0x2C) → ``SensorType`` (IPMI 2.0 Table 42-3). 0xC0-0xFF are OEM."""


def sensor_type(code: int) -> SensorType:
    """Return the sensor type of ``code`` (0-255), IPMI 2.0 Table 42-3.

    Codes the table does not define get key ``"oem_XX"`` (0xC0-0xFF, OEM reserved) or
    ``"unknown_XX"`` (reserved codes) with XX the code in lowercase hex, and no sensor-specific states.
    """
    known = SENSOR_TYPES.get(code)
    if known is not None:
        return known
    if code >= 0xC0:
        return SensorType(code, f"oem_{code:02x}", f"OEM sensor type 0x{code:02X}")
    return SensorType(code, f"unknown_{code:02x}", f"Sensor type 0x{code:02X}")


def state_table(reading_type: int, sensor_type_code: int) -> StateTable | None:
    """Return the states a sensor or event of this event/reading type and sensor type can report.

    ``reading_type`` 0x01-0x0C picks the generic table (Table 42-2), 0x6F the sensor type's
    specific table (Table 42-3). OEM codes (0x70-0x7F), reserved codes and sensor types without
    sensor-specific offsets give None.
    """
    if reading_type == READING_TYPE_SENSOR_SPECIFIC:
        return _SPECIFIC.get(sensor_type_code)
    return GENERIC_TABLES.get(reading_type)


def event_state(reading_type: int, sensor_type_code: int, offset: int) -> EventState | None:
    """Return the state ``offset`` (0-14) names for this event/reading type and sensor type, or None.

    None when the table is unknown (OEM) or the offset is reserved in it.
    Example: ``event_state(0x6F, 0x0D, 1)`` is the drive slot's ``drive_fault`` (critical).
    """
    table = state_table(reading_type, sensor_type_code)
    return table.states.get(offset) if table is not None else None


def asserted_states(reading_type: int, sensor_type_code: int, mask: int) -> list[EventState]:
    """Return the known states asserted in ``mask`` (bit n = offset n, e.g. ``SensorReading.states``).

    Bits of reserved offsets and of unknown (OEM) tables are left out.
    """
    table = state_table(reading_type, sensor_type_code)
    return table.asserted(mask) if table is not None else []


# --- Event data (IPMI 2.0 §29.7, Table 29-6) and its sensor-specific extensions (Table 42-3) -----


class EventDataUse(StrEnum):
    """What event data 2 or 3 holds, from event data 1 bits [7:6] / [5:4] (IPMI 2.0 Table 29-6).

    ``trigger`` is the trigger reading (data 2) or trigger threshold (data 3) of a threshold event,
    or, for data 2 of a discrete event, the previous state and severity offsets.
    """

    UNSPECIFIED = "unspecified"
    TRIGGER = "trigger"
    OEM = "oem"
    SENSOR_SPECIFIC = "sensor_specific"


_DATA_USE = (EventDataUse.UNSPECIFIED, EventDataUse.TRIGGER, EventDataUse.OEM, EventDataUse.SENSOR_SPECIFIC)


@dataclass(frozen=True, slots=True)
class EventData:
    """The three event data bytes of an event (SEL record bytes 14-16, Platform Event message).

    ``offset`` is event data 1 bits [3:0]; ``data2``/``data3`` are None when the bytes are absent or
    their use is ``unspecified`` (the spec then fills them with 0xFF).
    """

    offset: int
    data2_use: EventDataUse
    data3_use: EventDataUse
    data2: int | None
    data3: int | None


def parse_event_data(data: bytes) -> EventData:
    """Parse event data 1-3 (1 to 3 bytes; IPMI 2.0 Table 29-6). Raises ``ValueError`` when empty."""
    if not data:
        raise ValueError("event data needs at least event data 1")
    first = data[0]
    use2, use3 = _DATA_USE[first >> 6], _DATA_USE[(first >> 4) & 0b11]
    data2 = data[1] if len(data) > 1 and use2 is not EventDataUse.UNSPECIFIED else None
    data3 = data[2] if len(data) > 2 and use3 is not EventDataUse.UNSPECIFIED else None
    return EventData(offset=first & 0x0F, data2_use=use2, data3_use=use3, data2=data2, data3=data3)


PSU_CONFIG_ERRORS: Mapping[int, str] = MappingProxyType(
    {
        0x0: "vendor_mismatch",
        0x1: "revision_mismatch",
        0x2: "processor_missing",
        0x3: "rating_mismatch",
        0x4: "voltage_rating_mismatch",
    }
)
"""Power supply offset 06h (configuration error), event data 3 bits [3:0] → error type (Table 42-3)."""

POST_ERRORS: Mapping[int, str] = MappingProxyType(
    {
        0x00: "unspecified",
        0x01: "no_system_memory",
        0x02: "no_usable_system_memory",
        0x03: "hard_disk_failure",
        0x04: "system_board_failure",
        0x05: "diskette_failure",
        0x06: "hard_disk_controller_failure",
        0x07: "keyboard_failure",
        0x08: "boot_media_not_found",
        0x09: "video_controller_failure",
        0x0A: "no_video_device",
        0x0B: "firmware_rom_corruption",
        0x0C: "cpu_voltage_mismatch",
        0x0D: "cpu_speed_mismatch",
    }
)
"""System firmware progress offset 00h (POST error), event data 2 → error (Table 42-3)."""

FIRMWARE_PROGRESS: Mapping[int, str] = MappingProxyType(
    {
        0x00: "unspecified",
        0x01: "memory_initialization",
        0x02: "hard_disk_initialization",
        0x03: "secondary_processor_initialization",
        0x04: "user_authentication",
        0x05: "user_initiated_setup",
        0x06: "usb_configuration",
        0x07: "pci_configuration",
        0x08: "option_rom_initialization",
        0x09: "video_initialization",
        0x0A: "cache_initialization",
        0x0B: "smbus_initialization",
        0x0C: "keyboard_controller_initialization",
        0x0D: "management_controller_initialization",
        0x0E: "docking_station_attachment",
        0x0F: "enabling_docking_station",
        0x10: "docking_station_ejection",
        0x11: "disabling_docking_station",
        0x12: "calling_os_wake_up_vector",
        0x13: "starting_os_boot",
        0x14: "baseboard_initialization",
        0x16: "floppy_initialization",
        0x17: "keyboard_test",
        0x18: "pointing_device_test",
        0x19: "primary_processor_initialization",
    }
)
"""System firmware progress offsets 01h (hang) and 02h (progress), event data 2 → step (Table 42-3)."""

WATCHDOG_INTERRUPTS: Mapping[int, str] = MappingProxyType(
    {0x0: "none", 0x1: "smi", 0x2: "nmi", 0x3: "messaging_interrupt", 0xF: "unspecified"}
)
"""Watchdog 2 event data 2 bits [7:4] → interrupt type (Table 42-3)."""

WATCHDOG_TIMER_USES: Mapping[int, str] = MappingProxyType(
    {0x1: "bios_frb2", 0x2: "bios_post", 0x3: "os_load", 0x4: "sms_os", 0x5: "oem", 0xF: "unspecified"}
)
"""Watchdog 2 event data 2 bits [3:0] → timer use at expiration (Table 42-3)."""

SESSION_DEACTIVATION_CAUSES: Mapping[int, str] = MappingProxyType(
    {0b00: "unspecified", 0b01: "close_session", 0b10: "timeout", 0b11: "configuration_change"}
)
"""Session audit event data 3 bits [5:4] → why the session was deactivated (Table 42-3)."""


def memory_module(sensor_type_code: int, event: EventData) -> int | None:
    """Return the memory module/device (DIMM) number an event names, or None.

    Memory (0x0C) events carry it in event data 3; event logging disabled (0x10) offset 00h
    (correctable memory error logging disabled) in event data 2 (IPMI 2.0 Table 42-3). The number is
    relative to the entity of the sensor, as the BMC's firmware numbers its DIMM slots.
    """
    if sensor_type_code == 0x0C and event.data3_use is EventDataUse.SENSOR_SPECIFIC:
        return event.data3
    if sensor_type_code == 0x10 and event.offset == 0 and event.data2_use is EventDataUse.SENSOR_SPECIFIC:
        return event.data2
    return None


def psu_config_error(sensor_type_code: int, event: EventData) -> str | None:
    """Return the power supply configuration error key of an event, or None.

    Only a power supply (0x08) offset 06h event whose event data 3 is sensor-specific has one:
    ``vendor_mismatch``, ``revision_mismatch``, ``processor_missing``, ``rating_mismatch``,
    ``voltage_rating_mismatch`` or ``reserved_N`` (IPMI 2.0 Table 42-3).
    """
    if sensor_type_code != 0x08 or event.offset != 6 or event.data3_use is not EventDataUse.SENSOR_SPECIFIC:
        return None
    if event.data3 is None:
        return None
    code = event.data3 & 0x0F
    return PSU_CONFIG_ERRORS.get(code, f"reserved_{code}")


def event_details(sensor_type_code: int, reading_type: int, event: EventData) -> dict[str, int | str]:
    """Decode the sensor-specific meaning of event data 2 and 3 (IPMI 2.0 Table 42-3).

    Only sensor-specific events (``reading_type`` 0x6F) have one. Returns a possibly empty dict of:
    ``memory_module`` (int, DIMM number), ``config_error`` (power supply, see ``PSU_CONFIG_ERRORS``),
    ``post_error`` / ``progress`` (system firmware, see ``POST_ERRORS`` / ``FIRMWARE_PROGRESS``),
    ``interrupt`` and ``timer_use`` (watchdog 2), ``user_id``, ``channel`` and
    ``deactivation_cause`` (session audit), ``network_controller`` (LAN leash lost),
    ``sensor_number`` (management subsystem sensor failure), ``sel_percent_full`` (SEL almost full).
    Unknown codes decode to ``"reserved_N"``.
    """
    if reading_type != READING_TYPE_SENSOR_SPECIFIC:
        return {}
    details: dict[str, int | str] = {}
    data2 = event.data2 if event.data2_use is EventDataUse.SENSOR_SPECIFIC else None
    data3 = event.data3 if event.data3_use is EventDataUse.SENSOR_SPECIFIC else None
    offset = event.offset
    if (module := memory_module(sensor_type_code, event)) is not None:
        details["memory_module"] = module
    if (config_error := psu_config_error(sensor_type_code, event)) is not None:
        details["config_error"] = config_error
    if sensor_type_code == 0x0F and data2 is not None:
        if offset == 0:
            details["post_error"] = POST_ERRORS.get(data2, f"reserved_{data2}")
        elif offset in (1, 2):
            details["progress"] = FIRMWARE_PROGRESS.get(data2, f"reserved_{data2}")
    elif sensor_type_code == 0x23 and data2 is not None:
        details["interrupt"] = WATCHDOG_INTERRUPTS.get(data2 >> 4, f"reserved_{data2 >> 4}")
        details["timer_use"] = WATCHDOG_TIMER_USES.get(data2 & 0x0F, f"reserved_{data2 & 0x0F}")
    elif sensor_type_code == 0x2A:
        if data2 is not None:
            details["user_id"] = data2 & 0x3F
        if data3 is not None:
            details["channel"] = data3 & 0x0F
            details["deactivation_cause"] = SESSION_DEACTIVATION_CAUSES[(data3 >> 4) & 0b11]
    elif sensor_type_code == 0x05 and offset == 4 and data2 is not None:
        details["network_controller"] = data2
    elif sensor_type_code == 0x28 and offset == 4 and data2 is not None:
        details["sensor_number"] = data2
    elif sensor_type_code == 0x10 and offset == 5 and data3 is not None:
        details["sel_percent_full"] = data3
    return details
