"""The SEL reader against bmcsim over UDP: one request when nothing changed, only new records, clear and wrap."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from bmcsim import Simulator
from custom_components.zephyr_ipmi.ipmi import (
    BmcClient,
    IpmiCompletionCodeError,
    IpmiProtocolError,
    SdrSensor,
    SensorKind,
)
from custom_components.zephyr_ipmi.ipmi.sel import (
    SelInfo,
    SelPosition,
    SelReader,
    SelRecord,
    clear_sel_data,
    decode_event,
    format_value,
    sel_time,
)

pytestmark = [pytest.mark.peer, pytest.mark.usefixtures("socket_enabled")]

Factory = Callable[..., Simulator]
#: bmcsim's fixture epoch: simulated time 0 is 2023-11-14T22:13:20Z.
EPOCH = 1_700_000_000


@pytest.fixture
def sim(bmc_sim_factory: Factory) -> Simulator:
    return bmc_sim_factory("supermicro-x11")


@pytest.fixture
def client(sim: Simulator) -> Iterator[BmcClient]:
    client = BmcClient("127.0.0.1", sim.port, "admin", "admin")
    client.connect()
    yield client
    client.close()


def _sel_requests(sim: Simulator, since: int) -> list[tuple[int, bytes]]:
    """(command, request data) of every storage request the BMC answered since ``since``."""
    return [(r.cmd, r.data) for r in sim.control.request_log(since=since) if r.netfn == 0x0A and r.kind == "ipmi"]


def test_unchanged_sel_costs_one_get_sel_info(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client)
    first = reader.read_new(None)
    # supermicro-x11 starts with three old records: they are the baseline, not news.
    assert first.baseline
    assert first.records == []
    assert first.position.entries == 3
    assert first.position.last_record_id == 3
    seq = sim.control.last_seq()
    again = reader.read_new(first.position)
    assert again.records == []
    assert again.position == first.position
    assert _sel_requests(sim, seq) == [(0x40, b"")]


def test_only_new_records_are_read_and_decoded(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client)
    position = reader.read_new(None).position
    intrusion = sim.control.sensor("Chassis Intru")["number"]
    sim.control.set_intrusion(True)
    sim.control.add_sel_event("ecc_uncorrectable", dimm=5)
    seq = sim.control.last_seq()
    result = reader.read_new(position)
    # Get SEL Info, then the record read last (id 3) for its next id, then records 4 and 5, then the SEL clock.
    assert _sel_requests(sim, seq) == [
        (0x40, b""),
        (0x43, bytes.fromhex("0000 0300 00ff")),
        (0x43, bytes.fromhex("0000 0400 00ff")),
        (0x43, bytes.fromhex("0000 0500 00ff")),
        (0x48, b""),
    ]
    assert result.bmc_time == EPOCH
    assert (result.baseline, result.cleared, result.lost) == (False, False, False)
    first, second = result.records
    assert (first.record_id, first.record_type, first.sensor_type, first.sensor_number) == (4, 0x02, 0x05, intrusion)
    assert (first.event_type, first.offset, first.deassertion) == (0x6F, 0, False)
    assert first.sensor_key == f"20_0_{intrusion}"
    assert first.time == datetime.fromtimestamp(EPOCH, UTC)
    assert first.evm_revision == 0x04
    assert not first.generator_is_software
    # The memory event comes from the BIOS (software id), with the DIMM in event data 3.
    assert (second.sensor_type, second.offset, second.data3) == (0x0C, 1, 5)
    assert second.generator_is_software
    assert second.sensor_key is None
    assert second.data2 is None
    assert result.position.last_record_id == 5
    assert result.position.entries == 5
    assert reader.read_new(result.position).records == []


def test_position_survives_a_restart(sim: Simulator) -> None:
    client = BmcClient("127.0.0.1", sim.port, "admin", "admin")
    try:
        position = SelReader(client).read_new(None).position
        sim.control.add_sel_event("lockout", user=3)
        result = SelReader(client).read_new(position)
        stored = json.dumps(result.position.as_dict())
    finally:
        client.close()
    # Home Assistant restarts: a new client and reader, the stored position read back.
    restarted = BmcClient("127.0.0.1", sim.port, "admin", "admin")
    try:
        again = SelReader(restarted).read_new(SelPosition.from_dict(json.loads(stored)))
        assert again.records == []
        sim.control.add_sel_event("login_failed", user=4)
        newer = SelReader(restarted).read_new(again.position)
        assert [(r.sensor_type, r.offset, r.data2) for r in newer.records] == [(0x2A, 2, 4)]
    finally:
        restarted.close()


def test_clear_is_noticed_and_records_after_it_are_new(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client)
    position = reader.read_new(None).position
    sim.control.clear_sel()
    cleared = reader.read_new(position)
    assert cleared.cleared
    assert cleared.records == []
    assert cleared.position.last_record_id is None
    sim.control.tick(1)
    sim.control.add_sel_event("psu_failure", psu=0)
    after = reader.read_new(cleared.position)
    assert not after.cleared
    assert [(r.sensor_type, r.offset) for r in after.records] == [(0x08, 1)]
    # Cleared again, and a record added before the next read: only that record is new.
    sim.control.tick(1)
    sim.control.clear_sel()
    sim.control.add_sel_event("intrusion")
    again = reader.read_new(after.position)
    assert again.cleared
    assert [(r.sensor_type, r.offset) for r in again.records] == [(0x05, 0)]


def test_record_read_last_vanishing_without_erase_stamp(sim: Simulator, client: BmcClient) -> None:
    """Two clears within one second keep the erase stamp: the reader finds its last record gone."""
    reader = SelReader(client)
    sim.control.clear_sel()
    sim.control.add_sel_event("intrusion")
    position = reader.read_new(reader.read_new(None).position).position
    sim.control.clear_sel()  # same simulated second: Get SEL Info shows the same erase time
    sim.control.add_sel_event("ecc_correctable", dimm=1)  # logged in the same second as the old record
    sim.control.tick(5)
    sim.control.add_sel_event("ecc_uncorrectable", dimm=2)
    result = reader.read_new(position)
    assert result.lost
    assert not result.cleared
    assert [(r.sensor_type, r.offset, r.data3) for r in result.records] == [(0x0C, 1, 2)]
    assert reader.read_new(result.position).records == []


def test_record_ids_wrapping_past_fffe(sim: Simulator, client: BmcClient) -> None:
    """Record ids run 0001h-FFFEh and start again at 0001h; the next-record chain is followed across."""
    last_id = 0
    while last_id < 0xFFF0 - 1024:
        sim.control.fill_sel()
        sim.control.clear_sel()
        last_id = sim.control.add_sel_event("intrusion")["record_id"]
    while last_id < 0xFFF0:
        if (entry := sim.control.add_sel_event("intrusion")) is None:
            sim.control.clear_sel()
        else:
            last_id = entry["record_id"]
    sim.control.clear_sel()
    reader = SelReader(client)
    position = reader.read_new(None).position
    for _ in range(20):
        sim.control.add_sel_event("login_failed", user=2)
    result = reader.read_new(position)
    ids = [r.record_id for r in result.records]
    assert len(ids) == 20
    assert ids[0] > 0xFFF0
    assert 0xFFFE in ids
    assert 0x0001 in ids
    assert reader.read_new(result.position).records == []


def test_overflow_and_nearly_full(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client)
    info = reader.info()
    assert (info.entries, info.capacity, info.nearly_full, info.full) == (3, 512, False, False)
    for _ in range(458):
        sim.control.add_sel_event("ecc_correctable")
    info = reader.info()
    assert info.entries == 461
    assert info.used_fraction == pytest.approx(461 / 512)
    assert info.nearly_full
    assert not info.full
    sim.control.fill_sel()
    assert sim.control.add_sel_event("intrusion") is None  # dropped: the SEL is full
    info = reader.info()
    assert (info.overflow, info.full, info.used_fraction) == (True, True, 1.0)


def test_long_reads_stop_and_continue(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client, max_records=4)
    position = reader.read_new(None).position
    for user in range(1, 8):
        sim.control.add_sel_event("login_failed", user=user)
    first = reader.read_new(position)
    assert [r.data2 for r in first.records] == [1, 2, 3, 4]
    assert not first.position.complete
    second = reader.read_new(first.position)
    assert [r.data2 for r in second.records] == [5, 6, 7]
    assert second.position.complete


def test_a_cancelled_reservation_is_renewed(sim: Simulator, client: BmcClient) -> None:
    """Another client's Reserve SEL cancels ours (C5h) once: the record is read again and nothing is lost."""
    reader = SelReader(client)
    position = reader.read_new(None).position
    sim.control.add_sel_event("ecc_correctable", dimm=7)
    sim.control.set_completion_code(0x0A, 0x43, 0xC5, count=1)
    result = reader.read_new(position)
    assert [(r.sensor_type, r.offset, r.data3) for r in result.records] == [(0x0C, 0, 7)]


def test_reservation_cancelled_every_time_gives_up(sim: Simulator, client: BmcClient) -> None:
    sim.control.set_completion_code(0x0A, 0x43, 0xC5)
    with pytest.raises(IpmiProtocolError, match="cancelled repeatedly"):
        SelReader(client).read_new(None)


def test_completion_codes_other_than_not_present_are_raised(sim: Simulator, client: BmcClient) -> None:
    sim.control.set_completion_code(0x0A, 0x43, 0xC0)
    with pytest.raises(IpmiCompletionCodeError) as err:
        SelReader(client).read_new(None)
    assert err.value.code == 0xC0


def test_empty_sel_then_first_record(sim: Simulator, client: BmcClient) -> None:
    sim.control.clear_sel()
    reader = SelReader(client)
    position = reader.read_new(None).position
    assert (position.last_record_id, position.entries) == (None, 0)
    sim.control.add_sel_event("ac_lost", psu=1)
    result = reader.read_new(position)
    assert [(r.sensor_type, r.offset) for r in result.records] == [(0x08, 3)]


def test_clear_sel_request_data() -> None:
    assert clear_sel_data(0x1234) == bytes.fromhex("3412 434c52 aa")
    assert clear_sel_data(0x0001, initiate=False) == bytes.fromhex("0100 434c52 00")


# -- decoding of what bmcsim does not produce --------------------------------------------------------------


def test_oem_records_keep_their_bytes() -> None:
    timestamped = bytes.fromhex("0a00 c1 00f15365 7c2a00 010203040506")
    record = SelRecord.decode(timestamped)
    assert (record.record_id, record.record_type, record.timestamp) == (10, 0xC1, 0x6553F100)
    assert not record.is_system_event
    assert (record.offset, record.data2, record.data3, record.sensor_key) == (None, None, None, None)
    assert record.raw == timestamped
    untimed = SelRecord.decode(bytes.fromhex("0b00 e0 11223344556677889900aabbcc"))
    assert (untimed.timestamp, untimed.time) == (None, None)


def test_threshold_record_fields() -> None:
    """A BMC's upper critical going high event: trigger reading in data 2, threshold in data 3 (§29.7)."""
    record = SelRecord.decode(bytes.fromhex("2000 02 00f15365 2000 04 01 01 01 59 60 5f"))
    assert (record.event_type, record.offset, record.data2, record.data3) == (0x01, 9, 0x60, 0x5F)
    assert record.sensor_key == "20_0_1"
    # LUN 2 of controller 0x2C on channel 0 (generator byte 2 = 0x02).
    other = SelRecord.decode(bytes.fromhex("2100 02 00f15365 2c02 04 01 07 81 09 ff ff"))
    assert other.sensor_key == "2c_2_7"
    assert other.deassertion


@pytest.mark.parametrize("length", [0, 15])
def test_short_records_are_refused(length: int) -> None:
    with pytest.raises(IpmiProtocolError):
        SelRecord.decode(bytes(length))


def test_sel_info_decoding() -> None:
    info = SelInfo.decode(bytes.fromhex("51 0a00 ffff 00f15365 ffffffff 0a"))
    assert (info.entries, info.capacity, info.used_fraction, info.nearly_full) == (10, None, 0.0, False)
    assert (info.last_add, info.last_erase, info.supports_reserve, info.supports_delete) == (
        0x6553F100,
        None,
        True,
        True,
    )
    empty_full = SelInfo.decode(bytes.fromhex("51 0000 0000 ffffffff ffffffff 00"))
    assert (empty_full.capacity, empty_full.used_fraction, empty_full.full) == (0, 1.0, True)
    with pytest.raises(IpmiProtocolError):
        SelInfo.decode(bytes(13))


def test_sel_time_of_unset_clocks() -> None:
    assert sel_time(None) is None
    assert sel_time(0xFFFFFFFF) is None
    assert sel_time(0x1000) is None  # counted from the SEL's initialisation, not from 1970
    assert sel_time(0x6553F100) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_position_from_stored_data() -> None:
    stored = {"last_record_id": 7, "last_timestamp": None, "entries": 7, "last_add": 5, "last_erase": None}
    position = SelPosition.from_dict(stored)
    assert position.complete
    assert position.as_dict() == {**stored, "complete": True}
    with pytest.raises(KeyError):
        SelPosition.from_dict({"entries": 1})


# -- answers no well-behaved peer gives ----------------------------------------------------------------------


class _ScriptedSel:
    """Answers SEL requests from fixed data, to reach answers bmcsim never gives (short, looping)."""

    def __init__(self, info: str, entries: dict[int, str], reserve: str = "0100") -> None:
        self.info = bytes.fromhex(info)
        self.entries = {key: bytes.fromhex(value) for key, value in entries.items()}
        self.reserve = bytes.fromhex(reserve)

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        assert netfn == 0x0A
        data = bytes(data)
        if command == 0x40:
            return self.info
        if command == 0x42:
            return self.reserve
        if command == 0x48:
            raise IpmiCompletionCodeError(netfn, command, 0xC1)  # no SEL clock
        record_id = data[2] | (data[3] << 8)
        if record_id not in self.entries:
            raise IpmiCompletionCodeError(netfn, command, 0xCB)
        return self.entries[record_id]


RECORD_1 = "0100 02 00f15365 2000 04 05 aa 6f 00 ff ff"
RECORD_2 = "0200 02 01f15365 2000 04 05 aa 6f 00 ff ff"


def test_a_looping_next_record_chain_ends() -> None:
    scripted = _ScriptedSel("51 0200 e01f 01f15365 ffffffff 02", {0: "0200" + RECORD_1, 2: "0000" + RECORD_2})
    scripted.entries[1] = scripted.entries[0]
    assert [r.record_id for r in SelReader(scripted).records()] == [1, 2]


def test_short_answers_are_protocol_errors() -> None:
    scripted = _ScriptedSel("51 0100 f01f 00f15365 ffffffff 02", {0: "ffff 0100 02"}, reserve="01")
    with pytest.raises(IpmiProtocolError, match="2 expected"):
        SelReader(scripted).reserve()
    with pytest.raises(IpmiProtocolError, match="truncated"):
        SelReader(scripted).entry(0)


def test_info_changed_without_new_records_keeps_the_last_record() -> None:
    """A BMC that moves its last-add time without a new record (e.g. one added and deleted at once)."""
    scripted = _ScriptedSel("51 0100 f01f 00f15365 ffffffff 02", {0: "ffff" + RECORD_1, 1: "ffff" + RECORD_1})
    scripted.entries[0xFFFF] = scripted.entries[1]
    reader = SelReader(scripted)
    position = reader.read_new(None).position
    scripted.info = bytes.fromhex("51 0100 f01f 05f15365 ffffffff 02")
    result = reader.read_new(position)
    assert result.records == []
    assert (result.position.last_record_id, result.position.last_add) == (1, 0x6553F105)


def test_records_without_time_are_never_taken_as_newer() -> None:
    """When the record read last is gone, only records with a later timestamp count as new."""
    scripted = _ScriptedSel(
        "51 0200 e01f 09f15365 ffffffff 02",
        {0: "0300 0300 e0 11223344556677889900aabbcc", 3: "ffff" + RECORD_2},
    )
    position = SelPosition(last_record_id=1, last_timestamp=0x6553F100, entries=1, last_add=0x6553F100, last_erase=None)
    result = SelReader(scripted).read_new(position)
    assert result.lost
    assert [r.record_id for r in result.records] == [2]


# -- readable sentences --------------------------------------------------------------------------------------


def _new_sentences(sim: Simulator, client: BmcClient, act: Callable[[], object]) -> list[str]:
    """Do ``act`` on the simulated server and return the sentences of the SEL records it logged."""
    reader = SelReader(client)
    position = reader.read_new(None).position
    act()
    sensors = client.sensors()
    return [decode_event(record, sensors).text for record in reader.read_new(position).records]


def test_sentences_of_sensor_specific_events(sim: Simulator, client: BmcClient) -> None:
    def act() -> None:
        sim.control.set_intrusion(True)
        sim.control.set_psu_failed(psu=0)
        sim.control.set_psu_failed(psu=0, failed=False)
        sim.control.set_psu_failed(psu=1, ac_lost=True)
        sim.control.add_sel_event("ecc_uncorrectable", dimm=5)
        sim.control.add_sel_event("login_failed", user=3)
        sim.control.add_sel_event("lockout", user=3)
        sim.control.add_sel_event("sel_full")

    assert _new_sentences(sim, client, act) == [
        "Chassis Intru: General chassis intrusion.",
        "PS1 Status: Power supply failure detected.",
        "PS1 Status: Power supply failure detected (deasserted).",
        "PS2 Status: Power supply input lost (AC/DC).",
        "Memory sensor 0xF0: Uncorrectable ECC or other uncorrectable memory error, DIMM 5.",
        "Session audit sensor 0xF1: Invalid user name or password, user 3, channel 1.",
        "Session audit sensor 0xF1: Invalid password disable, user 3, channel 1.",
        "Event logging disabled sensor 0xF2: SEL full.",
    ]


def test_sentences_of_threshold_events(sim: Simulator, client: BmcClient) -> None:
    def act() -> None:
        sim.control.set_temperature("CPU Temp", 92)
        sim.control.set_fan_failed("FAN2")
        sim.control.tick(30)  # the fan spins down over seconds

    assert _new_sentences(sim, client, act) == [
        # bmcsim logs the thresholds crossed in one step in alphabetical order.
        "CPU Temp: Upper critical going high, reading 92 °C, threshold 90 °C.",
        "CPU Temp: Upper non-critical going high, reading 92 °C, threshold 80 °C.",
        # The stopped fan slows down: each record carries the reading at the moment it crossed.
        "FAN2: Lower critical going low, reading 500 rpm, threshold 500 rpm.",
        "FAN2: Lower non-critical going low, reading 500 rpm, threshold 700 rpm.",
        "FAN2: Lower non-recoverable going low, reading 300 rpm, threshold 300 rpm.",
    ]


def test_decoded_event_fields(sim: Simulator, client: BmcClient) -> None:
    reader = SelReader(client)
    position = reader.read_new(None).position
    sim.control.set_temperature("CPU Temp", 101)
    sim.control.tick(1)
    events = [decode_event(r, client.sensors()) for r in reader.read_new(position).records]
    unr = events[-1]
    assert unr.sensor is not None
    assert (unr.sensor_name, unr.trigger, unr.threshold, unr.unit) == ("CPU Temp", 101.0, 100.0, "°C")
    assert unr.state is not None
    assert unr.state.key == "upper_non_recoverable_going_high"
    assert unr.severity == "critical"


def test_sentences_without_sdr_or_known_state() -> None:
    # A software-generated (BIOS) event about the BMC's memory sensor 0x10: found by number and type.
    memory = SelRecord.decode(bytes.fromhex("0100 02 00f15365 0100 04 0c 10 6f 30 ff 02"))
    dimm_sensor = _sdr_sensor("20_0_16", "DIMM Status", number=0x10, sensor_type=0x0C)
    assert decode_event(memory, [dimm_sensor]).text == (
        "DIMM Status: Correctable ECC or other correctable memory error, DIMM 2."
    )
    # A power supply configuration error with its error type; an offset the table reserves; an OEM table.
    config = SelRecord.decode(bytes.fromhex("0200 02 00f15365 2000 04 08 c8 6f 36 ff 03"))
    assert decode_event(config).text == "Power supply sensor 0xC8: Configuration error, rating mismatch."
    reserved = SelRecord.decode(bytes.fromhex("0300 02 00f15365 2000 04 05 aa 6f 0e ff ff"))
    event = decode_event(reserved)
    assert event.text == "Physical security sensor 0xAA: event offset 14 (event/reading type 6Fh)."
    assert (event.state, event.severity) == (None, "info")
    audit = SelRecord.decode(bytes.fromhex("0400 02 00f15365 2000 04 2a 01 6f f1 00 11"))
    assert decode_event(audit).text == (
        "Session audit sensor 0x01: Session deactivated, unknown user, channel 1, close session."
    )
    almost_full = SelRecord.decode(bytes.fromhex("0600 02 00f15365 2000 04 10 f2 6f 35 ff 5c"))
    assert decode_event(almost_full).text == "Event logging disabled sensor 0xF2: SEL almost full, 92 % full."
    # A threshold event of a sensor the SDR does not describe: no conversion, so no values.
    threshold = SelRecord.decode(bytes.fromhex("0500 02 00f15365 2000 04 01 30 01 59 60 5f"))
    assert decode_event(threshold).text == "Temperature sensor 0x30: Upper critical going high."


def test_oem_record_text() -> None:
    timestamped = decode_event(SelRecord.decode(bytes.fromhex("0a00 c1 00f15365 7c2a00 010203040506")))
    assert timestamped.text == "OEM record type C1h, manufacturer 10876: 01 02 03 04 05 06."
    assert (timestamped.sensor_name, timestamped.state) == ("OEM record", None)
    untimed = decode_event(SelRecord.decode(bytes.fromhex("0b00 e0 11223344556677889900aabbcc")))
    assert untimed.text == "OEM record type E0h: 11 22 33 44 55 66 77 88 99 00 aa bb cc."


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(96.0, "°C", "96 °C"), (1.26, "V", "1.26 V"), (12.185, "V", "12.19 V"), (-0.001, "°C", "0 °C"), (40, None, "40")],
)
def test_format_value(value: float, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


def _sdr_sensor(key: str, name: str, *, number: int, sensor_type: int) -> SdrSensor:
    return SdrSensor(
        key=key,
        record_id=1,
        name=name,
        owner=0x20,
        lun=0,
        number=number,
        entity_id=0x20,
        entity_instance=1,
        sensor_type=sensor_type,
        reading_type=0x6F,
        kind=SensorKind.DISCRETE,
        unit=None,
    )


def test_sel_clock_missing_or_short() -> None:
    assert SelReader(_ScriptedSel("51 0100 f01f 00f15365 ffffffff 02", {})).sel_time() is None
    short = _ScriptedSel("51 0100 f01f 00f15365 ffffffff 02", {})
    short.request = lambda netfn, command, data=(), *, lun=0: b"\x01\x02"  # type: ignore[method-assign]
    assert SelReader(short).sel_time() is None
