"""The docs' screenshots: tests take them into ``test-artifacts/`` (git-ignored) and copy
them into ``docs/screenshots/`` only when asked (``TANDEM_REFRESH_SCREENSHOTS=1``), so a
test run never rewrites tracked files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def refreshing() -> bool:
    """Whether this run refreshes the docs' screenshots."""
    return os.environ.get("TANDEM_REFRESH_SCREENSHOTS", "") == "1"


def publish(taken: Path, name: str) -> None:
    """Copy the screenshot ``taken`` to ``docs/screenshots/<name>`` if refreshing."""
    assert taken.is_file(), taken
    if refreshing():
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(taken, DOCS / name)
