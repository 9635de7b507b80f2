"""Item 14: a read-only notebook (``chmod 444``) is never overwritten by a room.

The attack: an edit guest edits a notebook its owner made read-only; the room's save
replaced the file anyway (a rename needs only the folder's permission).
"""

from __future__ import annotations

import asyncio
import stat

from pycrdt import Text

from tests.eventually import eventually
from tests.handlers.test_sharing import share


async def test_edit_guest_cannot_overwrite_a_read_only_notebook(server, guest, root):
    path = root / "demo.ipynb"
    original = path.read_bytes()
    path.chmod(0o444)
    invite = await share(server, role="edit")
    await guest.join(invite["link"])
    peer = await guest.peer("demo.ipynb")
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# overwritten by a guest"
    reply = await peer.request_save()
    assert reply["status"] == "failed"
    await eventually(lambda: "read-only" in str(peer.notebook.ystate.get("save_error", "")))
    await asyncio.sleep(1.5)  # several save attempts (save_delay 0.1 s)
    assert path.read_bytes() == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    # The edit is not lost: once the owner makes the file writable, it is saved.
    path.chmod(0o644)
    source += "!"
    await eventually(lambda: "overwritten by a guest!" in path.read_text())
    await eventually(lambda: not peer.notebook.ystate.get("save_error"))
    await peer.close()
