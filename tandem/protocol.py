"""The y-websocket wire protocol, as jupyter-collaboration speaks it.

A message is a var-uint type followed by a type-specific payload:

- ``0`` sync: a var-uint sub-type (``0`` step 1, ``1`` step 2, ``2`` update) and a
  length-prefixed payload (a state vector for step 1, an update otherwise);
- ``1`` awareness: a length-prefixed awareness update;
- ``2`` raw: a length-prefixed UTF-8 string (jupyter-collaboration's save requests
  and JSON replies).

Decoding is strict: truncated var-ints, lengths running past the end, trailing bytes
and unknown types raise :class:`ProtocolError`, so a malformed frame can never be
half-applied. Lengths are always UTF-8 byte counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "AwarenessEntry",
    "MessageType",
    "ProtocolError",
    "SyncType",
    "Reader",
    "decode_awareness",
    "encode_awareness",
    "encode_raw_json",
    "encode_sync",
    "encode_var_bytes",
    "encode_var_string",
    "encode_var_uint",
]

MAX_VAR_UINT_BYTES = 8  # 56 bits: far beyond any legitimate length or clock


class ProtocolError(ValueError):
    """A frame that does not follow the protocol."""


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    RAW = 2


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


def encode_var_uint(value: int) -> bytes:
    if value < 0:
        raise ValueError("var-uint must be non-negative")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_var_bytes(data: bytes) -> bytes:
    return encode_var_uint(len(data)) + data


def encode_var_string(text: str) -> bytes:
    return encode_var_bytes(text.encode("utf-8"))


class Reader:
    """Strict cursor over one frame."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def var_uint(self) -> int:
        value = 0
        for i in range(MAX_VAR_UINT_BYTES):
            if self._pos >= len(self._data):
                raise ProtocolError("truncated var-uint")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if byte < 0x80:
                return value
        raise ProtocolError("var-uint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self._pos + length
        if end > len(self._data):
            raise ProtocolError("length runs past the end of the frame")
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    @property
    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def expect_end(self) -> None:
        if not self.at_end:
            raise ProtocolError("trailing bytes after message")


def encode_sync(sync_type: SyncType, payload: bytes) -> bytes:
    return bytes((MessageType.SYNC, sync_type)) + encode_var_bytes(payload)


def encode_raw_json(message: dict[str, Any]) -> bytes:
    return encode_var_uint(MessageType.RAW) + encode_var_string(json.dumps(message))


@dataclass(frozen=True)
class AwarenessEntry:
    """One client's awareness state: ``state`` is ``None`` when the client left."""

    client_id: int
    clock: int
    state: dict[str, Any] | None


MAX_SAFE_INTEGER = 2**53 - 1
"""JavaScript's largest exact integer: client ids and clocks past it do not round-trip."""


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(f"awareness state holds {name}, which JSON.parse rejects")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ProtocolError("awareness state holds a number out of range")
    return value


def decode_awareness(payload: bytes, max_state_bytes: int | None = None) -> list[AwarenessEntry]:
    """Entries of an awareness update. Refused (:class:`ProtocolError`): client ids and
    clocks past 2^53 - 1, states that are not a JSON object or null, hold NaN or
    Infinity, nest too deep, or (with ``max_state_bytes``) are longer than that."""
    reader = Reader(payload)
    count = reader.var_uint()
    entries = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        if client_id > MAX_SAFE_INTEGER or clock > MAX_SAFE_INTEGER:
            raise ProtocolError("awareness client id or clock past 2^53")
        raw = reader.var_bytes()
        if max_state_bytes is not None and len(raw) > max_state_bytes:
            raise ProtocolError(f"awareness state larger than {max_state_bytes} bytes")
        try:
            state = json.loads(
                raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc
        except ProtocolError:
            raise
        except RecursionError as exc:
            raise ProtocolError("awareness state nests too deep") from exc
        except ValueError as exc:  # not JSON, or an integer too long to convert
            raise ProtocolError("awareness state is not JSON") from exc
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state must be an object or null")
        entries.append(AwarenessEntry(client_id, clock, state))
    reader.expect_end()
    return entries


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    """A whole awareness message (type byte included)."""
    body = bytearray(encode_var_uint(len(entries)))
    for entry in entries:
        body += encode_var_uint(entry.client_id)
        body += encode_var_uint(entry.clock)
        body += encode_var_string(json.dumps(entry.state, separators=(",", ":"), allow_nan=False))
    return encode_var_uint(MessageType.AWARENESS) + encode_var_bytes(bytes(body))
