"""RMCP+ packets of an established session (IPMI 2.0 §13.6, §13.8), built and checked with known keys.

Every expected byte is written out here from the spec: the RMCP header and session header of Table 13-8, the IPMI
messages of Figure 13-4, the AES-CBC-128 pad of Table 13-20 and the AuthCodes of Table 13-18 (HMAC-SHA1-96 for
cipher suite 3, HMAC-SHA256-128 for cipher suite 17), decrypted and checked with ``cryptography`` and ``hmac``
directly, never through the code under test.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from custom_components.zephyr_ipmi.ipmi.rmcpplus import Response, RmcpPlusCodec

#: The BMC's session ID (carried by requests) and the console's (carried by answers).
BMC_SID = 0x0A0B0C0D
CONSOLE_SID = 0x11223344
#: K1 of a cipher suite 3 session (20 bytes, SHA-1) and of a suite 17 one (32 bytes, SHA-256); the AES key (K2[:16]).
K1_SHA1 = bytes(range(0x40, 0x54))
K1_SHA256 = bytes(range(0x60, 0x80))
AES_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")

#: Get Sensor Reading of sensor 5 with rqSeq 5 (IPMI 2.0 Figure 13-4, §35.14): rsAddr 20h, netFn 04h << 2, checksum,
#: rqAddr 81h, rqSeq 5 << 2, command 2Dh, sensor 05h, checksum.
GET_SENSOR_5 = bytes.fromhex("20 10 d0 81 14 2d 05 39")
#: Its answer: rqAddr 81h, netFn 05h << 2, checksum, rsAddr 20h, rqSeq 5 << 2, 2Dh, completion code 00h, reading 2Eh,
#: flags C0h, state 00h, checksum.
SENSOR_5_ANSWER = bytes.fromhex("81 14 6b 20 14 2d 00 2e c0 00 b1")
#: The answer to rqSeq 6 for sensor 6: reading 30h.
SENSOR_6_ANSWER = bytes.fromhex("81 14 6b 20 18 2d 00 30 c0 00 ab")


def _codec(*, sha256: bool = False, encrypted: bool = True) -> RmcpPlusCodec:
    return RmcpPlusCodec(
        bmc_session_id=BMC_SID,
        console_session_id=CONSOLE_SID,
        integrity_key=K1_SHA256 if sha256 else K1_SHA1,
        digest="sha256" if sha256 else "sha1",
        mac_length=16 if sha256 else 12,
        aes_key=AES_KEY if encrypted else None,
    )


def _decrypt(payload: bytes) -> bytes:
    """The plaintext of an encrypted payload (16-byte IV, then AES-CBC-128 ciphertext), its pad still on."""
    decryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(payload[:16])).decryptor()
    return decryptor.update(payload[16:]) + decryptor.finalize()


def _encrypt(plain: bytes, iv: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(plain) + encryptor.finalize()


def _answer(
    message: bytes,
    *,
    sequence: int,
    sha256: bool = False,
    session_id: int = CONSOLE_SID,
    payload_type: int = 0xC0,
    iv: bytes = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f"),
    length: int | None = None,
    payload: bytes | None = None,
    bad_mac: bool = False,
) -> bytes:
    """An answer from the BMC, sealed with the session's keys (each argument spoils one field on demand)."""
    if payload is None:
        if payload_type & 0x80:
            pad = -(len(message) + 1) % 16
            payload = _encrypt(message + bytes(range(1, pad + 1)) + bytes((pad,)), iv)
        else:
            payload = message
    body = bytes((0x06, payload_type)) + session_id.to_bytes(4, "little") + sequence.to_bytes(4, "little")
    body += (len(payload) if length is None else length).to_bytes(2, "little") + payload
    integrity_pad = -(len(body) + 2) % 4
    body += b"\xff" * integrity_pad + bytes((integrity_pad, 0x07))
    mac = hmac.new(K1_SHA256 if sha256 else K1_SHA1, body, hashlib.sha256 if sha256 else hashlib.sha1).digest()
    mac = mac[:16] if sha256 else mac[:12]
    if bad_mac:
        mac = bytes((mac[0] ^ 0x01,)) + mac[1:]
    return b"\x06\x00\xff\x07" + body + mac


SENSOR_5 = Response(netfn=0x05, command=0x2D, rq_seq=5, lun=0, code=0, data=bytes.fromhex("2e c0 00"))
SENSOR_6 = Response(netfn=0x05, command=0x2D, rq_seq=6, lun=0, code=0, data=bytes.fromhex("30 c0 00"))


def test_a_suite_3_request_is_the_spec_message_encrypted_and_signed() -> None:
    """Get Sensor Reading of sensor 5 (cipher suite 3): header, AES-CBC payload, integrity pad, HMAC-SHA1-96."""
    packet = _codec().request(7, 5, 0x04, 0x2D, b"\x05")
    # RMCP header, auth type RMCP+, payload type C0h (IPMI message, encrypted, authenticated), the BMC's session ID,
    # session sequence 7, payload length 32 (16-byte IV and one AES block).
    assert packet[:16] == bytes.fromhex("06 00 ff 07 06 c0 0d 0c 0b 0a 07 00 00 00 20 00")
    payload = packet[16:48]
    # The message, the AES pad 01h-07h and the pad length 07h (IPMI 2.0 Table 13-20).
    assert _decrypt(payload) == GET_SENSOR_5 + bytes.fromhex("01 02 03 04 05 06 07 07")
    # Integrity pad FFh FFh (auth type to next header: 48 bytes), pad length 02h, next header 07h, AuthCode.
    assert packet[48:52] == bytes.fromhex("ff ff 02 07")
    assert len(packet) == 52 + 12
    assert packet[52:] == hmac.new(K1_SHA1, packet[4:52], hashlib.sha1).digest()[:12]


def test_a_suite_17_request_is_signed_with_hmac_sha256_128() -> None:
    """Get Device ID with rqSeq 63 on LUN 2 (cipher suite 17): a 16-byte HMAC-SHA256 AuthCode."""
    packet = _codec(sha256=True).request(0x01020304, 63, 0x06, 0x01, b"", lun=2)
    assert packet[:16] == bytes.fromhex("06 00 ff 07 06 c0 0d 0c 0b 0a 04 03 02 01 20 00")
    # rsAddr 20h, netFn 06h << 2 | LUN 2, checksum, rqAddr 81h, rqSeq 63 << 2, Get Device ID, checksum; pad 01h-08h.
    assert _decrypt(packet[16:48]) == bytes.fromhex("20 1a c6 81 fc 01 82 01 02 03 04 05 06 07 08 08")
    assert packet[48:52] == bytes.fromhex("ff ff 02 07")
    assert len(packet) == 52 + 16
    assert packet[52:] == hmac.new(K1_SHA256, packet[4:52], hashlib.sha256).digest()[:16]


def test_consecutive_requests_each_carry_their_own_iv() -> None:
    """One AES-CBC context serves the whole session: each packet still decrypts on its own with its IV."""
    codec = _codec()
    first = codec.request(7, 5, 0x04, 0x2D, b"\x05")
    # A longer message: Get SDR (netfn 0Ah, 23h) with 6 data bytes spans one block and a pad of its own.
    second = codec.request(8, 6, 0x0A, 0x23, bytes.fromhex("01 00 02 00 00 10"))
    third = codec.request(9, 7, 0x04, 0x2D, b"\x05")
    assert _decrypt(first[16:48]) == GET_SENSOR_5 + bytes.fromhex("01 02 03 04 05 06 07 07")
    # 20 28 b8 81 18 23 | 01 00 02 00 00 10 | checksum 31h: 13 bytes, pad 01h-02h and pad length 02h.
    assert second[14:16] == bytes.fromhex("20 00")
    assert _decrypt(second[16:48]) == bytes.fromhex("20 28 b8 81 18 23 01 00 02 00 00 10 31 01 02 02")
    assert _decrypt(third[16:48]) == bytes.fromhex("20 10 d0 81 1c 2d 05 31 01 02 03 04 05 06 07 07")
    assert len({first[16:32], second[16:32], third[16:32]}) == 3  # a fresh IV per packet
    assert [p[10:14] for p in (first, second, third)] == [b"\x07\0\0\0", b"\x08\0\0\0", b"\x09\0\0\0"]


def test_a_session_without_confidentiality_sends_the_message_in_clear() -> None:
    packet = _codec(encrypted=False).request(7, 5, 0x04, 0x2D, b"\x05")
    # Payload type 40h (authenticated IPMI message), payload length 8, the message itself.
    assert packet[:16] == bytes.fromhex("06 00 ff 07 06 40 0d 0c 0b 0a 07 00 00 00 08 00")
    assert packet[16:24] == GET_SENSOR_5
    # 20 bytes from the auth type on, 2 of integrity pad, pad length 02h, next header 07h: 24, a multiple of 4.
    assert packet[24:28] == bytes.fromhex("ff ff 02 07")
    assert packet[28:] == hmac.new(K1_SHA1, packet[4:28], hashlib.sha1).digest()[:12]


@pytest.mark.parametrize("sha256", [False, True], ids=["suite-3", "suite-17"])
def test_the_bmcs_answer_is_accepted(sha256: bool) -> None:
    codec = _codec(sha256=sha256)
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=1, sha256=sha256)) == SENSOR_5
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=2, sha256=sha256)) == SENSOR_6


def test_a_clear_answer_of_a_session_without_confidentiality_is_accepted() -> None:
    codec = _codec(encrypted=False)
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=1, payload_type=0x40)) == SENSOR_5
    # An encrypted answer cannot be this session's.
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=2)) is None


def test_a_busy_answer_keeps_its_completion_code_and_lun() -> None:
    # netFn 05h << 2 | rqLUN 1, completion code C0h (node busy), no data.
    busy = bytes.fromhex("81 15 6a 20 15 2d c0 de")
    assert _codec().response(_answer(busy, sequence=1)) == Response(
        netfn=0x05, command=0x2D, rq_seq=5, lun=1, code=0xC0, data=b""
    )


#: Answers that are not this session's (or not whole): each differs from a good one in one field only.
DROPPED = {
    "wrong AuthCode": _answer(SENSOR_5_ANSWER, sequence=1, bad_mac=True),
    "another session's ID": _answer(SENSOR_5_ANSWER, sequence=1, session_id=CONSOLE_SID + 1),
    "unauthenticated": _answer(SENSOR_5_ANSWER, sequence=1, payload_type=0x80),
    "clear answer to an encrypted session": _answer(SENSOR_5_ANSWER, sequence=1, payload_type=0x40),
    "SOL payload": _answer(SENSOR_5_ANSWER, sequence=1, payload_type=0xC1),
    "payload length beyond the packet": _answer(SENSOR_5_ANSWER, sequence=1, length=200),
    "encrypted length not whole AES blocks": _answer(
        SENSOR_5_ANSWER, sequence=1, payload=_encrypt(SENSOR_5_ANSWER + bytes.fromhex("01 02 03 04 04"), bytes(16))[:-1]
    ),
    "IV only": _answer(SENSOR_5_ANSWER, sequence=1, payload=bytes(16)),
    "AES pad length over 15": _answer(
        SENSOR_5_ANSWER, sequence=1, payload=_encrypt(SENSOR_5_ANSWER + bytes.fromhex("01 02 03 04 10"), bytes(16))
    ),
    "bad IPMI header checksum": _answer(bytes.fromhex("81 14 6c 20 14 2d 00 2e c0 00 b1"), sequence=1),
    "bad IPMI data checksum": _answer(bytes.fromhex("81 14 6b 20 14 2d 00 2e c0 00 b2"), sequence=1),
    "message too short": _answer(bytes.fromhex("81 14 6b 20 14 2d 9f"), sequence=1),
    "not RMCP+ (IPMI 1.5 auth type)": b"\x06\x00\xff\x07\x00" + _answer(SENSOR_5_ANSWER, sequence=1)[5:],
    "not RMCP": b"\x06\x00\xff\x06" + _answer(SENSOR_5_ANSWER, sequence=1)[4:],
    "truncated": _answer(SENSOR_5_ANSWER, sequence=1)[:20],
}


@pytest.mark.parametrize("packet", DROPPED.values(), ids=DROPPED.keys())
def test_an_answer_that_is_not_the_sessions_is_dropped(packet: bytes) -> None:
    codec = _codec()
    assert codec.response(packet) is None
    # The session goes on: its next real answer is read as before.
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=2, iv=bytes.fromhex("11" * 16))) == SENSOR_6


def test_dropped_answers_leave_the_decryption_chain_intact() -> None:
    """One CBC decryption context serves the session: rejected packets, decrypted or not, must not disturb it.

    Between two good answers come answers the codec decrypts and then rejects (a bad checksum, a pad length over
    15: both carry the session's valid AuthCode, so only the BMC can send them) and ones it rejects before
    decrypting. Each good answer has its own IV and must read the same as with a fresh context.
    """
    codec = _codec()
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=1, iv=bytes.fromhex("01" * 16))) == SENSOR_5
    spoiled = [
        DROPPED["bad IPMI data checksum"],
        DROPPED["AES pad length over 15"],
        DROPPED["encrypted length not whole AES blocks"],
        DROPPED["wrong AuthCode"],
        bytes(range(64)),
        _answer(SENSOR_5_ANSWER, sequence=3, payload=bytes(range(48))),  # three blocks of noise, valid AuthCode
    ]
    for sequence, packet in enumerate(spoiled, start=2):
        assert codec.response(packet) is None, sequence
        assert codec.response(_answer(SENSOR_6_ANSWER, sequence=10 + sequence, iv=bytes((sequence,)) * 16)) == SENSOR_6
    # Two answers in a row with the same IV as each other and as the last ciphertext block: still independent.
    last = _answer(SENSOR_5_ANSWER, sequence=20, iv=bytes(16))
    assert codec.response(last) == SENSOR_5
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=21, iv=last[32:48])) == SENSOR_5


def test_a_replayed_answer_is_dropped_but_an_overtaken_one_is_not() -> None:
    """An answer 17 or more sequence numbers behind the newest is a replay; up to 16 behind, a late datagram."""
    codec = _codec()
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=100)) == SENSOR_5
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=83)) is None
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=84)) == SENSOR_6
    # The late one did not move the newest back.
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=83)) is None
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=101)) == SENSOR_5


def test_the_sequence_number_may_wrap() -> None:
    codec = _codec()
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=0xFFFFFFFF)) == SENSOR_5
    assert codec.response(_answer(SENSOR_6_ANSWER, sequence=1)) == SENSOR_6
    assert codec.response(_answer(SENSOR_5_ANSWER, sequence=2)) == SENSOR_5


def test_only_sha1_and_sha256_integrity() -> None:
    with pytest.raises(ValueError, match="md5"):
        RmcpPlusCodec(
            bmc_session_id=1, console_session_id=2, integrity_key=b"k" * 16, digest="md5", mac_length=12, aes_key=None
        )
