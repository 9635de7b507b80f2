"""Item 2 in the browser: the owner's JupyterLab never runs a guest's trusted HTML.

The attack: an edit guest (a pycrdt peer that joined through a real link) writes a cell
whose ``metadata.trusted`` is true and whose output is ``text/html`` with an ``onerror``
handler, and marks an existing cell trusted with the same output. JupyterLab renders
trusted HTML unsanitized, so the handler would run in the server's origin, live and
when the owner opens the notebook later.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Map

from tandem.testing import TandemServer
from tests.conftest import write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import chromium, lab, lab_page, lab_root  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVIL = {
    "output_type": "display_data",
    "data": {"text/html": '<img src="nope" onerror="window.__pwned = \'yes\'">'},
    "metadata": {},
}


async def pwned(page: Any) -> Any:
    return await page.evaluate("() => window.__pwned")


async def test_owners_jupyterlab_never_runs_a_guests_trusted_html(
    lab: TandemServer,  # noqa: F811
    lab_root: Path,  # noqa: F811
    lab_page: Any,  # noqa: F811
) -> None:
    write_notebook(lab_root / "trust.ipynb", cells=2)
    await lab_page.open("trust.ipynb")
    guest = Guest(lab)
    try:
        invite = await share(lab, path="trust.ipynb", role="edit")
        await guest.join(invite["link"])
        attacker = await guest.peer("trust.ipynb")
        attacker.notebook.append_cell(
            {
                "cell_type": "code",
                "id": "evil",
                "source": "# looks harmless",
                "metadata": {"trusted": True},
                "execution_count": 1,
                "outputs": [EVIL],
            }
        )
        existing: Map = attacker.notebook.ycells[1]
        with attacker.doc.transaction():
            existing["metadata"]["trusted"] = True
            existing["outputs"].append(Map(EVIL))
        await lab_page.wait_rendered(3)
        await asyncio.sleep(2)  # an image that fails to load fires onerror at once
        assert await pwned(lab_page.page) is None
        trusted = await lab_page.page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                .map(c => c.model.trusted)"""
        )
        assert trusted[1:] == [False, False], trusted
        await attacker.close()
        # Later, when the owner opens the notebook again.
        await lab_page.reload("trust.ipynb")
        await eventually(lambda: lab_page.rendered_cells(), timeout=30)
        await asyncio.sleep(1)
        assert await pwned(lab_page.page) is None
    finally:
        await guest.close()
