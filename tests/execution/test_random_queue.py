"""Seeded chaos for the shared queue: several peers request runs while others edit,
delivery is held back and reordered; every requested run happens exactly once, in the
order the server accepted it, and every peer ends with the same outputs."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually

from .conftest import code_notebook, exec_state, outputs_text, run

CELLS = 8


@pytest.mark.parametrize("seed", [11, 29])
async def test_runs_from_many_peers_each_happen_once_in_accepted_order(
    exec_server: TandemServer, root: Path, seed: int
) -> None:
    rng = random.Random(seed)
    sources = (
        ["ran = []"]
        + [f"ran.append({i})\nprint('cell {i}')" for i in range(1, CELLS + 1)]
        + ["print(json.dumps(ran))"]
    )
    sources[0] = "import json\nran = []"
    ids = code_notebook(root / "run.ipynb", sources)
    peers = [await YPeer.open(exec_server, "run.ipynb") for _ in range(3)]
    try:
        await run(exec_server, "run.ipynb", peers[0], ids[0])
        accepted: dict[int, list[int]] = {0: [], 1: []}

        async def requester(who: int, picks: list[int]) -> None:
            for index in picks:
                await asyncio.sleep(rng.random() * 0.05)
                body = await run(exec_server, "run.ipynb", peers[who], ids[index])
                accepted[who].extend(ids.index(r["cell_id"]) for r in body["runs"])

        async def editor(peer: YPeer) -> None:
            # Edits to the markdown cell only (runs check code sources), sometimes held
            # back and released in a shuffled order.
            for n in range(20):
                if rng.random() < 0.3:
                    peer.hold()
                with peer.doc.transaction():
                    text = peer.notebook.ycells[0]["source"]
                    text += f" e{n}"
                if rng.random() < 0.5:
                    await peer.release(rng)
                await asyncio.sleep(rng.random() * 0.03)
            await peer.release(rng)

        picks = list(range(1, CELLS + 1))
        rng.shuffle(picks)
        await asyncio.gather(
            requester(0, picks[: CELLS // 2]),
            requester(1, picks[CELLS // 2 :]),
            editor(peers[2]),
        )
        await run(exec_server, "run.ipynb", peers[1], ids[-1])
        last = ids[-1]
        await eventually(
            lambda: outputs_text(peers[0], last) != "" and exec_state(peers[0])["queue"] == [],
            timeout=90,
        )
        order = json.loads(outputs_text(peers[0], last))
        # Each run exactly once; each person's requests in the order they made them.
        assert sorted(order) == list(range(1, CELLS + 1)), order
        for mine in accepted.values():
            assert [i for i in order if i in mine] == mine, (order, accepted)
        for peer in peers:
            await eventually(
                lambda peer=peer: outputs_text(peer, last) == outputs_text(peers[0], last)
            )
            for i in range(1, CELLS + 1):
                assert outputs_text(peer, ids[i - 1 + 1]) == f"cell {i}\n"

        # Every peer converged on the same document, edits and outputs alike.
        def converged() -> None:
            contents = [json.dumps(p.notebook.get(), sort_keys=True) for p in peers]
            assert len(set(contents)) == 1
            assert all(
                f"e{n}" in str(p.notebook.ycells[0]["source"]) for p in peers for n in range(20)
            )

        await eventually(converged)
    finally:
        for peer in peers:
            await peer.close()
