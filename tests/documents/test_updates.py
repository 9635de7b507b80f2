"""The strict check of Yjs updates: real updates pass, malformed ones never reach yrs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from pycrdt import Array, Doc, Map, Text

from tandem.documents.model import new_document
from tandem.documents.updates import (
    InvalidUpdate,
    UpdateShape,
    decode_state_vector,
    inspect_update,
)
from tandem.protocol import Reader, encode_var_string, encode_var_uint
from tests.rooms.frames import YRS_SEGFAULT


def payload(frame: bytes) -> bytes:
    reader = Reader(frame)
    reader.var_uint()
    reader.var_uint()
    return reader.var_bytes()


def rich_doc() -> Doc:
    doc = Doc(client_id=12)
    text = doc.get("t", type=Text)
    text += "héllo wörld ✓ 😀"
    text.insert(3, "ab")
    del text[0:1]
    meta = doc.get("m", type=Map)
    meta["json"] = {"a": [1, 2.5, None, True, "x"], "b": {"c": -7, "d": 2**40}}
    meta["list"] = Array([1, "two", Text("three")])
    meta["nested"] = Map({"k": Text("v")})
    meta["bytes"] = b"\x00\x01"
    del meta["json"]
    return doc


def notebook_doc() -> Doc:
    doc = Doc()
    notebook = new_document("notebook", doc)
    notebook.set(
        {
            "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
            "cells": [
                {"cell_type": "code", "source": "print(1)", "metadata": {}, "outputs": []},
                {"cell_type": "markdown", "source": "# Tïtle", "metadata": {}},
            ],
        }
    )
    return doc


@pytest.mark.parametrize("make", [rich_doc, notebook_doc])
def test_whole_documents_pass_with_nothing_missing(make):
    shape = inspect_update(make().get_update())
    assert isinstance(shape, UpdateShape)
    assert shape.needs == {} and shape.structs > 0


def test_incremental_updates_need_what_they_build_on():
    doc = Doc(client_id=5)
    text = doc.get("t", type=Text)
    text += "hello"
    state = doc.get_state()
    text += " world"
    shape = inspect_update(doc.get_update(state))
    assert shape.clients == (5,)
    assert shape.needs == {5: 5}
    assert shape.missing({5: 5}) == {} and shape.missing({}) == {5: 5}


def test_deletions_of_other_clients_items_are_dependencies():
    base = Doc(client_id=1)
    text = base.get("t", type=Text)
    text += "abcdef"
    other = Doc(client_id=2)
    other.apply_update(base.get_update())
    state = other.get_state()
    del other.get("t", type=Text)[1:3]
    shape = inspect_update(other.get_update(state))
    assert shape.needs == {1: 3}


def test_every_truncation_of_a_real_update_is_refused():
    update = rich_doc().get_update()
    for end in range(len(update)):
        with pytest.raises(InvalidUpdate):
            inspect_update(update[:end])


def test_trailing_bytes_are_refused():
    with pytest.raises(InvalidUpdate, match="trailing"):
        inspect_update(rich_doc().get_update() + b"\x00")


def struct(client: int, clock: int, body: bytes) -> bytes:
    return b"\x01\x01" + encode_var_uint(client) + encode_var_uint(clock) + body + b"\x00"


ROOT_T = b"\x01" + encode_var_string("t")  # parent: the root type named "t"


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (struct(2**53, 0, b"\x04" + ROOT_T + encode_var_string("x")), "2\\^53"),
        (b"\x01\x01" + b"\xff" * 9 + b"\x01", "53 bits"),
        (struct(1, 2**32, b"\x04" + ROOT_T + encode_var_string("x")), "2\\^32"),
        (struct(1, 0, b"\x0b" + ROOT_T), "unknown struct kind"),
        (struct(1, 0, b"\x09" + ROOT_T + encode_var_string("guid") + b"\x7e"), "subdocuments"),
        (struct(1, 0, b"\x07" + ROOT_T + b"\x09"), "unknown shared type"),
        (struct(1, 0, b"\x04" + ROOT_T + b"\x02\xc3\x28"), "UTF-8"),
        (struct(1, 0, b"\x08" + ROOT_T + b"\x01\x70"), "unknown content value"),
        (struct(1, 0, b"\x02" + ROOT_T + b"\x01" + encode_var_string("{nope")), "JSON"),
        (struct(1, 0, b"\x08" + ROOT_T + b"\x00"), "empty"),
        (struct(1, 0, b"\x01" + ROOT_T + b"\x00"), "empty"),
        (struct(1, 5, b"\x84\x01\x05" + encode_var_string("x")), "itself or a later"),
        (struct(1, 0, b"\x04\x02"), "parent kind"),
        (struct(1, 0, b"\x20\x01"), "flags"),
        (b"\x02\x01\x01\x00\x00\x01\x01\x01\x00\x00\x01\x00", "twice"),
        (b"\x00\x01\x01\x01\x03\x00", "deletion"),
        (b"\x00\x05", "count"),
    ],
)
def test_malformed_updates_are_refused(update, message):
    with pytest.raises(InvalidUpdate, match=message):
        inspect_update(update)


def test_deeply_nested_content_is_refused():
    deep = b"\x75\x01" * 100 + b"\x7e"  # arrays nested 100 deep
    with pytest.raises(InvalidUpdate, match="nested"):
        inspect_update(struct(1, 0, b"\x08" + ROOT_T + b"\x01" + deep))


def test_state_vectors_are_checked():
    doc = rich_doc()
    assert decode_state_vector(doc.get_state()) == {12: doc.get_state()[2]}
    for bad in (b"\x01\x05", b"\x01\x05\x01\x00", b"\x02\x01\x01"):
        with pytest.raises(InvalidUpdate):
            decode_state_vector(bad)


def test_the_update_that_crashes_pycrdt_is_refused():
    refused = []
    for frame in YRS_SEGFAULT:
        try:
            inspect_update(payload(frame))
        except InvalidUpdate as exc:
            refused.append(str(exc))
    assert refused == ["var-uint larger than 2^53 - 1"]


REPRODUCTION = textwrap.dedent(
    """
    import sys
    from pycrdt import Doc
    doc = Doc()
    for update in sys.argv[1:]:
        doc.apply_update(bytes.fromhex(update))
    """
)


def test_upstream_pycrdt_defect_is_still_contained():
    """docs/durability.md's offline reproduction, in a subprocess (it segfaults)."""
    updates = [payload(frame).hex() for frame in YRS_SEGFAULT]
    result = subprocess.run(
        [sys.executable, "-c", REPRODUCTION, *updates], capture_output=True, timeout=60
    )
    if result.returncode == 0:
        pytest.skip("pycrdt no longer crashes on these updates (upstream fixed)")
    assert result.returncode == -11  # SIGSEGV: why peers' updates are checked first
    without_refused = [u for u in updates if u != updates[1]]
    clean = subprocess.run(
        [sys.executable, "-c", REPRODUCTION, *without_refused], capture_output=True, timeout=60
    )
    assert clean.returncode == 0
