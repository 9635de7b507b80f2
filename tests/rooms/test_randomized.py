"""Seeded chaos: several peers, random delivery order, disconnects, restarts, kill -9,
kill -9 during the file write, and a store that fails (disk full).

At the end every peer and the file converge, no cell or text is duplicated, and every
edit a peer observed before a crash is present after it. Reproduce a failure with
``TANDEM_SEED=<seed> pytest tests/rooms/test_randomized.py``; ``-s`` prints the figures
(cycles, edits observed, lost, duplicated).
"""

from __future__ import annotations

import asyncio
import os
import random
import re

import nbformat
import pytest
from pycrdt import Text

from tandem import faults
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST
from tests.eventually import eventually

SEEDS = [int(os.environ["TANDEM_SEED"])] if "TANDEM_SEED" in os.environ else [11, 2024]
TOKEN = re.compile(r"<p\d+-\d+>")
CYCLES = ["kill", "save-crash", "store-full", "stop", "kill"]
"""How each restart cycle ends (shuffled per seed): kill -9 at a random point, kill -9
while a save is in the file write, kill -9 while the store fails, a clean stop."""


def tokens_in(content: dict) -> list[str]:
    found = []
    for cell in content["cells"]:
        found += TOKEN.findall(cell["source"])
    return found


class Actor:
    def __init__(self, index: int, peer: YPeer) -> None:
        self.index = index
        self.peer = peer
        self.count = 0
        self.online = True
        self.holding = False

    def edit(self, rng: random.Random) -> str:
        self.count += 1
        token = f"<p{self.index}-{self.count}>"
        cells = self.peer.notebook.ycells
        if rng.random() < 0.15 or len(cells) == 0:
            self.peer.notebook.append_cell(
                {"cell_type": "code", "source": token, "metadata": {}, "outputs": []}
            )
        else:
            source: Text = cells[rng.randrange(len(cells))]["source"]
            text = str(source)
            # insert at a random token boundary (never inside a token); pycrdt Text
            # positions are UTF-8 byte offsets
            cuts = [0, len(text)] + [m.end() for m in TOKEN.finditer(text)]
            cut = rng.choice(cuts)
            source.insert(len(text[:cut].encode("utf-8")), token)
        return token


@pytest.mark.parametrize("seed", SEEDS)
async def test_chaos_converges_without_loss_or_duplicates(root, tmp_path, seed):
    rng = random.Random(seed)
    full, held = tmp_path / "disk-full", tmp_path / "save-held"
    server = TandemServer(root, tmp_path / "state", args=FAST, env={faults.STORE_FULL: str(full)})
    await server.start()
    actors = [Actor(i, await YPeer.open(server, "demo.ipynb")) for i in range(3)]
    created: list[str] = []
    cycles = list(CYCLES)
    rng.shuffle(cycles)
    figures = {"cycles": 0, "observed": 0, "lost": 0, "duplicated": 0}

    async def edit_now(count: int) -> None:
        """Edits that reach the server now (from an actor that is online, not holding)."""
        actor = next((a for a in actors if a.online and not a.holding), actors[0])
        if not actor.online or actor.peer.closed.is_set():
            await actor.peer.reconnect(server)
            actor.online = True
        if actor.holding:
            await actor.peer.release(rng)
            actor.holding = False
        for _ in range(count):
            created.append(actor.edit(rng))
        await actor.peer.flush()

    try:
        for round_ in range(4 * len(cycles)):
            for actor in actors:
                for _ in range(rng.randint(1, 6)):
                    created.append(actor.edit(rng))
                roll = rng.random()
                if actor.online and not actor.holding and roll < 0.25:
                    actor.peer.hold()  # edits pile up locally, delivered later in random order
                    actor.holding = True
                elif actor.holding and roll < 0.6:
                    await actor.peer.release(rng)
                    actor.holding = False
                elif actor.online and roll > 0.9:
                    await actor.peer.close()  # tab goes offline, keeps typing
                    actor.online = False
                elif not actor.online and roll > 0.5:
                    await actor.peer.reconnect(server)
                    actor.online = True
            if round_ % 4 == 3:
                how = cycles[round_ // 4]
                if how == "save-crash":
                    # Restart with saves held in the file write, edit, kill during the write.
                    await server.stop()
                    server.extra_env[faults.HOLD_FILE_WRITE] = str(held)
                    await server.start()
                    await edit_now(3)
                    await eventually(lambda: held.exists(), timeout=30)
                # A watcher records what the server has relayed so far, then the server dies.
                watcher = await YPeer.open(server, "demo.ipynb")
                seen = set(tokens_in(watcher.notebook.get()))
                await watcher.close()
                if how == "store-full":
                    full.touch()
                    await edit_now(3)  # refused: the room closes everyone and reloads
                    await eventually(
                        lambda: any(a.peer.close_code == 4500 for a in actors), timeout=30
                    )
                    await asyncio.sleep(0.3)  # past the save delay: nothing unstored is saved
                await server.stop(kill=how != "stop")
                full.unlink(missing_ok=True)
                held.unlink(missing_ok=True)
                server.extra_env.pop(faults.HOLD_FILE_WRITE, None)
                await server.start()
                survivor = await YPeer.open(server, "demo.ipynb")
                after = tokens_in(survivor.notebook.get())
                figures["cycles"] += 1
                figures["observed"] += len(seen)
                figures["lost"] += len(seen - set(after))
                figures["duplicated"] += len(after) - len(set(after))
                assert seen <= set(after), (
                    f"seed {seed}: lost {sorted(seen - set(after))[:5]} ({how})"
                )
                assert len(after) == len(set(after)), f"seed {seed}: duplicated after {how}"
                await survivor.close()
                for actor in actors:
                    if actor.online or actor.peer.closed.is_set():
                        await actor.peer.reconnect(server)
                        actor.online = True
                        assert actor.peer.close_code is None
        for actor in actors:
            if not actor.online:
                await actor.peer.reconnect(server)
                actor.online = True
            if actor.holding:
                await actor.peer.release(rng)
                actor.holding = False

        def converged():
            contents = [a.peer.notebook.get() for a in actors]
            assert contents[0] == contents[1] == contents[2], [
                (
                    len(tokens_in(c)),
                    a.peer.closed.is_set(),
                    a.peer.close_code,
                    sorted(set(tokens_in(contents[0])) ^ set(tokens_in(c))),
                )
                for a, c in zip(actors, contents, strict=True)
            ]
            found = tokens_in(contents[0])
            assert sorted(found) == sorted(created), f"seed {seed}: tokens lost or duplicated"
            ids = [c["id"] for c in contents[0]["cells"]]
            assert len(ids) == len(set(ids))

        await eventually(converged, timeout=30)
        final = actors[0].peer.notebook.get()

        def file_matches():
            on_disk = nbformat.read(root / "demo.ipynb", as_version=4)
            assert [c.source for c in on_disk.cells] == [c["source"] for c in final["cells"]]

        await eventually(file_matches, timeout=30)
        print(f"chaos seed {seed}: {figures}, {len(created)} edits in all")
    finally:
        for actor in actors:
            await actor.peer.close()
        await server.stop()
