"""The kernels people use work confined: a `run` guest's numpy/pandas cell and a matplotlib
plot (inline PNG) in a sandboxed kernel, and the image reaches the other peers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tandem.sandbox import abi_version
from tandem.testing import YPeer

from .conftest import cell, code_notebook, exec_state
from .test_confined import Runner, confined_server, open_runner

pytestmark = pytest.mark.skipif(abi_version() < 1, reason="needs Linux Landlock")
pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

DATA = (
    "import numpy as np, pandas as pd\n"
    "frame = pd.DataFrame({'x': np.arange(5), 'y': np.arange(5) ** 2})\n"
    "frame.to_csv('squares.csv', index=False)\n"
    "print(int(pd.read_csv('squares.csv')['y'].sum()), float(np.linalg.norm([3, 4])))"
)
PLOT = (  # ipykernel's default backend: inline
    "import matplotlib.pyplot as plt\n"
    "figure, axes = plt.subplots(figsize=(3, 2))\n"
    "axes.plot(frame['x'], frame['y'], marker='o')\n"
    "axes.set_title('squares')\n"
    "plt.show()"
)
POOL = (  # POSIX semaphores in /dev/shm: the kernel's own, private one
    "import os, concurrent.futures as futures\n"
    "with futures.ProcessPoolExecutor(2) as pool:\n"
    "    print(sum(pool.map(abs, [-1, -2, -3])), sorted(os.listdir('/dev/shm')))"
)
PANDAS_PLOT = "%matplotlib inline\nframe.plot(x='x', y='y', title='pandas')\nplt.show()"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def png_of(peer: YPeer, cell_id: str) -> bytes | None:
    for output in cell(peer, cell_id).get("outputs", []):
        data = output.get("data") or {}
        if "image/png" in data:
            value = data["image/png"]
            return base64.b64decode(value if isinstance(value, str) else "".join(value))
    return None


async def test_numpy_pandas_and_an_inline_matplotlib_plot_run_confined_for_every_peer(
    root: Path, tmp_path: Path, home: Path
) -> None:
    # Real figures are tens of KiB: the suite's small output limit would cut them.
    server = await confined_server(root, tmp_path, home, "--TandemApp.max_output_bytes=1000000")
    try:
        (root / "study").mkdir()
        ids = code_notebook(root / "study" / "plots.ipynb", [DATA, PLOT, PANDAS_PLOT, POOL])
        guest, owner = await open_runner(server, "study/plots.ipynb", "study")
        try:
            runner = Runner(server, guest, owner, "study/plots.ipynb")
            assert await runner.run(ids[0], timeout=120) == "30 5.0\n"
            assert (root / "study" / "squares.csv").read_text().splitlines()[0] == "x,y"
            text = await runner.run(ids[1], timeout=120)
            # Only the figure: no warning about an unwritable config or font cache.
            assert text.startswith("<Figure size 300x200") and "Warning" not in text, text
            image = png_of(owner, ids[1])
            assert image is not None and image.startswith(b"\x89PNG\r\n\x1a\n"), text
            assert len(image) > 1000  # a drawn figure, not an empty one
            text = await runner.run(ids[2], timeout=120)
            assert "Warning" not in text and "Error" not in text, text
            other = png_of(owner, ids[2])
            assert other is not None and other.startswith(b"\x89PNG") and other != image, text
            # Process pools work, in a /dev/shm of the kernel's own: the host's is not seen.
            marker = Path("/dev/shm") / f"tandem-host-{tmp_path.name}"
            marker.write_text("the owner's shared memory")
            try:
                assert await runner.run(ids[3], timeout=120) == "6 []\n"
            finally:
                marker.unlink()
            assert exec_state(owner)["sandbox"]["confined"] is True
            # A peer that joins later gets the same image from the document.
            async with await YPeer.open(server, "study/plots.ipynb") as late:
                assert png_of(late, ids[1]) == image
        finally:
            await guest.close()
            await owner.close()
    finally:
        await server.stop()
