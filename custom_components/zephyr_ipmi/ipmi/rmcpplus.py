"""IPMI messages of an established RMCP+ session, built and checked without pyghmi (IPMI 2.0 §13.6, §13.8).

pyghmi establishes and authenticates each session (Open Session, RAKP 1-4, key derivation); once it is
established, ``RmcpPlusCodec`` wraps a request in the session's packet format and unwraps the BMC's answer with
that session's keys, so the hot path of a poll needs no thread hand-off (see ``session.CallingThreadTransport``).

Packet layout (IPMI 2.0 Table 13-8): RMCP header ``06 00 FF 07``; authentication type 06h (RMCP+); payload type
(bits 0-5: 00h IPMI message, bit 6 authenticated, bit 7 encrypted); session ID (4 bytes, little-endian: the
BMC's ID in a request, the console's in a response); session sequence number (4 bytes); payload length (2
bytes); payload (encrypted: a 16-byte IV and the AES-CBC-128 ciphertext of the message, its pad ``01 02 ..`` and
pad length, Table 13-20); integrity pad of FFh to a 4-byte boundary, pad length, next header 07h; AuthCode
(HMAC-SHA1-96 for cipher suite 3, HMAC-SHA256-128 for cipher suite 17; Table 13-18) over everything from the
authentication type on.

IPMI message (IPMI 2.0 Figure 13-4): request ``rsAddr, netFn/rsLUN, checksum, rqAddr, rqSeq/rqLUN, cmd, data,
checksum``; response ``rqAddr, netFn/rqLUN, checksum, rsAddr, rqSeq/rsLUN, cmd, completion code, data,
checksum``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .protocol import BMC_ADDRESS

#: RMCP header of an IPMI packet: version 06h, reserved, sequence FFh (no RMCP ACK), class 07h IPMI (ASF 2.0 §3.2).
RMCP_HEADER: Final = b"\x06\x00\xff\x07"
#: Authentication type of an RMCP+ packet (IPMI 2.0 Table 13-8).
AUTH_RMCP_PLUS: Final = 0x06
#: Payload type bits (IPMI 2.0 Table 13-16 and §13.6).
PAYLOAD_IPMI: Final = 0x00
PAYLOAD_AUTHENTICATED: Final = 0x40
PAYLOAD_ENCRYPTED: Final = 0x80
#: The console's software ID used as requester address (IPMI 2.0 §5.5: 81h, the first remote console ID).
CONSOLE_ADDRESS: Final = 0x81
#: AES-CBC-128 block and IV size (bytes).
AES_BLOCK: Final = 16
#: Next header byte after the integrity pad (IPMI 2.0 Table 13-8: always 07h).
NEXT_HEADER: Final = 0x07
#: A response whose session sequence number is further below the highest seen is dropped as a replay; less may be
#: a datagram overtaken by a later one (IPMI 2.0 §6.12.13 allows a window of 16 for this).
SEQUENCE_WINDOW: Final = 16


def checksum(data: bytes | bytearray) -> int:
    """Return the IPMI checksum of ``data``: the two's complement of its byte sum, modulo 256 (IPMI 2.0 §13.8)."""
    return -sum(data) & 0xFF


@dataclass(frozen=True, slots=True)
class Response:
    """One IPMI response message.

    ``netfn`` is the response netfn (odd), ``command`` the command byte, ``rq_seq`` the request sequence it answers
    (0-63), ``lun`` the requester LUN, ``code`` the completion code and ``data`` the response data after it.
    """

    netfn: int
    command: int
    rq_seq: int
    lun: int
    code: int
    data: bytes


class RmcpPlusCodec:
    """Builds the packets of one established RMCP+ session and checks the BMC's answers.

    ``bmc_session_id`` is the ID the BMC gave the session (sent in requests), ``console_session_id`` the one the
    console chose (carried by responses); ``integrity_key`` is K1 and ``aes_key`` the first 16 bytes of K2 (None
    when the session is not encrypted); ``digest`` is ``"sha1"`` (cipher suite 3) or ``"sha256"`` (cipher suite
    17) and ``mac_length`` the AuthCode length (12 or 16 bytes). The HMAC context is keyed once and copied per
    packet. Raises ``ValueError`` for a digest other than SHA-1 or SHA-256.
    """

    def __init__(
        self,
        *,
        bmc_session_id: int,
        console_session_id: int,
        integrity_key: bytes,
        digest: str,
        mac_length: int,
        aes_key: bytes | None,
    ) -> None:
        """Keep the session's IDs and keys; nothing is sent."""
        if digest not in ("sha1", "sha256"):
            raise ValueError(f"unsupported integrity digest {digest}")
        self._bmc_session_id = struct.pack("<I", bmc_session_id)
        self._console_session_id = console_session_id
        self._mac = hmac.new(integrity_key, digestmod=getattr(hashlib, digest))
        self._mac_length = mac_length
        self._aes = algorithms.AES(aes_key) if aes_key is not None else None
        # One CBC context each way for the whole session (building one per packet cost about a quarter of a
        # request's CPU). CBC chains: fed a random block R before a packet's plaintext, the encryptor outputs
        # E(R xor previous block), which serves as that packet's IV, then the packet's CBC ciphertext under that
        # IV. Fed a packet's IV and ciphertext, the decryptor outputs one block to discard, then the plaintext.
        # Both are only ever fed whole blocks, so no state carries over from one packet to the next but the chain.
        self._encryptor = self._decryptor = None
        if self._aes is not None:
            self._encryptor = Cipher(self._aes, modes.CBC(os.urandom(AES_BLOCK))).encryptor()
            self._decryptor = Cipher(self._aes, modes.CBC(bytes(AES_BLOCK))).decryptor()
        self._payload_type = PAYLOAD_IPMI | PAYLOAD_AUTHENTICATED | (PAYLOAD_ENCRYPTED if aes_key is not None else 0)
        self._highest_sequence: int | None = None

    def request(self, sequence: int, rq_seq: int, netfn: int, command: int, data: bytes, *, lun: int = 0) -> bytes:
        """Return the datagram of one request, addressed to the BMC (20h) from the console (81h).

        ``sequence`` is the session sequence number, ``rq_seq`` the request sequence (0-63), ``netfn`` the request
        netfn, ``command`` the command byte, ``data`` the request data and ``lun`` the responder LUN (0-3).
        """
        header = bytes((BMC_ADDRESS, (netfn << 2) | (lun & 0x03)))
        body = bytes((CONSOLE_ADDRESS, (rq_seq & 0x3F) << 2, command)) + data
        message = header + bytes((checksum(header),)) + body + bytes((checksum(body),))
        if self._encryptor is not None:
            pad = (AES_BLOCK - (len(message) + 1) % AES_BLOCK) % AES_BLOCK
            plain = message + bytes(range(1, pad + 1)) + bytes((pad,))
            payload = self._encryptor.update(os.urandom(AES_BLOCK) + plain)  # the IV, then the ciphertext
        else:
            payload = message
        packet = bytearray(RMCP_HEADER)
        packet.append(AUTH_RMCP_PLUS)
        packet.append(self._payload_type)
        packet += self._bmc_session_id
        packet += struct.pack("<IH", sequence & 0xFFFFFFFF, len(payload))
        packet += payload
        integrity_pad = (4 - (len(packet) - 2) % 4) % 4
        packet += b"\xff" * integrity_pad
        packet.append(integrity_pad)
        packet.append(NEXT_HEADER)
        mac = self._mac.copy()
        mac.update(memoryview(packet)[4:])
        packet += mac.digest()[: self._mac_length]
        return bytes(packet)

    def response(self, packet: bytes) -> Response | None:
        """Return the IPMI response carried by ``packet``, or None when it is not one of this session's answers.

        None for anything else on the wire: not RMCP+, not an IPMI message payload, unauthenticated, a wrong
        AuthCode, another session's ID, a replayed sequence number, a payload length or AES block that does not
        add up, an AES pad length over 15, or a message whose checksums fail (pyghmi skips those; a corrupted
        answer is dropped here like a lost one and the request is sent again).
        """
        mac_length = self._mac_length
        if len(packet) < 16 + mac_length or not packet.startswith(RMCP_HEADER) or packet[4] != AUTH_RMCP_PLUS:
            return None
        payload_type = packet[5]
        if payload_type & 0x3F != PAYLOAD_IPMI or not payload_type & PAYLOAD_AUTHENTICATED:
            return None
        mac = self._mac.copy()
        mac.update(memoryview(packet)[4:-mac_length])
        if not hmac.compare_digest(mac.digest()[:mac_length], packet[-mac_length:]):
            return None
        session_id, sequence, length = struct.unpack_from("<IIH", packet, 6)
        if session_id != self._console_session_id or 16 + length > len(packet) - mac_length:
            return None
        highest = self._highest_sequence
        if highest is not None and highest != 0xFFFFFFFF and sequence + SEQUENCE_WINDOW < highest:
            return None
        payload = packet[16 : 16 + length]
        if payload_type & PAYLOAD_ENCRYPTED:
            if self._decryptor is None or length < 2 * AES_BLOCK or length % AES_BLOCK:
                return None
            plain = self._decryptor.update(payload)[AES_BLOCK:]
            pad = plain[-1]  # the pad bytes themselves are not checked: pyghmi does not, and some BMCs differ
            if pad >= AES_BLOCK:
                return None
            payload = plain[: -1 - pad]
        elif self._decryptor is not None:
            return None  # the session was negotiated with confidentiality: a clear answer is not the BMC's
        if len(payload) < 8 or checksum(payload[:3]) or checksum(payload[3:]):
            return None
        if highest is None or sequence > highest or highest == 0xFFFFFFFF:
            self._highest_sequence = sequence
        return Response(
            netfn=payload[1] >> 2,
            command=payload[5],
            rq_seq=payload[4] >> 2,
            lun=payload[1] & 0x03,
            code=payload[6],
            data=bytes(payload[7:-1]),
        )
