"""Merge a file changed on disk into a live collaborative document.

The server remembers ``base_update``, the full Y state of a document when it last
equalled the file. When the file changes, :func:`file_change_update` replays the
change as minimal edits on a scratch copy of that base and returns only the Y update
those edits produced. Applied to the live document, the CRDT merges it with the
unsaved edits peers made since the base: nothing is lost, nothing is duplicated.

pycrdt pitfall: ``Text`` indices and lengths are UTF-8 *byte* offsets, not ``str``
indices, so every edit position is converted before it reaches the ``Text``.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Iterator
from difflib import SequenceMatcher
from itertools import accumulate
from typing import Any, Literal, cast
from uuid import uuid4

from jupyter_ydoc import YNotebook
from jupyter_ydoc.utils import cast_all
from pycrdt import Array, Doc, Map, Text

__all__ = ["file_change_update", "make_equal", "make_notebook_equal", "make_text_equal"]

# create_ycell needs no instance state; skipping __init__ avoids an UndoManager.
_YNB = YNotebook.__new__(YNotebook)
_REFINE_MAX_CHARS = 2000  # replaced line blocks up to this size are diffed by character
_CELL_SPECIAL_KEYS = {"id", "cell_type", "source", "metadata", "outputs", "execution_state"}
_EMPTY_CELL: dict[str, Any] = {  # what YNotebook.set stores for a notebook without cells
    "cell_type": "code",
    "execution_count": None,
    "metadata": {"trusted": True},
    "outputs": [],
    "source": "",
}


def make_text_equal(text: Text, target: str) -> None:
    """Edit ``text`` into ``target`` with a minimal line (then character) diff."""
    current = str(text)
    if current == target:
        return
    edits = list(_byte_edits(current, target))
    with text.doc.transaction():  # joins the caller's transaction if there is one
        for start, stop, insert in reversed(edits):  # back to front: offsets stay valid
            if stop > start:
                del text[start:stop]
            if insert:
                text.insert(start, insert)


def make_notebook_equal(doc: Doc, target: dict[str, Any]) -> None:
    """Edit the notebook in ``doc`` into the nbformat v4 dict ``target``, in one transaction.

    Cells are matched by id; kept cells are edited in place, cells out of order (the
    fewest possible) and cells whose type changed are recreated from ``target``.
    """
    ycells = doc.get("cells", type=Array)
    ymeta = doc.get("meta", type=Map)
    with doc.transaction():
        _update_meta(ymeta, target)
        _update_cells(ycells, _target_cells(ycells, target.get("cells") or []))


def make_equal(doc: Doc, kind: Literal["notebook", "text"], content: Any) -> None:
    """Edit ``doc`` into ``content``: a notebook dict or the text of a file."""
    if kind == "notebook":
        make_notebook_equal(doc, content)
    elif kind == "text":
        make_text_equal(doc.get("source", type=Text), content)
    else:
        raise ValueError(f"unknown document kind {kind!r}")


def file_change_update(
    base_update: bytes, kind: Literal["notebook", "text"], new_content: Any
) -> bytes:
    """Return the Y update turning the base state into ``new_content`` (empty: ``b"\\0\\0"``)."""
    scratch: Doc[Any] = Doc()  # fresh random client id
    scratch.apply_update(base_update)
    before = scratch.get_state()
    make_equal(scratch, kind, new_content)
    return scratch.get_update(before)


# --- text ---------------------------------------------------------------------------


def _char_edits(old: str, new: str) -> Iterator[tuple[int, int, str]]:
    """Yield ascending, disjoint ``(start, stop, replacement)`` edits in ``old``'s str indices."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    head = 0  # common leading/trailing lines are skipped before the quadratic diff
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a_at, b_at = [0, *accumulate(map(len, a))], [0, *accumulate(map(len, b))]
    # autojunk stays on for lines: without it, repeated lines (blank ones...) make big
    # files quadratic; the lines it skips come back through the character refinement.
    matcher = SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, stop = a_at[head + i1], a_at[head + i2]
        old_block, new_block = old[start:stop], new[b_at[head + j1] : b_at[head + j2]]
        if tag == "replace" and len(old_block) + len(new_block) <= _REFINE_MAX_CHARS:
            chars = SequenceMatcher(None, old_block, new_block, False)
            if chars.ratio() >= 0.5:
                for op, k1, k2, l1, l2 in chars.get_opcodes():
                    if op != "equal":
                        yield start + k1, start + k2, new_block[l1:l2]
                continue
        yield start, stop, new_block


def _byte_edits(old: str, new: str) -> Iterator[tuple[int, int, str]]:
    """Like :func:`_char_edits`, with positions as UTF-8 byte offsets (what pycrdt wants)."""
    char = byte = 0
    for start, stop, insert in _char_edits(old, new):
        byte += len(old[char:start].encode())
        byte_start = byte
        byte += len(old[start:stop].encode())
        char = stop
        yield byte_start, byte, insert


# --- notebook -----------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """JSON equality where Y's floats equal ints (``1.0 == 1``) but ``True != 1``."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _update_map(ymap: Map, target: dict[str, Any]) -> None:
    """Set only the keys of ``ymap`` whose value differs; peers' other keys survive."""
    current = ymap.to_py() or {}
    for key in current.keys() - target.keys():
        del ymap[key]
    for key, value in target.items():
        if key not in current or not _same(current[key], value):
            ymap[key] = copy.deepcopy(value)


def _update_meta(ymeta: Map, target: dict[str, Any]) -> None:
    # Like YNotebook._set: numbers as floats, default kernelspec/language_info.
    nb = cast(
        dict[str, Any],
        cast_all({k: copy.deepcopy(v) for k, v in target.items() if k != "cells"}, int, float),
    )
    for key, default in (("nbformat", 4.0), ("nbformat_minor", 5.0)):
        if not _same(ymeta.get(key), nb.get(key, default)):
            ymeta[key] = nb.get(key, default)
    metadata = nb.get("metadata") or {}
    metadata.setdefault("language_info", {"name": ""})
    metadata.setdefault("kernelspec", {"name": "", "display_name": ""})
    ymetadata = ymeta.get("metadata")
    if isinstance(ymetadata, Map):
        _update_map(ymetadata, metadata)
    else:
        ymeta["metadata"] = Map(metadata)


def _cell_to_py(ycell: Map) -> dict[str, Any]:
    cell = cast(dict[str, Any], cast_all(ycell.to_py() or {}, float, int))
    if cell.get("cell_type") in ("markdown", "raw") and not cell.get("attachments", True):
        del cell["attachments"]
    return cell


def _target_cells(ycells: Array, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells to reach, each with a unique id. No cells means jupyter_ydoc's one empty cell."""
    if not cells:
        only = ycells[0] if len(ycells) == 1 else None
        if only is not None and only.get("cell_type") == "code" and not str(only.get("source", "")):
            cells = [_cell_to_py(only)]  # keep the placeholder peers may be typing in
        else:
            cells = [dict(_EMPTY_CELL)]
    result, seen = [], set()
    for cell in cells:
        cell = dict(cell)
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = str(uuid4())
        seen.add(cell["id"])
        result.append(cell)
    return result


def _update_cells(ycells: Array, targets: list[dict[str, Any]]) -> None:
    rank = {cell["id"]: index for index, cell in enumerate(targets)}
    kept: dict[str, int] = {}  # id -> current index of the cells worth keeping, in order
    for index, ycell in enumerate(ycells):
        cell_id = ycell.get("id")
        target = targets[rank[cell_id]] if cell_id in rank else None
        if target is not None and cell_id not in kept:
            if ycell.get("cell_type") == target["cell_type"]:
                kept[cell_id] = index
    stay = _longest_increasing(list(kept), rank)  # every other kept cell is out of order
    stay_at = {kept[cell_id] for cell_id in stay}
    for index in reversed(range(len(ycells))):
        if index not in stay_at:
            del ycells[index]
    for index, cell in enumerate(targets):
        if cell["id"] in stay:
            _update_cell(ycells[index], cell)
        else:
            ycells.insert(index, _YNB.create_ycell(cell))


def _longest_increasing(ids: list[str], rank: dict[str, int]) -> set[str]:
    """Ids forming a longest subsequence already in target order (patience sorting)."""
    tails: list[int] = []  # tails[k]: index in ids ending the best run of length k + 1
    tail_ranks: list[int] = []
    previous = [-1] * len(ids)
    for i, cell_id in enumerate(ids):
        k = bisect_left(tail_ranks, rank[cell_id])
        previous[i] = tails[k - 1] if k else -1
        tails[k : k + 1] = [i]
        tail_ranks[k : k + 1] = [rank[cell_id]]
    result, i = set(), tails[-1] if tails else -1
    while i >= 0:
        result.add(ids[i])
        i = previous[i]
    return result


def _update_cell(ycell: Map, cell: dict[str, Any]) -> None:
    current = _cell_to_py(ycell)
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    if isinstance(ycell.get("source"), Text):
        make_text_equal(ycell["source"], source)
    else:
        ycell["source"] = Text(source)
    if isinstance(ycell.get("metadata"), Map):
        _update_map(ycell["metadata"], dict(cell.get("metadata", {})))
    else:
        ycell["metadata"] = Map(copy.deepcopy(dict(cell.get("metadata", {}))))
    outputs = cell.get("outputs", [])
    if cell["cell_type"] == "code" and not _same(current.get("outputs"), outputs):
        youtputs = [_youtput(output) for output in outputs]
        if isinstance(ycell.get("outputs"), Array):  # clear in place: clients observe it
            ycell["outputs"].clear()
            ycell["outputs"].extend(youtputs)
        else:
            ycell["outputs"] = Array(youtputs)
    others = {k: v for k, v in cell.items() if k not in _CELL_SPECIAL_KEYS}
    if cell["cell_type"] in ("markdown", "raw") and not others.get("attachments", True):
        del others["attachments"]
    for key in current.keys() - _CELL_SPECIAL_KEYS - others.keys():
        del ycell[key]
    for key, value in others.items():
        if key not in current or not _same(current[key], value):
            ycell[key] = copy.deepcopy(value)


def _youtput(output: dict[str, Any]) -> Map:
    """An output as jupyter_ydoc stores it: a Map, stream text as a Text."""
    output = copy.deepcopy(dict(output))
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        output["text"] = Text(text if isinstance(text, str) else "".join(text))
    return Map(output)
