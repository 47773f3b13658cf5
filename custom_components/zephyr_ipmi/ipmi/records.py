"""Reads of data a BMC serves in pieces: SDR repository records, SEL entries and FRU inventory bytes.

The rules every such read follows are written once here:

* A BMC may refuse to return as many bytes as asked (completion codes C7h, C8h, CAh, FFh): the
  read is retried with half the count, down to ``MIN_CHUNK`` bytes (``ChunkSize``, ``read_chunked``).
* SDR and SEL records (``RecordWalker``) are first read whole: Get SDR / Get SEL Entry at offset 0
  with "FFh = entire record" (IPMI 2.0 §33.12, §31.5). A read at offset 0 needs no reservation, so
  a slow BMC whose retransmitted Reserve requests cancel each other's reservations is still read.
  A BMC that refuses or cuts whole reads is read in pieces from then on: the header, then the rest in
  chunks, the pieces after the first carrying a reservation (Reserve SDR Repository §33.11, Reserve SEL
  §31.4). A cancelled reservation (C5h) is renewed and the record read again from its start.
* A walk follows "next record id" from 0000h to FFFFh and stops at a record id seen before or after
  ``MAX_RECORDS`` records, so a BMC whose chain loops cannot hang a caller.

Any object with the ``Requester`` method works as the transport, e.g. ``BmcClient`` (``request`` on its
confirmed session). A SEL reader walks the SEL with::

    walker = RecordWalker(client, SEL)
    for record in walker.walk():  # Record(record_id, next_id, data): data is the 16-byte SEL entry
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from .errors import IpmiCompletionCodeError, IpmiProtocolError
from .protocol import (
    CC_NOT_PRESENT,
    CC_RESERVATION_CANCELLED,
    CC_TOO_LONG,
    CMD_GET_SDR,
    CMD_GET_SEL_ENTRY,
    CMD_RESERVE_SDR_REPO,
    CMD_RESERVE_SEL,
    NETFN_STORAGE,
)

#: Bytes asked per piece at first; many BMCs refuse more than about 32.
READ_CHUNK = 32
#: Smallest piece asked for before a "too long" answer is taken as a real error.
MIN_CHUNK = 8
#: Count byte meaning "the entire record" in Get SDR and Get SEL Entry (IPMI 2.0 §33.12, §31.5).
WHOLE_RECORD = 0xFF
#: Record id of the first record, and the "next record id" that ends a walk.
FIRST_RECORD, LAST_RECORD = 0x0000, 0xFFFF
#: Upper bound on records walked, so a BMC whose "next record id" chain loops cannot hang a caller.
MAX_RECORDS = 2048
#: Reads of one record tried with a renewed reservation before giving up (C5h every time).
RESERVATION_ATTEMPTS = 4


class Requester(Protocol):
    """Sends one IPMI request and returns the response data after the completion code.

    Raises ``IpmiCompletionCodeError`` for a non-zero completion code and ``IpmiConnectionError`` when the
    BMC does not answer. ``BmcClient`` is one.
    """

    def request(self, netfn: int, command: int, data: bytes | tuple[int, ...] = (), *, lun: int = 0) -> bytes:
        """Send ``command`` of ``netfn`` with ``data`` to ``lun``; return the response data."""
        ...  # pragma: no cover - protocol


@runtime_checkable
class BatchRequester(Requester, Protocol):
    """A ``Requester`` that can also send several requests at once (``LanplusSession.request_many``)."""

    def request_many(
        self, requests: list[tuple[int, int, bytes, int]], *, urgent: bool = False
    ) -> list[bytes | IpmiCompletionCodeError]:
        """Send (netfn, command, data, lun) requests; return each one's data or completion code error, in order.

        An ``urgent`` batch goes before another batch under way (between two of its requests).

        Raises ``IpmiConnectionError`` when the BMC does not answer.
        """
        ...  # pragma: no cover - protocol


class ChunkSize:
    """The largest piece a BMC answers (bytes): ``READ_CHUNK`` at first, halved on each refusal."""

    def __init__(self, size: int = READ_CHUNK) -> None:
        """Start with pieces of ``size`` bytes."""
        self.size = size

    def shrink(self, err: IpmiCompletionCodeError) -> bool:
        """Halve the size for a "too long" completion code; False when it is another code or already minimal."""
        if err.code in CC_TOO_LONG and self.size > MIN_CHUNK:
            self.size //= 2
            return True
        return False


def read_chunked(
    fetch: Callable[[int, int], bytes], start: int, end: int, chunk: ChunkSize, *, short_ends: bool = False
) -> bytes:
    """Read bytes ``start`` … ``end - 1`` with ``fetch(offset, count)``, in pieces of ``chunk.size`` bytes.

    ``fetch`` returns the bytes read (possibly fewer than asked). An empty piece ends the read; with
    ``short_ends`` any piece shorter than asked ends it too (SDR and SEL answers are only short at a
    record's end). A "too long" completion code halves ``chunk`` and asks again; other codes propagate.
    Returns the bytes read, which may be fewer than asked.
    """
    out = bytearray()
    offset = start
    while offset < end:
        want = min(chunk.size, end - offset)
        try:
            got = fetch(offset, want)[:want]
        except IpmiCompletionCodeError as err:
            if chunk.shrink(err):
                continue
            raise
        out += got
        offset += len(got)
        if not got or (short_ends and len(got) < want):
            break
    return bytes(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordRepository:
    """A store of records read by id with a reservation: the SDR repository or the SEL.

    Both share one request layout (reservation id, record id, offset, count; each 16-bit field LS byte
    first) and one response layout (next record id, then the record's bytes). ``header_length`` is how
    many bytes tell a record's length; ``length_byte`` the header byte holding the length of the rest
    (None: every record is ``header_length`` bytes, as SEL entries are).
    """

    name: str
    netfn: int
    reserve_command: int
    get_command: int
    header_length: int
    length_byte: int | None

    def record_length(self, header: bytes) -> int:
        """Return a record's total length (bytes) from its first ``header_length`` bytes."""
        if self.length_byte is None:
            return self.header_length
        return self.header_length + header[self.length_byte]


#: The SDR repository: Reserve SDR Repository / Get SDR (IPMI 2.0 §33.11-33.12); a 5-byte header whose
#: last byte is the length of the rest (§43).
SDR_REPOSITORY = RecordRepository(
    name="SDR",
    netfn=NETFN_STORAGE,
    reserve_command=CMD_RESERVE_SDR_REPO,
    get_command=CMD_GET_SDR,
    header_length=5,
    length_byte=4,
)
#: The System Event Log: Reserve SEL / Get SEL Entry (IPMI 2.0 §31.4-31.5); 16-byte entries (§32).
SEL = RecordRepository(
    name="SEL",
    netfn=NETFN_STORAGE,
    reserve_command=CMD_RESERVE_SEL,
    get_command=CMD_GET_SEL_ENTRY,
    header_length=16,
    length_byte=None,
)


class Record(NamedTuple):
    """One record read by ``RecordWalker``: its id, the id of the record after it, and its bytes.

    ``record_id`` is the id the record carries (its first two bytes, LS byte first, in SDR and SEL
    records alike), so the first record of a walk from 0000h reports its real id.
    """

    record_id: int
    next_id: int
    data: bytes


class RecordWalker:
    """Reads the records of one repository (SDR or SEL) through a ``Requester``.

    Not thread-safe: use one walker per walk. It keeps what it learned about the BMC (whether whole
    reads work, the piece size, the reservation) across records. Raises ``IpmiCompletionCodeError`` for
    completion codes it cannot handle, ``IpmiProtocolError`` for malformed answers or reservations
    cancelled ``RESERVATION_ATTEMPTS`` times in a row, ``IpmiConnectionError`` when the BMC is lost.
    """

    def __init__(
        self,
        requester: Requester,
        repository: RecordRepository,
        *,
        max_records: int = MAX_RECORDS,
    ) -> None:
        """Walk ``repository`` through ``requester``, at most ``max_records`` records per walk."""
        self._requester = requester
        self.repository = repository
        self.max_records = max_records
        self.chunk = ChunkSize()
        self.whole_records = True
        """False once the BMC refused or cut a whole-record read; pieces are read from then on."""
        self._reservation: int | None = None

    def walk(self, first: int = FIRST_RECORD) -> Iterator[Record]:
        """Yield the records from record id ``first`` (0000h: the first one) to the end of the chain.

        An empty repository (the first read answers CBh, "not present") yields nothing.
        """
        seen: set[int] = set()
        record_id = first
        while record_id != LAST_RECORD and len(seen) < self.max_records and record_id not in seen:
            seen.add(record_id)
            try:
                next_id, data = self.read(record_id)
            except IpmiCompletionCodeError as err:
                if err.code == CC_NOT_PRESENT and len(seen) == 1:
                    return
                raise
            yield Record(data[0] | (data[1] << 8), next_id, data)
            record_id = next_id

    def records(self, first: int = FIRST_RECORD) -> list[bytes]:
        """Return the bytes of every record from ``first`` on (see ``walk``)."""
        return [record.data for record in self.walk(first)]

    def read(self, record_id: int) -> tuple[int, bytes]:
        """Read one record; return (next record id, the record's bytes, header included)."""
        for _attempt in range(RESERVATION_ATTEMPTS):
            try:
                return self._read(record_id)
            except IpmiCompletionCodeError as err:
                if err.code != CC_RESERVATION_CANCELLED:
                    raise
                self._reservation = None
        raise IpmiProtocolError(f"{self.repository.name} reservation cancelled repeatedly")

    def _read(self, record_id: int) -> tuple[int, bytes]:
        repo = self.repository
        if self.whole_records:
            try:
                next_id, data = self._get(record_id, 0, WHOLE_RECORD)
            except IpmiCompletionCodeError as err:
                if err.code not in CC_TOO_LONG:
                    raise
                self.whole_records = False
            else:
                if len(data) >= repo.header_length and len(data) >= (length := repo.record_length(data)):
                    return next_id, data[:length]
                # The BMC cut the record short (its message size limit): read it in pieces from now on.
                self.whole_records = False
        next_ids: list[int] = []

        def fetch(offset: int, count: int) -> bytes:
            next_id, data = self._get(record_id, offset, count)
            next_ids.append(next_id)
            return data

        header = read_chunked(fetch, 0, repo.header_length, self.chunk, short_ends=True)
        if len(header) < repo.header_length:
            raise IpmiProtocolError(f"{repo.name} record header truncated")
        length = repo.record_length(header)
        record = header + read_chunked(fetch, repo.header_length, length, self.chunk, short_ends=True)
        if len(record) < length:
            raise IpmiProtocolError(f"{repo.name} record 0x{record_id:04X} truncated")
        return next_ids[0], record

    def _get(self, record_id: int, offset: int, count: int) -> tuple[int, bytes]:
        """One Get SDR / Get SEL Entry; pieces at a non-zero offset carry a reservation."""
        repo = self.repository
        if offset and self._reservation is None:
            self._reservation = self._reserve()
        reservation = self._reservation or 0
        request = (reservation & 0xFF, reservation >> 8, record_id & 0xFF, record_id >> 8, offset, count)
        data = self._requester.request(repo.netfn, repo.get_command, request)
        if len(data) < 3:
            raise IpmiProtocolError(f"Get {repo.name} answered {len(data)} bytes")
        return data[0] | (data[1] << 8), data[2:]

    def _reserve(self) -> int:
        """Reserve the repository; a BMC without reservations (any completion code) gets reservation 0."""
        repo = self.repository
        try:
            data = self._requester.request(repo.netfn, repo.reserve_command)
        except IpmiCompletionCodeError:
            return 0
        return data[0] | (data[1] << 8) if len(data) >= 2 else 0
