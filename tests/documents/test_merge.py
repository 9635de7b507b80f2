"""Three-way merge of on-disk changes into live documents, on real pycrdt documents."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import nbformat
import pytest
from jupyter_ydoc import YNotebook, YUnicode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from pycrdt import Array, Doc, Map, Text

from tandem.documents.merge import (
    file_change_update,
    make_equal,
    make_notebook_equal,
    make_text_equal,
)

EMPTY_UPDATE = b"\x00\x00"
UNICODE = "héllo → 世界 ✓ 🎉"
LINES = ["", "x = 1", UNICODE, "def f():", "    return 42", "🎉🎉", "naïve café", "\t# tab", "  "]
ENDINGS = ["\n", "\n", "\n", "\r\n"]


# --- helpers -----------------------------------------------------------------------


def sync(*docs: Doc) -> None:
    """Exchange updates until every document has seen everything."""
    for _ in range(2):
        for a in docs:
            for b in docs:
                if a is not b:
                    b.apply_update(a.get_update(b.get_state()))


def peer_of(update: bytes) -> Doc:
    doc = Doc()
    doc.apply_update(update)
    return doc


def byte_index(s: str, char_index: int) -> int:
    return len(s[:char_index].encode())


def type_at_end_of_line(text: Text, line_no: int, typed: str) -> None:
    """A peer types ``typed`` at the end of line ``line_no`` (0-based) of ``text``."""
    value = str(text)
    lines = value.splitlines(keepends=True)
    end = sum(len(line) for line in lines[:line_no]) + len(lines[line_no].rstrip("\r\n"))
    text.insert(byte_index(value, end), typed)


def random_text(rng: random.Random) -> str:
    lines = [rng.choice(LINES) + rng.choice(ENDINGS) for _ in range(rng.randint(0, 12))]
    if lines and rng.random() < 0.3:
        lines[-1] = lines[-1].rstrip("\r\n")  # no trailing newline
    return "".join(lines)


def mutate_text(rng: random.Random, value: str) -> str:
    lines = value.splitlines(keepends=True)
    for _ in range(rng.randint(0, 4)):
        op = rng.choice(["insert", "delete", "edit", "ending"])
        i = rng.randrange(len(lines) + 1)
        if op == "insert" or not lines:
            lines.insert(i, rng.choice(LINES) + rng.choice(ENDINGS))
            continue
        i = min(i, len(lines) - 1)
        if op == "delete":
            del lines[i]
        elif op == "edit":
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + rng.choice(["é", "🎉", "世", "z", "→ ✓"]) + lines[i][at:]
        else:
            lines[i] = lines[i].rstrip("\r\n") + rng.choice(["", "\n", "\r\n"])
    return "".join(lines)


def text_doc(value: str) -> tuple[Doc, Text]:
    doc = Doc()
    text = doc.get("source", type=Text)
    YUnicode(doc).set(value)
    return doc, text


def nb_doc(nb: dict[str, Any]) -> Doc:
    doc = Doc()
    YNotebook(doc).set(nb)
    return doc


def normalized(nb: dict[str, Any]) -> dict[str, Any]:
    """The parts of a notebook a merge must reproduce, as plain JSON."""
    nb = json.loads(json.dumps(nb))
    cells = []
    for cell in nb["cells"]:
        out = {k: cell[k] for k in ("id", "cell_type", "metadata")}
        source = cell["source"]
        out["source"] = "".join(source) if isinstance(source, list) else source
        if cell["cell_type"] == "code":
            out["outputs"] = cell["outputs"]
            out["execution_count"] = cell["execution_count"]
        if cell.get("attachments"):
            out["attachments"] = cell["attachments"]
        cells.append(out)
    metadata = nb.get("metadata", {})
    metadata.setdefault("language_info", {"name": ""})
    metadata.setdefault("kernelspec", {"name": "", "display_name": ""})
    return {
        "cells": cells,
        "metadata": metadata,
        "nbformat": nb["nbformat"],
        "nbformat_minor": nb["nbformat_minor"],
    }


def live(doc: Doc) -> dict[str, Any]:
    """``YNotebook.get()``, with cell ids even for nbformat 4.4 (which get() strips)."""
    nb = YNotebook(doc).get(deduplicate=False)
    ids = [ycell.get("id") for ycell in doc.get("cells", type=Array)]
    assert len(ids) == len(set(ids)), f"duplicate cell ids {ids}"
    for cell, cell_id in zip(nb["cells"], ids, strict=True):
        cell["id"] = cell_id
    return nb


def assert_notebook(doc: Doc, target: dict[str, Any]) -> None:
    assert normalized(live(doc)) == normalized(target)


def sample_notebook() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_code_cell(
                "a = 1\nb = 2\nc = 3\n",
                id="c1",
                execution_count=1,
                outputs=[
                    new_output("stream", name="stdout", text="hi\n"),
                    new_output("execute_result", data={"text/plain": "3"}, execution_count=1),
                ],
            ),
            new_markdown_cell("# Title\n\nSome *text* " + UNICODE, id="c2"),
            new_code_cell("def f():\n    return 42\n", id="c3", metadata={"tags": ["x"]}),
            new_raw_cell("raw", id="c4"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


def random_cell(rng: random.Random, cell_id: str | None = None) -> nbformat.NotebookNode:
    kind = rng.choice(["code", "code", "markdown", "raw"])
    source = random_text(rng)
    kwargs = {"id": cell_id} if cell_id else {}
    if kind == "code":
        stream = new_output("stream", name="stdout", text=random_text(rng))
        display = new_output("display_data", data={"text/plain": UNICODE}, metadata={"n": 1})
        return new_code_cell(
            source,
            execution_count=rng.choice([None, rng.randint(1, 9)]),
            outputs=rng.choice([[], [stream], [display, stream]]),
            metadata=rng.choice([{}, {"tags": ["a"]}]),
            **kwargs,
        )
    if kind == "markdown":
        cell = new_markdown_cell(source, **kwargs)
        if rng.random() < 0.3:
            cell["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo="}}
        return cell
    return new_raw_cell(source, **kwargs)


MUTATIONS = ["add", "delete", "move", "type", "source", "outputs", "meta", "count", "nbmeta"]


def mutate_notebook(rng: random.Random, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cells = nb.cells
    for _ in range(rng.randint(0, 6)):
        op = rng.choice(MUTATIONS)
        if op == "add" or not cells:
            cells.insert(rng.randint(0, len(cells)), random_cell(rng))
            continue
        i = rng.randrange(len(cells))
        cell = cells[i]
        if op == "delete":
            del cells[i]
        elif op == "move":
            cells.insert(rng.randint(0, len(cells) - 1), cells.pop(i))
        elif op == "type":
            cells[i] = random_cell(rng, cell_id=cell.id)
            cells[i].source = cell.source
        elif op == "source":
            cell.source = mutate_text(rng, cell.source)
        elif op == "outputs" and cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stderr", text=random_text(rng))]
        elif op == "meta":
            cell.metadata = {"tags": [rng.choice(LINES)], "collapsed": rng.random() < 0.5}
        elif op == "count" and cell.cell_type == "code":
            cell.execution_count = rng.randint(1, 99)
        elif op == "nbmeta":
            nb.metadata["custom"] = {"n": rng.randint(0, 3), "s": rng.choice(LINES)}
    if rng.random() < 0.1:
        nb.nbformat_minor = 4 if nb.nbformat_minor == 5 else 5
    return nb


# --- pycrdt facts this module relies on ------------------------------------------------


def test_pycrdt_text_indices_are_utf8_bytes() -> None:
    doc = Doc()
    text = doc.get("t", type=Text)
    text += UNICODE
    assert len(text) == len(UNICODE.encode()) == 26 != len(UNICODE)
    text.insert(byte_index(UNICODE, UNICODE.index("世")), "X")  # byte offset, not str index
    assert str(text) == UNICODE.replace("世", "X世")


def test_nested_transactions_commit_once() -> None:
    doc, text = text_doc("one\ntwo\n")
    events = []
    doc.observe(events.append)
    with doc.transaction():
        make_text_equal(text, "one\n2\nthree\n")
        make_text_equal(text, "1\n2\nthree\n")
    assert str(text) == "1\n2\nthree\n"
    assert len(events) == 1


# --- make_text_equal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", ""),
        ("", UNICODE),
        (UNICODE, ""),
        (UNICODE, UNICODE + "\n"),
        ("a\r\nb\r\n", "a\nb\r\n"),
        ("🎉\n🎉\n", "🎉\n世界\n🎉"),
        ("x" * 5000 + "\n", "y" * 5000 + "\n"),  # too big to refine by character
    ],
)
def test_make_text_equal_cases(before: str, after: str) -> None:
    _, text = text_doc(before)
    make_text_equal(text, after)
    assert str(text) == after


def test_make_text_equal_fuzz() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        before = random_text(rng)
        after = mutate_text(rng, before) if rng.random() < 0.8 else random_text(rng)
        _, text = text_doc(before)
        make_text_equal(text, after)
        assert str(text) == after, (before, after)


def test_make_text_equal_is_minimal() -> None:
    before = "".join(f"line {i} {UNICODE}\n" for i in range(2000))
    after = before.replace("line 1000 ", "line 1000 changed ")
    doc, text = text_doc(before)
    state = doc.get_state()
    make_text_equal(text, after)
    assert str(text) == after
    assert len(doc.get_update(state)) < 100


def test_make_text_equal_big_repetitive_file() -> None:
    # Many identical lines made an exact line diff quadratic (minutes); must stay fast and small.
    rng = random.Random(7)
    kinds = ["", "", "x = 1", "    pass", UNICODE, "v = {}"]  # 1 in 6 lines is unique
    lines = [rng.choice(kinds).format(i) + "\n" for i in range(50_000)]
    doc, text = text_doc("".join(lines))
    for _ in range(200):
        i = rng.randrange(len(lines))
        lines[i] = "changed " + lines[i]
    state = doc.get_state()
    make_text_equal(text, "".join(lines))
    assert str(text) == "".join(lines)
    assert len(doc.get_update(state)) < 200 * 50


# --- make_notebook_equal -----------------------------------------------------------------


def test_make_notebook_equal_edits() -> None:
    nb = sample_notebook()
    doc = nb_doc(nb)
    target = copy.deepcopy(nb)
    target.cells[0].source = "a = 1\nb = 20\nc = 3\n"
    target.cells[0].outputs = [new_output("stream", name="stderr", text="oops " + UNICODE)]
    target.cells[0].execution_count = 7
    target.cells[2].metadata = {"tags": ["y"], "collapsed": True}
    target.cells[1] = new_code_cell(target.cells[1].source, id="c2")  # markdown -> code
    target.cells.insert(1, new_markdown_cell("new", id="new"))
    target.cells[-1], target.cells[-2] = target.cells[-2], target.cells[-1]  # reorder
    del target.cells[0]
    target.metadata["language_info"] = {"name": "python"}
    target.nbformat_minor = 4
    attachments = {"p.png": {"image/png": "AA=="}}
    target.cells.append(new_markdown_cell("pic", id="att", attachments=attachments))
    make_notebook_equal(doc, target)
    assert_notebook(doc, target)
    types = [c["cell_type"] for c in live(doc)["cells"]]
    assert types == ["markdown", "code", "raw", "code", "markdown"]


def test_make_notebook_equal_is_idempotent_and_one_transaction() -> None:
    nb = sample_notebook()
    doc = nb_doc(nb)
    target = mutate_notebook(random.Random(5), nb)
    target.cells.reverse()
    events = []
    doc.observe(events.append)
    make_notebook_equal(doc, target)
    assert len(events) == 1
    state = doc.get_update()
    make_notebook_equal(doc, target)
    assert doc.get_update() == state
    assert_notebook(doc, target)


def test_cells_without_or_with_duplicate_ids_become_new_cells() -> None:
    doc = nb_doc(sample_notebook())
    cells = [new_code_cell("x", id="c1"), new_code_cell("y"), new_raw_cell("z")]
    target = new_notebook(cells=cells)
    target.cells[1]["id"] = "c1"
    del target.cells[2]["id"]
    make_notebook_equal(doc, target)
    cells = live(doc)["cells"]
    assert [c["source"] for c in cells] == ["x", "y", "z"]
    assert cells[0]["id"] == "c1" and len({c["id"] for c in cells}) == 3


def test_make_notebook_equal_fuzz() -> None:
    rng = random.Random(42)
    for _ in range(150):
        nb = new_notebook(cells=[random_cell(rng) for _ in range(rng.randint(0, 6))])
        doc = nb_doc(nb)
        base = doc.get_update()
        target = mutate_notebook(rng, nb)
        if not target.cells:
            continue  # covered by test_empty_notebook_*
        make_notebook_equal(doc, target)
        assert_notebook(doc, target)
        merged = peer_of(base)  # the same through an update, as the server does it
        merged.apply_update(file_change_update(base, "notebook", target))
        assert_notebook(merged, target)


def test_moves_recreate_only_out_of_order_cells() -> None:
    nb = new_notebook(cells=[new_code_cell(f"{n} = 0\n", id=n) for n in "abcde"])
    server = nb_doc(nb)
    base = server.get_update()
    peer = peer_of(base)
    for ycell in peer.get("cells", type=Array):  # unsaved edits in every cell
        source = ycell["source"]
        source += "# edited\n"
    target = copy.deepcopy(nb)
    target.cells.append(target.cells.pop(0))  # a moves to the end
    server.apply_update(file_change_update(base, "notebook", target))
    sync(server, peer)
    sources = {c["id"]: c["source"] for c in live(peer)["cells"]}
    assert [c["id"] for c in live(peer)["cells"]] == list("bcdea")
    assert all(sources[n] == f"{n} = 0\n# edited\n" for n in "bcde")  # kept in place
    assert sources["a"] == "a = 0\n"  # the one moved cell was recreated from disk


def test_empty_notebook_keeps_placeholder_cell() -> None:
    server = nb_doc(new_notebook())  # jupyter_ydoc adds one empty code cell
    base = server.get_update()
    peer = peer_of(base)
    source = peer.get("cells", type=Array)[0]["source"]
    source += "typed"
    disk = new_notebook(metadata={"foo": 1})
    server.apply_update(file_change_update(base, "notebook", disk))
    sync(server, peer)
    assert [c["source"] for c in live(peer)["cells"]] == ["typed"]
    assert live(peer)["metadata"]["foo"] == 1
    doc = nb_doc(sample_notebook())
    make_notebook_equal(doc, new_notebook())
    assert [(c["cell_type"], c["source"]) for c in live(doc)["cells"]] == [("code", "")]


# --- file_change_update: three-way merges --------------------------------------------------


def test_three_way_notebook() -> None:
    nb = sample_notebook()
    server = nb_doc(nb)
    base = server.get_update()
    p1, p2 = peer_of(base), peer_of(base)
    type_at_end_of_line(p1.get("cells", type=Array)[0]["source"], 2, "  # peer1 🎉")
    type_at_end_of_line(p2.get("cells", type=Array)[2]["source"], 0, "  # peer2")
    p2_nb = YNotebook(p2)
    p2_nb.ycells.insert(1, p2_nb.create_ycell(new_markdown_cell("peer cell", id="p")))
    p1.get("cells", type=Array)[2]["metadata"]["peer"] = True
    p2.get("meta", type=Map)["metadata"]["peer"] = "p2"
    sync(server, p1)  # p1's edits reached the server before the file changed; p2's did not

    disk = copy.deepcopy(nb)
    disk.cells[0].source = "a = 10\nb = 2\nc = 3\n"
    del disk.cells[1]
    disk.cells.append(new_code_cell("print('disk')", id="d"))
    disk.cells[1].metadata.tags = ["disk"]
    disk.metadata.kernelspec.display_name = "Disk"
    server.apply_update(file_change_update(base, "notebook", disk))
    sync(server, p1, p2)

    expected = live(server)
    for doc in (p1, p2):
        assert live(doc) == expected
    cells = {c["id"]: c for c in expected["cells"]}
    assert [c["id"] for c in expected["cells"]] == ["c1", "p", "c3", "c4", "d"]
    assert cells["c1"]["source"] == "a = 10\nb = 2\nc = 3  # peer1 🎉\n"
    assert cells["c3"]["source"] == "def f():  # peer2\n    return 42\n"
    assert cells["p"]["source"] == "peer cell"
    assert cells["d"]["source"] == "print('disk')"
    assert cells["c1"]["outputs"] == nb.cells[0].outputs
    assert cells["c3"]["metadata"] == {"tags": ["disk"], "peer": True}
    assert expected["metadata"]["peer"] == "p2"
    assert expected["metadata"]["kernelspec"]["display_name"] == "Disk"


def test_three_way_text() -> None:
    base_text = f"first\nsecond {UNICODE}\nthird\r\nfourth\n"
    server, _ = text_doc(base_text)
    base = server.get_update()
    p1, p2 = peer_of(base), peer_of(base)
    type_at_end_of_line(p1.get("source", type=Text), 1, " [p1 ✓]")
    p2.get("source", type=Text).insert(0, "p2 header\n")
    sync(server, p1)
    disk = "first CHANGED\nsecond " + UNICODE + "\nfourth\nappended 世界\n"
    server.apply_update(file_change_update(base, "text", disk))
    sync(server, p1, p2)
    expected = f"p2 header\nfirst CHANGED\nsecond {UNICODE} [p1 ✓]\nfourth\nappended 世界\n"
    for doc in (server, p1, p2):
        assert str(doc.get("source", type=Text)) == expected


def test_no_op_file_change_is_empty() -> None:
    # Metadata without kernelspec: jupyter_ydoc adds defaults on load, which is no change.
    nb = nbformat.reads(nbformat.writes(sample_notebook()), as_version=4)
    nb.metadata = {}
    doc = nb_doc(nb)
    assert file_change_update(doc.get_update(), "notebook", nb) == EMPTY_UPDATE
    text, _ = text_doc(UNICODE)
    assert file_change_update(text.get_update(), "text", UNICODE) == EMPTY_UPDATE


def test_make_equal_dispatch() -> None:
    doc = Doc()
    make_equal(doc, "text", "hello")
    assert str(doc.get("source", type=Text)) == "hello"
    nb = sample_notebook()
    doc = Doc()
    make_equal(doc, "notebook", nb)
    assert_notebook(doc, nb)
    assert isinstance(doc.get("cells", type=Array)[0]["source"], Text)
    assert isinstance(doc.get("meta", type=Map)["metadata"], Map)
    with pytest.raises(ValueError):
        make_equal(doc, "binary", b"")  # type: ignore[arg-type]


def test_consecutive_file_changes_rebase_on_merged_base() -> None:
    # As the server does it: after a merge the new base is the old base plus the update.
    server, _ = text_doc("a\nb\nc\n")
    base = server.get_update()
    peer = peer_of(base)
    for disk, typed in (("A\nb\nc\n", "1"), ("A\nb\nC\n", "2"), ("A\nB\nC\nd\n", "3")):
        peer.get("source", type=Text).insert(0, typed)
        update = file_change_update(base, "text", disk)
        server.apply_update(update)
        scratch = peer_of(base)
        scratch.apply_update(update)
        base = scratch.get_update()
        sync(server, peer)
    assert str(peer.get("source", type=Text)) == "321A\nB\nC\nd\n"
    assert str(server.get("source", type=Text)) == "321A\nB\nC\nd\n"
