"""Server profiles: identity (Get Device ID, FRU 0, GUID), SDR sensor set, thresholds, vendor fan control.

Sources: IANA enterprise numbers and vendor fan commands from /work/shared/docs/ipmi-field-notes.md
sections 1 and 2 (Supermicro 10876, Dell 674, Hewlett-Packard 11; Supermicro default fan thresholds
300/500/700 rpm). Sensor names follow what these boards commonly show in ``ipmitool sdr``; sensor
numbers, product ids, firmware versions, M/R factors and thresholds other than those in docs/ipmi-notes.md
are plausible illustrations, not measurements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import sdr as s
from .fru import FruInfo

SUPERMICRO, DELL, HPE, GENERIC = "supermicro", "dell", "hpe", "generic"

# Entity ids, IPMI 2.0 Table 43-13.
ENT_PROCESSOR = 0x03
ENT_POWER_SUPPLY = 0x0A
ENT_SYSTEM_BOARD = 0x07
ENT_MEMORY = 0x20
ENT_CHASSIS = 0x17
ENT_FAN = 0x1D
ENT_AIR_INLET = 0x37
ENT_SYSTEM_CHASSIS = 0x17
ENT_DRIVE_BAY = 0x1A
ENT_ADD_IN_CARD = 0x0B


@dataclass(frozen=True)
class DeviceId:
    """Fields of the Get Device ID response (IPMI 2.0 section 20.1). ``fw_minor`` is BCD-coded."""

    device_id: int
    revision: int
    fw_major: int
    fw_minor: int
    manufacturer: int
    product: int
    additional: int = 0xBF  # sensor, SDR repository, SEL, FRU, IPMB ev. receiver/generator, chassis
    ipmi_version: int = 0x02
    aux: bytes = b""


@dataclass(frozen=True)
class Thermal:
    """First-order thermal model of one temperature sensor (all values in degrees C and seconds).

    Equilibrium = ambient + ``offset`` + (``idle_rise`` + ``load_rise`` * load) * (1 + ``airflow_k`` *
    (1 - airflow)), where load is 0..1 and airflow the mean rpm/max of the fans in ``zone`` (None: all
    fans); with the host off only ``offset`` remains. The reading approaches equilibrium with time
    constant ``tau``. ``drives`` marks the sensors the BMC's automatic fan curve follows.
    """

    offset: float = 0.0
    idle_rise: float = 0.0
    load_rise: float = 0.0
    airflow_k: float = 1.0
    tau: float = 20.0
    zone: int | None = None
    drives: bool = False


@dataclass(frozen=True)
class SensorSpec:
    """One sensor of a profile: temp, fan, voltage, power, current, psu, intrusion, discrete or redundancy.

    ``thresholds`` are engineering values (degrees C, rpm, volts, watts, amps); they are rounded to the
    sensor's step when the SDR is built. ``settable`` None means every present threshold is settable.
    Discrete and redundancy sensors have a ``sensor_type`` and ``reading_type`` (IPMI 2.0 Tables 42-2,
    42-3), the offsets they report (``state_mask``) and the offsets asserted at start (``states``); a
    redundancy sensor follows the power supplies or fans named by ``group`` ("psu" or "fan").
    """

    name: str
    number: int
    kind: str
    entity: tuple[int, int]
    conversion: s.Conversion = field(default_factory=s.Conversion)
    units: int = s.UNIT_UNSPECIFIED
    percent: bool = False
    thresholds: Mapping[str, float] = field(default_factory=dict)
    settable: frozenset[str] | None = None
    hysteresis: tuple[int, int] = (2, 2)
    standby: bool = False
    thermal: Thermal | None = None
    fan_zone: int = 0
    fan_max_rpm: int = 0
    nominal: float = 0.0
    index: int = 0
    compact: bool = False
    sensor_type: int = 0
    reading_type: int = 0
    state_mask: int = 0
    states: int = 0
    group: str = ""


@dataclass(frozen=True)
class FanPolicy:
    """BMC automatic fan behaviour.

    ``curve`` maps the hottest driving temperature (degrees C) to a
    duty (percent), interpolated linearly; ``floor`` is the minimum automatic duty (percent).

    ``override_after`` (s): a manual zone duty written while the mode is not Full is replaced by the
    BMC's own duty after this long (Supermicro, docs/ipmi-notes.md §1). ``low_fan_full_speed``: a fan at
    or below its lower-critical threshold makes the BMC run every fan at 100 % for ``panic_hold``
    seconds (docs/ipmi-notes.md §2, "pulsing"). ``revert_after`` (s, None = never): this long after a
    client last set the fan mode (Supermicro 0x30 0x45 0x01, Dell 0x30 0x30 0x01), the BMC returns to
    ``revert_mode`` on its own and drops manual duties (docs/ipmi-notes.md §6). ``full_sel_full_speed``:
    a full SEL pins every fan at 100 % (docs/ipmi-notes.md §2). ``fan_tau`` (s): fan spin-up/down lag.
    """

    curve: tuple[tuple[float, float], ...] = ((35.0, 30.0), (60.0, 50.0), (80.0, 100.0))
    floor: float = 30.0
    override_after: float = 5.0
    low_fan_full_speed: bool = False
    panic_hold: float = 5.0
    revert_after: float | None = None
    revert_mode: int = 1
    fan_tau: float = 1.5
    full_sel_full_speed: bool = False


@dataclass(frozen=True)
class Profile:
    """A complete simulated server. ``vendor`` picks the OEM command set; ``oem`` holds its options."""

    name: str
    description: str
    vendor: str
    device: DeviceId
    fru: FruInfo
    sensors: tuple[SensorSpec, ...]
    zones: int = 1
    oem: dict[str, object] = field(default_factory=dict)
    fan_policy: FanPolicy = field(default_factory=FanPolicy)
    dcmi: bool = True
    cipher_suites: tuple[int, ...] = (3, 17)
    sel_capacity: int = 512
    initial_sel: tuple[tuple[str, float, dict[str, int]], ...] = ()
    idle_watts: float = 60.0
    load_watts: float = 140.0
    standby_watts: float = 8.0
    default_fan_mode: int = 0
    lockout_after: int = 0
    lockout_seconds: float = 300.0
    sdr_max_read: int | None = None
    mc_name: str = "BMC"


# --------------------------------------------------------------------------------------------------------
# sensor builders


def temp(
    name: str,
    number: int,
    thr: Mapping[str, float],
    thermal: Thermal,
    *,
    signed: bool = False,
    entity: tuple[int, int] = (ENT_PROCESSOR, 1),
    standby: bool = False,
    settable: frozenset[str] | None = None,
) -> SensorSpec:
    """Temperature sensor, 1 degree C per count (2's complement when ``signed``)."""
    return SensorSpec(
        name,
        number,
        "temp",
        entity,
        s.Conversion(1, 0, 0, 0, signed),
        s.UNIT_DEGREES_C,
        thresholds=thr,
        standby=standby,
        thermal=thermal,
        settable=settable,
    )


def fan(
    name: str,
    number: int,
    zone: int,
    max_rpm: int,
    thr: Mapping[str, float],
    *,
    m: int = 100,
    settable: frozenset[str] | None = None,
    percent: bool = False,
    index: int = 0,
) -> SensorSpec:
    """Fan tachometer in rpm with ``m`` rpm per count (or a percent reading when ``percent``)."""
    conv = s.Conversion(m, 0, 0, -3 if percent else 0)
    return SensorSpec(
        name,
        number,
        "fan",
        (ENT_FAN, index + 1),
        conv,
        s.UNIT_UNSPECIFIED if percent else s.UNIT_RPM,
        percent=percent,
        thresholds=thr,
        settable=settable,
        fan_zone=zone,
        fan_max_rpm=max_rpm,
        index=index,
        hysteresis=(1, 1),
    )


def volt(
    name: str, number: int, nominal: float, step: tuple[int, int], thr: Mapping[str, float], *, standby: bool = False
) -> SensorSpec:
    """Voltage rail reading ``nominal`` volts; ``step`` = (M, R exp): M * 10**R volts per count."""
    m, r_exp = step
    return SensorSpec(
        name,
        number,
        "voltage",
        (ENT_SYSTEM_BOARD, 1),
        s.Conversion(m, 0, 0, r_exp),
        s.UNIT_VOLTS,
        thresholds=thr,
        nominal=nominal,
        standby=standby,
        hysteresis=(1, 1),
    )


def power(name: str, number: int, m: int, thr: Mapping[str, float]) -> SensorSpec:
    """Input power in watts, ``m`` W per count, following the simulated consumption."""
    return SensorSpec(
        name,
        number,
        "power",
        (ENT_POWER_SUPPLY, 1),
        s.Conversion(m, 0, 0, 0),
        s.UNIT_WATTS,
        thresholds=thr,
        standby=True,
        hysteresis=(1, 1),
    )


def current(name: str, number: int, step: tuple[int, int], thr: Mapping[str, float], *, index: int = 0) -> SensorSpec:
    """PSU input current in amps following the simulated consumption at 230 V; ``step`` = (M, R exp)."""
    m, r_exp = step
    return SensorSpec(
        name,
        number,
        "current",
        (ENT_POWER_SUPPLY, index + 1),
        s.Conversion(m, 0, 0, r_exp),
        s.UNIT_AMPS,
        thresholds=thr,
        standby=True,
        index=index,
        hysteresis=(0, 0),
    )


def psu(name: str, number: int, index: int) -> SensorSpec:
    """Power supply status, sensor type 08h, sensor-specific offsets (IPMI 2.0 Table 42-3)."""
    return SensorSpec(name, number, "psu", (ENT_POWER_SUPPLY, index + 1), standby=True, index=index, compact=True)


def intrusion(name: str, number: int) -> SensorSpec:
    """Physical security (chassis intrusion), sensor type 05h, offset 0 = general chassis intrusion."""
    return SensorSpec(name, number, "intrusion", (ENT_SYSTEM_CHASSIS, 1), standby=True, compact=True)


def discrete(
    name: str,
    number: int,
    sensor_type: int,
    entity: tuple[int, int],
    state_mask: int,
    *,
    states: int = 0,
    reading_type: int = s.ERT_SENSOR_SPECIFIC,
    standby: bool = False,
) -> SensorSpec:
    """Describe a discrete sensor reporting the offsets of ``state_mask``, ``states`` asserted at start.

    Offsets as IPMI 2.0 Tables 42-2/42-3 define them for ``sensor_type`` and ``reading_type``. Its
    states change only through the control channel (``set_sensor_states``).
    """
    return SensorSpec(
        name,
        number,
        "discrete",
        entity,
        standby=standby,
        compact=True,
        sensor_type=sensor_type,
        reading_type=reading_type,
        state_mask=state_mask,
        states=states,
    )


def redundancy(name: str, number: int, sensor_type: int, group: str) -> SensorSpec:
    """Redundancy of the power supplies or fans (generic event/reading type 0Bh, Table 42-2).

    Offset 0 fully redundant while every member of ``group`` ("psu" or "fan") works, else offset 1
    redundancy lost, as Dell and HPE BMCs report it; each change goes to the SEL.
    """
    return SensorSpec(
        name,
        number,
        "redundancy",
        (ENT_SYSTEM_BOARD, 1),
        standby=True,
        compact=True,
        sensor_type=sensor_type,
        reading_type=s.ERT_REDUNDANCY,
        state_mask=0x0003,
        states=0x0001,
        group=group,
    )


# --------------------------------------------------------------------------------------------------------
# shared sensor sets

_SM_FAN_THR = {"lnr": 300, "lcr": 500, "lnc": 700, "unc": 25300, "ucr": 25400, "unr": 25500}
_SM_CPU_THR = {"lnr": 5, "lcr": 5, "lnc": 10, "unc": 80, "ucr": 90, "unr": 100}
_SM_SYS_THR = {"lnr": -9, "lcr": -7, "lnc": -5, "unc": 80, "ucr": 85, "unr": 90}
_SM_DIMM_THR = {"lnr": 5, "lcr": 5, "lnc": 10, "unc": 80, "ucr": 85, "unr": 90}

CPU_THERMAL = Thermal(offset=0, idle_rise=10, load_rise=45, airflow_k=1.2, tau=8, zone=0, drives=True)


def _supermicro_common(fan_specs: list[SensorSpec], *, fan_settable: frozenset[str] | None = None) -> list[SensorSpec]:
    sensors = [
        temp("CPU Temp", 0x01, _SM_CPU_THR, CPU_THERMAL),
        temp(
            "PCH Temp",
            0x0A,
            {"lnr": 5, "lcr": 5, "lnc": 10, "unc": 90, "ucr": 95, "unr": 100},
            Thermal(offset=2, idle_rise=12, load_rise=8, airflow_k=1.0, tau=40, zone=0),
            entity=(ENT_SYSTEM_BOARD, 1),
        ),
        temp(
            "System Temp",
            0x0B,
            _SM_SYS_THR,
            Thermal(offset=1, idle_rise=4, load_rise=8, airflow_k=0.8, tau=60),
            signed=True,
            entity=(ENT_SYSTEM_BOARD, 1),
        ),
        temp(
            "Peripheral Temp",
            0x0C,
            _SM_SYS_THR,
            Thermal(offset=2, idle_rise=7, load_rise=10, airflow_k=1.0, tau=45, zone=1),
            signed=True,
            entity=(ENT_SYSTEM_BOARD, 2),
        ),
        temp(
            "DIMMA1 Temp",
            0x0D,
            _SM_DIMM_THR,
            Thermal(offset=1, idle_rise=6, load_rise=14, airflow_k=1.0, tau=50),
            entity=(ENT_MEMORY, 1),
        ),
    ]
    sensors += fan_specs
    sensors += [
        volt(
            "12V",
            0x30,
            12.05,
            (64, -3),
            {"lnr": 10.144, "lcr": 10.272, "lnc": 10.784, "unc": 12.96, "ucr": 13.28, "unr": 13.408},
        ),
        volt(
            "5VCC",
            0x31,
            5.04,
            (26, -3),
            {"lnr": 4.246, "lcr": 4.298, "lnc": 4.480, "unc": 5.486, "ucr": 5.590, "unr": 5.668},
        ),
        volt(
            "3.3VCC",
            0x32,
            3.32,
            (17, -3),
            {"lnr": 2.804, "lcr": 2.838, "lnc": 2.940, "unc": 3.621, "ucr": 3.689, "unr": 3.723},
        ),
        volt(
            "Vcpu",
            0x33,
            1.80,
            (10, -3),
            {"lnr": 1.248, "lcr": 1.264, "lnc": 1.296, "unc": 2.056, "ucr": 2.104, "unr": 2.120},
        ),
        volt(
            "VBAT",
            0x34,
            3.08,
            (17, -3),
            {"lnr": 2.396, "lcr": 2.498, "lnc": 2.600, "unc": 3.587, "ucr": 3.621, "unr": 3.723},
            standby=True,
        ),
        volt(
            "5VSB",
            0x35,
            5.01,
            (26, -3),
            {"lnr": 4.246, "lcr": 4.298, "lnc": 4.480, "unc": 5.486, "ucr": 5.590, "unr": 5.668},
            standby=True,
        ),
        psu("PS1 Status", 0xC8, 0),
        psu("PS2 Status", 0xC9, 1),
        intrusion("Chassis Intru", 0xAA),
    ]
    if fan_settable is not None:
        sensors = [
            SensorSpec(**{**sp.__dict__, "settable": fan_settable}) if sp.kind == "fan" else sp for sp in sensors
        ]
    return sensors


def _sm_fans(
    names_zones: list[tuple[str, int]], max_rpm: int = 7000, m: int = 100, thr: Mapping[str, float] | None = None
) -> list[SensorSpec]:
    return [
        fan(name, 0x41 + i, zone, max_rpm, thr or _SM_FAN_THR, m=m, index=i)
        for i, (name, zone) in enumerate(names_zones)
    ]


_SM_INITIAL_SEL: tuple[tuple[str, float, dict[str, int]], ...] = (
    ("ac_lost", 86400 * 3, {"psu": 1}),
    ("intrusion", 86400 * 2, {}),
    ("ecc_correctable", 3600 * 5, {"dimm": 1}),
)

SUPERMICRO_POLICY = FanPolicy(
    curve=((35.0, 30.0), (55.0, 45.0), (75.0, 100.0)),
    floor=30.0,
    override_after=5.0,
    low_fan_full_speed=True,
    panic_hold=5.0,
    revert_after=None,
    revert_mode=1,
    full_sel_full_speed=True,
)


def _supermicro_fru(board: str, system: str, serial: str) -> FruInfo:
    return FruInfo(
        board_manufacturer="Supermicro",
        board_product=board,
        board_serial=f"ZM{serial}",
        board_part=board,
        product_manufacturer="Supermicro",
        product_name=system,
        product_part=system,
        product_version="0123456789",
        product_serial=f"S{serial}",
        chassis_part="CSE-813MF2TQC-505CB",
        chassis_serial=f"C8130{serial}",
    )


def _supermicro(
    name: str,
    description: str,
    *,
    board: str,
    system: str,
    serial: str,
    product: int,
    fw: tuple[int, int],
    fans: list[SensorSpec],
    zones: int,
    oem: dict[str, object],
    fan_settable: frozenset[str] | None = None,
    dcmi: bool = True,
    suites: tuple[int, ...] = (3, 17),
    default_mode: int = 2,
) -> Profile:
    return Profile(
        name=name,
        description=description,
        vendor=SUPERMICRO,
        device=DeviceId(0x20, 0x01, fw[0], fw[1], manufacturer=10876, product=product),
        fru=_supermicro_fru(board, system, serial),
        sensors=tuple(_supermicro_common(fans, fan_settable=fan_settable)),
        zones=zones,
        oem=oem,
        fan_policy=SUPERMICRO_POLICY,
        dcmi=dcmi,
        cipher_suites=suites,
        initial_sel=_SM_INITIAL_SEL,
        default_fan_mode=default_mode,
        idle_watts=55,
        load_watts=120,
        lockout_after=0,
    )


# --------------------------------------------------------------------------------------------------------
# profiles

_DELL_FAN_THR = {"lcr": 360, "lnc": 480}


def _dell_sensors() -> list[SensorSpec]:
    cpu = Thermal(offset=0, idle_rise=12, load_rise=42, airflow_k=1.2, tau=8, drives=True)
    sensors = [
        temp(
            "Inlet Temp",
            0x04,
            {"lcr": -7, "lnc": 3, "unc": 42, "ucr": 47},
            Thermal(offset=0, tau=120),
            signed=True,
            entity=(ENT_AIR_INLET, 1),
            standby=True,
        ),
        temp(
            "Exhaust Temp",
            0x01,
            {"lcr": 3, "lnc": 8, "unc": 70, "ucr": 75},
            Thermal(offset=0, idle_rise=6, load_rise=14, airflow_k=1.0, tau=40),
            signed=True,
            entity=(ENT_SYSTEM_BOARD, 1),
        ),
        temp("Temp", 0x0E, {"lcr": 3, "lnc": 8, "unc": 84, "ucr": 89}, cpu, signed=True, entity=(ENT_PROCESSOR, 1)),
        temp(
            "Temp",
            0x0F,
            {"lcr": 3, "lnc": 8, "unc": 84, "ucr": 89},
            Thermal(offset=0, idle_rise=11, load_rise=40, airflow_k=1.2, tau=8, drives=True),
            signed=True,
            entity=(ENT_PROCESSOR, 2),
        ),
    ]
    sensors += [fan(f"Fan{i + 1}", 0x30 + i, 0, 14000, _DELL_FAN_THR, m=120, index=i) for i in range(6)]
    sensors += [
        current("Current 1", 0x6A, (2, -1), {"ucr": 16.0}, index=0),
        current("Current 2", 0x6B, (2, -1), {"ucr": 16.0}, index=1),
        volt("Voltage 1", 0x6C, 230.0, (1, 0), {}, standby=True),
        volt("Voltage 2", 0x6D, 230.0, (1, 0), {}, standby=True),
        power("Pwr Consumption", 0x77, 14, {"unc": 896, "ucr": 980}),
        psu("PS1 Status", 0x62, 0),
        psu("PS2 Status", 0x63, 1),
        intrusion("Intrusion", 0x73),
        # Discrete sensors as `ipmitool sdr elist` lists them on PowerEdge 13th generation servers.
        # Processor: IERR, thermal trip, configuration error, presence, throttled (offsets 0, 1, 5, 7, 10).
        discrete("CPU1 Status", 0x60, s.ST_PROCESSOR, (ENT_PROCESSOR, 1), 0x04A3, states=0x0080),
        discrete("CPU2 Status", 0x61, s.ST_PROCESSOR, (ENT_PROCESSOR, 2), 0x04A3, states=0x0080),
        redundancy("PS Redundancy", 0x74, s.ST_POWER_SUPPLY, "psu"),
        redundancy("Fan Redundancy", 0x75, s.ST_FAN, "fan"),
        # Watchdog 2: timer expired, hard reset, power down, power cycle, timer interrupt; nothing asserted.
        discrete("OS Watchdog", 0x71, s.ST_WATCHDOG_2, (ENT_SYSTEM_BOARD, 1), 0x010F, standby=True),
        # Drive slot: presence, fault, predictive failure, hot spare, in critical/failed array, rebuild, aborted.
        discrete("Drive 0", 0x80, s.ST_DRIVE_SLOT, (ENT_DRIVE_BAY, 1), 0x01EF, states=0x0001),
        # Cable/interconnect: connected, configuration error (incorrect cable).
        discrete("Cable SAS A", 0x8C, s.ST_CABLE_INTERCONNECT, (ENT_SYSTEM_CHASSIS, 1), 0x0003, states=0x0001),
        # RAID controller battery: low, failed, presence.
        discrete("ROMB Battery", 0x11, s.ST_BATTERY, (ENT_ADD_IN_CARD, 1), 0x0007, states=0x0004),
    ]
    return sensors


def _dell_fru(model: str, tag: str) -> FruInfo:
    return FruInfo(
        board_manufacturer="DELL",
        board_product=f"PowerEdge {model}",
        board_serial=f"CN7016{tag}",
        board_part="0599V5A00",
        product_manufacturer="DELL",
        product_name=f"PowerEdge {model}",
        product_part="",
        product_version="",
        product_serial=tag,
        chassis_part="",
        chassis_serial=tag,
    )


DELL_POLICY = FanPolicy(
    curve=((35.0, 15.0), (60.0, 35.0), (80.0, 100.0)),
    floor=12.0,
    override_after=0.0,
    low_fan_full_speed=False,
    revert_after=None,
    revert_mode=1,
)

_DELL_INITIAL_SEL: tuple[tuple[str, float, dict[str, int]], ...] = (
    ("ac_lost", 86400 * 4, {"psu": 0}),
    ("login_failed", 86400, {}),
    ("ecc_correctable", 7200, {"dimm": 3}),
)


def _hpe_sensors() -> list[SensorSpec]:
    sensors = [
        temp(
            "01-Inlet Ambient",
            0x01,
            {"ucr": 42, "unr": 46},
            Thermal(offset=0, tau=120),
            entity=(ENT_AIR_INLET, 1),
            standby=True,
        ),
        temp(
            "02-CPU 1",
            0x02,
            {"ucr": 70},
            Thermal(offset=0, idle_rise=10, load_rise=35, airflow_k=1.0, tau=8, drives=True),
        ),
        temp(
            "03-CPU 2",
            0x03,
            {"ucr": 70},
            Thermal(offset=0, idle_rise=9, load_rise=33, airflow_k=1.0, tau=8, drives=True),
            entity=(ENT_PROCESSOR, 2),
        ),
        temp(
            "04-P1 DIMM 1-6",
            0x04,
            {"ucr": 87},
            Thermal(offset=0, idle_rise=6, load_rise=14, tau=50),
            entity=(ENT_MEMORY, 1),
        ),
    ]
    # iLO reports fans as a percentage of full speed (0.392 % per count)
    sensors += [fan(f"Fan {i + 1}", 0x20 + i, 0, 100, {}, m=392, percent=True, index=i) for i in range(6)]
    sensors += [
        psu("Power Supply 1", 0x40, 0),
        psu("Power Supply 2", 0x41, 1),
        power("Power Meter", 0x42, 2, {}),
        redundancy("Power Supplies", 0x43, s.ST_POWER_SUPPLY, "psu"),
        intrusion("Intrusion", 0x50),
    ]
    return sensors


def _build_profiles() -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}

    def add(profile: Profile) -> None:
        profiles[profile.name] = profile

    add(
        _supermicro(
            name="supermicro-x9",
            description="Supermicro X9SCM-F (Nuvoton WPCM450): 0x30 0x91 duty, 0x30 0x70 answers 0xCC",
            board="X9SCM-F",
            system="SYS-5017C-MTF",
            serial="0X9A0001",
            product=0x0664,
            fw=(0x03, 0x56),
            fans=_sm_fans(
                [("FAN1", 0), ("FAN2", 0), ("FAN3", 0), ("FAN4", 0), ("FANA", 1)],
                max_rpm=6000,
                m=75,
                thr={"lnr": 300, "lcr": 450, "lnc": 600, "unc": 18975, "ucr": 19050, "unr": 19125},
            ),
            zones=2,
            oem={"generation": "x9"},
            dcmi=False,
            suites=(3,),
            default_mode=0,
        )
    )
    add(
        _supermicro(
            name="supermicro-x11",
            description="Supermicro X11SSH-F (AST2400), 2 zones: 0x30 0x45 mode, 0x30 0x70 0x66 zone duty",
            board="X11SSH-F",
            system="SYS-5019S-M",
            serial="0X110001",
            product=0x0916,
            fw=(0x01, 0x71),
            fans=_sm_fans([("FAN1", 0), ("FAN2", 0), ("FAN3", 0), ("FAN4", 0), ("FANA", 1)]),
            zones=2,
            oem={"generation": "x11", "strict_length": True},
        )
    )
    add(
        _supermicro(
            name="supermicro-4zone",
            description="Supermicro X10DRG-Q-like board (AST2400) with 4 fan zones; lenient request lengths",
            board="X10DRG-Q",
            system="SYS-4028GR-TR",
            serial="0X100001",
            product=0x0860,
            fw=(0x03, 0x88),
            fans=_sm_fans(
                [
                    ("FAN1", 0),
                    ("FAN2", 0),
                    ("FAN3", 0),
                    ("FAN4", 0),
                    ("FANA", 1),
                    ("FANB", 1),
                    ("FAN5", 2),
                    ("FAN6", 2),
                    ("FAN7", 3),
                    ("FAN8", 3),
                ],
                max_rpm=9000,
            ),
            zones=4,
            oem={"generation": "x10", "strict_length": False},
        )
    )
    add(
        _supermicro(
            name="supermicro-x13",
            description="Supermicro X13SAE-F (AST2600): only the lower-critical fan threshold is settable",
            board="X13SAE-F",
            system="SYS-E302-12E",
            serial="0X130001",
            product=0x1B5E,
            fw=(0x01, 0x02),
            fans=_sm_fans([("FAN1", 0), ("FAN2", 0), ("FAN3", 0), ("FAN4", 0), ("FANA", 1)]),
            zones=2,
            oem={"generation": "x13", "strict_length": True},
            fan_settable=frozenset({"lcr"}),
        )
    )
    add(
        _supermicro(
            name="supermicro-x14",
            description="Supermicro X14 (ATEN firmware): 0x30 0x70 0x66 0x02 0x01 bypass before zone duty",
            board="X14SBI-TF",
            system="SYS-212B-FN2T",
            serial="0X140001",
            product=0x1D40,
            fw=(0x01, 0x03),
            fans=_sm_fans([("FAN1", 0), ("FAN2", 0), ("FAN3", 0), ("FAN4", 0), ("FANA", 1)]),
            zones=2,
            oem={"generation": "x14", "strict_length": True},
        )
    )
    add(
        Profile(
            name="dell-idrac8",
            description="Dell PowerEdge R730, iDRAC8 2.83: 0x30 0x30 manual/auto + duty, 0x30 0xCE PCIe cooling",
            vendor=DELL,
            device=DeviceId(0x20, 0x01, 0x02, 0x83, manufacturer=674, product=0x0100, additional=0xBF),
            fru=_dell_fru("R730", "7H3KQ52"),
            sensors=tuple(_dell_sensors()),
            zones=1,
            oem={"generation": 13, "locked": False},
            fan_policy=DELL_POLICY,
            initial_sel=_DELL_INITIAL_SEL,
            idle_watts=98,
            load_watts=250,
            lockout_after=5,
        )
    )
    add(
        Profile(
            name="dell-idrac9-locked",
            description="Dell PowerEdge R740, iDRAC9 >= 3.34.34.34: raw fan commands answer 0xD4",
            vendor=DELL,
            device=DeviceId(0x20, 0x01, 0x04, 0x40, manufacturer=674, product=0x0100, additional=0xBF),
            fru=_dell_fru("R740", "9J4LR63"),
            sensors=tuple(_dell_sensors()),
            zones=1,
            oem={"generation": 14, "locked": True},
            fan_policy=DELL_POLICY,
            initial_sel=_DELL_INITIAL_SEL,
            idle_watts=105,
            load_watts=260,
            lockout_after=5,
        )
    )
    add(
        Profile(
            name="hpe-ilo4",
            description="HPE ProLiant DL380 Gen9, iLO 4 2.77: sensors, SEL, DCMI power; no IPMI fan control",
            vendor=HPE,
            device=DeviceId(0x13, 0x01, 0x02, 0x77, manufacturer=11, product=0x2000, additional=0xBF),
            fru=FruInfo(
                board_manufacturer="HPE",
                board_product="ProLiant DL380 Gen9",
                board_serial="PWARA0ARH8K0PQ",
                board_part="843307-001",
                product_manufacturer="HPE",
                product_name="ProLiant DL380 Gen9",
                product_part="719064-B21",
                product_version="",
                product_serial="CZJ61506PL",
            ),
            sensors=tuple(_hpe_sensors()),
            zones=1,
            oem={},
            fan_policy=FanPolicy(curve=((35.0, 20.0), (70.0, 60.0), (85.0, 100.0)), floor=15.0),
            initial_sel=(("psu_failure", 86400 * 6, {"psu": 1}), ("ecc_correctable", 9000, {"dimm": 2})),
            idle_watts=110,
            load_watts=270,
        )
    )
    add(
        Profile(
            name="generic",
            description="Plain IPMI 2.0 BMC without OEM commands or DCMI",
            vendor=GENERIC,
            device=DeviceId(0x20, 0x01, 0x01, 0x00, manufacturer=0, product=0x0001, additional=0xBF),
            fru=FruInfo(
                board_manufacturer="Generic",
                board_product="IPMI Board",
                board_serial="GB0001",
                board_part="GB-1",
                product_manufacturer="Generic",
                product_name="IPMI Server",
                product_part="GS-1",
                product_version="1",
                product_serial="GS0001",
            ),
            sensors=(
                temp("CPU Temp", 0x01, {"lcr": 5, "lnc": 10, "unc": 80, "ucr": 90}, CPU_THERMAL),
                temp(
                    "System Temp",
                    0x02,
                    {"lcr": -5, "lnc": 0, "unc": 60, "ucr": 70},
                    Thermal(offset=1, idle_rise=5, load_rise=8, airflow_k=0.8, tau=60),
                    signed=True,
                    entity=(ENT_SYSTEM_BOARD, 1),
                ),
                fan("FAN1", 0x41, 0, 7000, _SM_FAN_THR, index=0),
                fan("FAN2", 0x42, 0, 7000, _SM_FAN_THR, index=1),
                volt("12V", 0x30, 12.05, (64, -3), {"lcr": 10.272, "ucr": 13.28}),
                psu("PSU1 Status", 0xC8, 0),
                intrusion("Intrusion", 0xAA),
            ),
            zones=1,
            fan_policy=FanPolicy(),
            dcmi=False,
            initial_sel=(("intrusion", 86400, {}),),
        )
    )
    return profiles


PROFILES: dict[str, Profile] = _build_profiles()


def get_profile(name: str) -> Profile:
    """Profile by name; raises KeyError listing the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
