"""Builds the web app's bundle into tandem/static/ and the JupyterLab extension into
tandem/labextension/ when a wheel or sdist is built.

Neither is ever committed; `make setup` builds both for development, and this hook builds
them for `pip install .` / `python -m build` (it needs Node.js and npm; the lab extension
also needs JupyterLab in the build environment, for its builder's shared-package
versions). Set TANDEM_SKIP_WEB_BUILD=1 to package already built bundles as they are.
The lab extension goes into the wheel as shared data, where JupyterLab finds it
(share/jupyter/labextensions/@jupyter-tandem/labextension): no extra install step.
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
        if version == "editable":
            return  # development: `make web` and `make labextension` build them
        skip = os.environ.get("TANDEM_SKIP_WEB_BUILD") == "1"
        if not skip and not _fresh(static / "editor.js", web / "src"):
            npm = _npm()
            if not (web / "node_modules").exists():
                subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
            subprocess.run(["node", "build.mjs"], cwd=web, check=True)
        lab_source = root / "labextension"
        lab_built = root / LAB_OUTPUT
        production = not any((lab_built / "static").glob("*.js.map"))
        if not skip and not (production and _fresh(lab_built / "package.json", lab_source / "src")):
            build_labextension(lab_source, _npm(), development=False)
        if self.target_name == "wheel" and (lab_built / "package.json").exists():
            build_data["shared_data"][LAB_OUTPUT] = LAB_INSTALLED


LAB_OUTPUT = "tandem/labextension"
LAB_INSTALLED = "share/jupyter/labextensions/@jupyter-tandem/labextension"


def build_labextension(source: Path, npm: str, development: bool) -> None:
    """TypeScript, then JupyterLab's builder (webpack module federation) against the
    installed JupyterLab's core package, into tandem/labextension/."""
    import importlib.util

    spec = importlib.util.find_spec("jupyterlab")
    if spec is None or spec.origin is None:
        raise RuntimeError("building Tandem's JupyterLab extension needs jupyterlab installed")
    core = Path(spec.origin).parent / "staging"
    if not (source / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=source, check=True)
    subprocess.run([str(source / "node_modules" / ".bin" / "tsc")], cwd=source, check=True)
    builder = source / "node_modules" / "@jupyterlab" / "builder" / "lib" / "build-labextension.js"
    mode = ["--development"] if development else []
    subprocess.run(
        ["node", str(builder), *mode, "--core-path", str(core), "."], cwd=source, check=True
    )


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "building Tandem's web app and lab extension needs Node.js and npm "
            "(or TANDEM_SKIP_WEB_BUILD=1 with both already built)"
        )
    return npm


def _fresh(bundle: Path, sources: Path) -> bool:
    """The bundle exists and no source is newer (or there are no sources to build from)."""
    if not bundle.exists():
        return False
    if not sources.exists():
        return True
    built = bundle.stat().st_mtime
    return all(path.stat().st_mtime <= built for path in sources.rglob("*") if path.is_file())
