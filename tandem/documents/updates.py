"""A strict structural check of Yjs update v1 encoding, before the CRDT library sees it.

Peers' updates are read here first: every var-int, length, string and struct is checked
against the encoding Yjs and yrs write (lib0 var-ints of at most 53 bits, UTF-8
strings, known struct and content kinds, non-zero lengths, clocks below 2^32 (yrs'
clock width), references that point strictly backwards within a client, no trailing
bytes).
What does not pass is refused with :class:`InvalidUpdate` and never reaches yrs, so
a fuzzed update cannot take the process down (see docs/durability.md for the pycrdt
defect this guards against).

The check also reports what an update depends on (:attr:`UpdateShape.needs`): for
each client, the clock the document must have reached before every struct, origin,
parent and deletion in the update can be integrated. The room holds an update whose
needs are unmet outside the document, and applies it once they are met.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["InvalidUpdate", "UpdateShape", "decode_state_vector", "inspect_update"]

MAX_SAFE_INTEGER = 2**53 - 1
MAX_CLOCK = 2**32 - 1
"""yrs keeps clocks in 32 bits; no real client gets near 4 billion clock ticks."""
MAX_ANY_DEPTH = 64
"""Deepest nesting of lib0 "any" values (JSON-like content) accepted."""

_GC, _DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC, _SKIP = range(11)
_TYPE_REFS_WITH_NAME = (3, 5)  # XmlElement and XmlHook carry a name
_MAX_TYPE_REF = 6  # Array, Map, Text, XmlElement, XmlFragment, XmlHook, XmlText


class InvalidUpdate(ValueError):
    """Bytes that are not a well-formed Yjs update (v1 encoding)."""


@dataclass(frozen=True)
class UpdateShape:
    """What a well-formed update carries and what it depends on."""

    clients: tuple[int, ...]
    """Clients whose structs the update carries."""
    needs: dict[int, int]
    """client -> clock the document's state vector must reach for the update to apply."""
    structs: int

    def missing(self, state: Mapping[int, int]) -> dict[int, int]:
        """The needs ``state`` (a decoded state vector) does not meet yet."""
        return {c: n for c, n in self.needs.items() if state.get(c, 0) < n}


class _Cursor:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)

    def byte(self) -> int:
        if self.pos >= self.end:
            raise InvalidUpdate("truncated")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self) -> int:
        data, pos = self.data, self.pos
        try:
            byte = data[pos]
            if byte < 0x80:
                self.pos = pos + 1
                return byte
            value, shift = byte & 0x7F, 7
            while True:
                pos += 1
                byte = data[pos]
                value |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
                if shift > 49:
                    raise InvalidUpdate("var-uint longer than 53 bits")
        except IndexError:
            raise InvalidUpdate("truncated var-uint") from None
        if value > MAX_SAFE_INTEGER:
            raise InvalidUpdate("var-uint larger than 2^53 - 1")
        self.pos = pos + 1
        return value

    def count(self) -> int:
        """A count of items that each take at least one byte."""
        value = self.uint()
        if value > self.end - self.pos:
            raise InvalidUpdate("count runs past the end of the update")
        return value

    def signed(self) -> None:
        byte = self.byte()
        shift = 6
        while byte & 0x80:
            byte = self.byte()
            shift += 7
            if shift > 53:
                raise InvalidUpdate("var-int longer than 53 bits")

    def skip(self, length: int) -> None:
        if self.pos + length > self.end:
            raise InvalidUpdate("length runs past the end of the update")
        self.pos += length

    def raw(self) -> bytes:
        length = self.uint()
        end = self.pos + length
        if end > self.end:
            raise InvalidUpdate("length runs past the end of the update")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def string(self) -> str:
        try:
            return self.raw().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidUpdate("string is not UTF-8") from exc

    def raw_string(self) -> None:
        """A string that is only checked (UTF-8), not used."""
        chunk = self.raw()
        if not chunk.isascii():
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidUpdate("string is not UTF-8") from exc

    def json_string(self) -> None:
        text = self.string()
        if text == "undefined":
            return
        try:
            json.loads(text)
        except ValueError as exc:
            raise InvalidUpdate("JSON content does not parse") from exc

    def any(self, depth: int = 0) -> None:
        if depth > MAX_ANY_DEPTH:
            raise InvalidUpdate(f"content nested deeper than {MAX_ANY_DEPTH}")
        kind = self.byte()
        if kind in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if kind == 125:
            self.signed()
        elif kind == 124:
            self.skip(4)
        elif kind in (123, 122):
            self.skip(8)
        elif kind == 119:
            self.string()
        elif kind == 118:
            for _ in range(self.count()):
                self.string()
                self.any(depth + 1)
        elif kind == 117:
            for _ in range(self.count()):
                self.any(depth + 1)
        elif kind == 116:
            self.raw()
        else:
            raise InvalidUpdate(f"unknown content value type {kind}")


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _item_content(cursor: _Cursor, ref: int) -> int:
    """Read one item's content; returns its length in clock units."""
    if ref == _DELETED:
        length = cursor.uint()
    elif ref == _JSON:
        length = cursor.count()
        for _ in range(length):
            cursor.json_string()
    elif ref == _BINARY:
        cursor.raw()
        length = 1
    elif ref == _STRING:
        return _utf16_length(cursor.string())  # yrs itself writes empty strings at times
    elif ref == _EMBED:
        cursor.json_string()
        length = 1
    elif ref == _FORMAT:
        cursor.string()
        cursor.json_string()
        length = 1
    elif ref == _TYPE:
        type_ref = cursor.uint()
        if type_ref > _MAX_TYPE_REF:
            raise InvalidUpdate(f"unknown shared type {type_ref}")
        if type_ref in _TYPE_REFS_WITH_NAME:
            cursor.string()
        length = 1
    elif ref == _ANY:
        length = cursor.count()
        for _ in range(length):
            cursor.any()
    elif ref == _DOC:
        raise InvalidUpdate("subdocuments are not accepted")
    else:
        raise InvalidUpdate(f"unknown struct kind {ref}")
    if length == 0:
        raise InvalidUpdate("empty item")
    return length


def _check_target(target: tuple[int, int], client: int, clock: int) -> None:
    if target[0] == client and target[1] >= clock:
        raise InvalidUpdate("an item refers to itself or a later item")


def _external_end(intervals: list[tuple[int, int]], start: int, end: int) -> int:
    """The end of the part of [start, end) the update itself does not provide (0: none)."""
    pieces = [(start, end)]
    for low, high in intervals:
        remaining = []
        for a, b in pieces:
            if high <= a or low >= b:
                remaining.append((a, b))
                continue
            if a < low:
                remaining.append((a, low))
            if high < b:
                remaining.append((high, b))
        pieces = remaining
    return max((b for _, b in pieces), default=0)


def inspect_update(update: bytes) -> UpdateShape:
    """Check ``update`` strictly; raise :class:`InvalidUpdate` if it is malformed."""
    cursor = _Cursor(update)
    provided: dict[int, list[tuple[int, int]]] = {}
    needs: dict[int, int] = {}
    refs: list[tuple[int, int]] = []
    structs = 0
    for _ in range(cursor.count()):
        count = cursor.count()
        client = cursor.uint()
        clock = cursor.uint()
        if clock > MAX_CLOCK:
            raise InvalidUpdate("clock beyond 2^32 - 1")
        if client in provided:
            raise InvalidUpdate(f"client {client} appears twice")
        intervals: list[tuple[int, int]] = []
        provided[client] = intervals
        if clock > 0:
            needs[client] = clock
        run_start = clock
        data, end = cursor.data, cursor.end
        for _ in range(count):
            # Hot loop: one-byte var-uints (nearly all of them) are read inline.
            if cursor.pos >= end:
                raise InvalidUpdate("truncated")
            info = data[cursor.pos]
            cursor.pos += 1
            ref = info & 0x1F
            if ref == _GC or ref == _SKIP:
                if info & 0xE0:
                    raise InvalidUpdate("flags on a GC or skip struct")
                length = cursor.uint()
                if length == 0:
                    raise InvalidUpdate("empty struct")
                if ref == _SKIP:
                    if clock > run_start:
                        intervals.append((run_start, clock))
                    run_start = clock + length
                    needs[client] = max(needs.get(client, 0), run_start)
            else:
                if info & 0xC0:
                    if info & 0x80:
                        target = (cursor.uint(), cursor.uint())
                        if target[0] != client or target[1] < run_start or target[1] >= clock:
                            _check_target(target, client, clock)
                            refs.append(target)
                    if info & 0x40:
                        target = (cursor.uint(), cursor.uint())
                        if target[0] != client or target[1] < run_start or target[1] >= clock:
                            _check_target(target, client, clock)
                            refs.append(target)
                else:
                    parent = cursor.uint()
                    if parent == 1:
                        cursor.raw_string()
                    elif parent == 0:
                        target = (cursor.uint(), cursor.uint())
                        if target[0] != client or target[1] < run_start or target[1] >= clock:
                            _check_target(target, client, clock)
                            refs.append(target)
                    else:
                        raise InvalidUpdate("unknown parent kind")
                    if info & 0x20:
                        cursor.raw_string()
                length = _item_content(cursor, ref)
            clock += length
            if clock > MAX_CLOCK:
                raise InvalidUpdate("clock beyond 2^32 - 1")
            structs += 1
        if clock > run_start:
            intervals.append((run_start, clock))
    deletions: list[tuple[int, int, int]] = []
    for _ in range(cursor.count()):
        client = cursor.uint()
        for _ in range(cursor.count()):
            start = cursor.uint()
            length = cursor.uint()
            if length == 0 or start + length > MAX_CLOCK:
                raise InvalidUpdate("bad deletion range")
            deletions.append((client, start, start + length))
    if cursor.pos != cursor.end:
        raise InvalidUpdate("trailing bytes after the update")
    for ref_client, ref_clock in refs:
        end = _external_end(provided.get(ref_client, []), ref_clock, ref_clock + 1)
        if end > needs.get(ref_client, 0):
            needs[ref_client] = end
    for client, start, end in deletions:
        end = _external_end(provided.get(client, []), start, end)
        if end > needs.get(client, 0):
            needs[client] = end
    return UpdateShape(tuple(provided), needs, structs)


def decode_state_vector(data: bytes) -> dict[int, int]:
    """A state vector (client -> next clock); raises :class:`InvalidUpdate` if malformed."""
    cursor = _Cursor(data)
    state: dict[int, int] = {}
    for _ in range(cursor.count()):
        client = cursor.uint()
        state[client] = cursor.uint()
    if cursor.pos != cursor.end:
        raise InvalidUpdate("trailing bytes after the state vector")
    return state
