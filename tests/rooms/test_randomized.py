"""Seeded chaos: several peers, random delivery order, disconnects, restarts and kill -9.

At the end every peer and the file converge, no cell or text is duplicated, and every
edit a peer observed before a crash is present after it. Reproduce a failure with
``TANDEM_SEED=<seed> pytest tests/rooms/test_randomized.py``.
"""

from __future__ import annotations

import os
import random
import re

import nbformat
import pytest
from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST
from tests.eventually import eventually

SEEDS = [int(os.environ["TANDEM_SEED"])] if "TANDEM_SEED" in os.environ else [11, 2024]
TOKEN = re.compile(r"<p\d+-\d+>")


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
    server = TandemServer(root, tmp_path / "state", args=FAST)
    await server.start()
    actors = [Actor(i, await YPeer.open(server, "demo.ipynb")) for i in range(3)]
    created: list[str] = []
    try:
        for round_ in range(14):
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
            if round_ % 5 == 4:
                kill = rng.random() < 0.6
                # A watcher records what the server has relayed so far, then the server dies.
                watcher = await YPeer.open(server, "demo.ipynb")
                seen = set(tokens_in(watcher.notebook.get()))
                await watcher.close()
                await server.stop(kill=kill)
                await server.start()
                survivor = await YPeer.open(server, "demo.ipynb")
                after = tokens_in(survivor.notebook.get())
                assert seen <= set(after), (
                    f"seed {seed}: lost {sorted(seen - set(after))[:5]} (kill={kill})"
                )
                assert len(after) == len(set(after)), f"seed {seed}: duplicated after restart"
                await survivor.close()
                for actor in actors:
                    if actor.online:
                        await actor.peer.reconnect(server)
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
                for a, c in zip(actors, contents)
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
    finally:
        for actor in actors:
            await actor.peer.close()
        await server.stop()
