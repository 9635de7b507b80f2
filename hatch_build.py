"""Builds the web app's bundle into tandem/static/ when a wheel or sdist is built.

The bundle is never committed; `make setup` builds it for development, and this hook
builds it for `pip install .` / `python -m build` (it needs Node.js and npm). Set
TANDEM_SKIP_WEB_BUILD=1 to package an already built tandem/static/ as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebBundleHook(BuildHookInterface):
    PLUGIN_NAME = "tandem-web"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        web = root / "web"
        static = root / "tandem" / "static"
        if version == "editable" or os.environ.get("TANDEM_SKIP_WEB_BUILD") == "1":
            return  # development: `make web` builds and rebuilds it
        if _fresh(static / "editor.js", web / "src"):
            return  # e.g. a wheel built from an sdist, which carries its bundle
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building Tandem's web app needs Node.js and npm (or TANDEM_SKIP_WEB_BUILD=1)"
            )
        if not (web / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
        subprocess.run(["node", "build.mjs"], cwd=web, check=True)


def _fresh(bundle: Path, sources: Path) -> bool:
    """The bundle exists and no source is newer (or there are no sources to build from)."""
    if not bundle.exists():
        return False
    if not sources.exists():
        return True
    built = bundle.stat().st_mtime
    return all(path.stat().st_mtime <= built for path in sources.rglob("*") if path.is_file())
