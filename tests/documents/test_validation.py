"""Per-cell validation of notebooks read from disk agrees with nbformat's schema."""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from tandem.documents.model import prepare_notebook


def notebook(*cells):
    return nbformat.from_dict(new_notebook(cells=list(cells)))


VALID = notebook(
    new_markdown_cell("# t", id="a"),
    new_code_cell("x", id="b", outputs=[new_output("stream", name="stdout", text="1")]),
    new_raw_cell("raw", id="c"),
)


def broken(change):
    nb = copy.deepcopy(VALID)
    change(nb)
    return nb


INVALID = {
    "unknown cell type": lambda nb: nb.cells[0].update(cell_type="bogus"),
    "output of unknown type": lambda nb: nb.cells[1].outputs.append({"output_type": "nope"}),
    "stream without name": lambda nb: nb.cells[1].outputs[0].pop("name"),
    "code cell with an unknown field": lambda nb: nb.cells[1].update(extra=1),
    "markdown source of the wrong type": lambda nb: nb.cells[0].update(source=5),
    "metadata not an object": lambda nb: nb.update(metadata=[1]),
    "cell id with spaces": lambda nb: nb.cells[2].update(id="not valid"),
    "execution count negative": lambda nb: nb.cells[1].update(execution_count=-3),
}


def test_a_valid_notebook_passes():
    assert [c["id"] for c in prepare_notebook(copy.deepcopy(VALID))["cells"]] == ["a", "b", "c"]


@pytest.mark.parametrize("change", list(INVALID.values()), ids=list(INVALID))
def test_what_nbformat_refuses_is_refused(change):
    nb = broken(change)
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(copy.deepcopy(nb))
    with pytest.raises((ValueError, TypeError, nbformat.ValidationError)):
        prepare_notebook(nb)
