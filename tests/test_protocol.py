"""The y-websocket wire protocol: round trips and strict decoding, in process."""

from __future__ import annotations

import json

import pytest

from tandem.protocol import (
    MAX_VAR_UINT_BYTES,
    AwarenessEntry,
    MessageType,
    ProtocolError,
    Reader,
    SyncType,
    decode_awareness,
    encode_awareness,
    encode_raw_json,
    encode_sync,
    encode_var_bytes,
    encode_var_string,
    encode_var_uint,
)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**49])
def test_var_uint_round_trips(value: int) -> None:
    reader = Reader(encode_var_uint(value))
    assert reader.var_uint() == value
    reader.expect_end()


def test_var_uint_encoding_matches_lib0() -> None:
    assert encode_var_uint(0) == b"\x00"
    assert encode_var_uint(127) == b"\x7f"
    assert encode_var_uint(128) == b"\x80\x01"
    assert encode_var_uint(300) == b"\xac\x02"
    with pytest.raises(ValueError):
        encode_var_uint(-1)


def test_strings_are_counted_in_utf8_bytes() -> None:
    encoded = encode_var_string("ünï ✓")
    assert encoded[0] == len("ünï ✓".encode())
    assert Reader(encoded).var_string() == "ünï ✓"


@pytest.mark.parametrize(
    "data, read",
    [
        (b"", "var_uint"),
        (b"\x80", "var_uint"),
        (b"\xff" * (MAX_VAR_UINT_BYTES + 1), "var_uint"),
        (b"\x05abc", "var_bytes"),
        (encode_var_bytes(b"\xff\xfe"), "var_string"),
    ],
    ids=["empty", "truncated", "too-long", "past-the-end", "not-utf8"],
)
def test_malformed_input_raises_protocol_error(data: bytes, read: str) -> None:
    with pytest.raises(ProtocolError):
        getattr(Reader(data), read)()


def test_trailing_bytes_are_refused() -> None:
    reader = Reader(encode_var_uint(1) + b"x")
    reader.var_uint()
    with pytest.raises(ProtocolError, match="trailing"):
        reader.expect_end()


def test_sync_and_raw_frames_have_the_documented_layout() -> None:
    frame = encode_sync(SyncType.UPDATE, b"\x01\x02")
    reader = Reader(frame)
    assert (reader.var_uint(), reader.var_uint(), reader.var_bytes()) == (
        MessageType.SYNC,
        SyncType.UPDATE,
        b"\x01\x02",
    )
    reader.expect_end()
    raw = Reader(encode_raw_json({"type": "save", "responseTo": 3}))
    assert raw.var_uint() == MessageType.RAW
    assert json.loads(raw.var_string()) == {"type": "save", "responseTo": 3}


def test_awareness_round_trips_and_gone_states_are_null() -> None:
    entries = [AwarenessEntry(7, 1, {"cursor": 2}), AwarenessEntry(2**40, 9, None)]
    reader = Reader(encode_awareness(entries))
    assert reader.var_uint() == MessageType.AWARENESS
    assert decode_awareness(reader.var_bytes()) == entries


@pytest.mark.parametrize(
    "body",
    [
        b"\x01\x01\x01" + encode_var_bytes(b"{nope"),  # not JSON
        b"\x01\x01\x01" + encode_var_bytes(b"[1, 2]"),  # JSON but not an object
        b"\x02\x01\x01" + encode_var_bytes(b"{}"),  # announces two, holds one
        b"\x01\x01\x01" + encode_var_bytes(b"{}") + b"x",  # trailing bytes
    ],
    ids=["not-json", "not-object", "short-count", "trailing"],
)
def test_malformed_awareness_raises_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_awareness(body)
