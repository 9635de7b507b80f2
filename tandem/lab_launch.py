"""``tandem lab [ROOT]``: JupyterLab on Tandem, started from the command line.

Kept apart from :mod:`tandem.lab` (what the extension tells JupyterLab's frontend) so that
the extension never imports the application that loads it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from .app import TandemApp
from .lab import INSTALL_HINT

__all__ = ["lab_installed", "launch", "tandem_url"]


def lab_installed() -> bool:
    return importlib.util.find_spec("jupyterlab") is not None


def launch(argv: list[str]) -> None:
    """``tandem lab [ROOT] [options]``: JupyterLab on Tandem. Every server extension the
    environment enables loads too (as with ``jupyter lab``), plus JupyterLab and the
    file-id service, with Tandem's identity provider and authorizer (guests)."""
    if not lab_installed():
        print(f"tandem lab: JupyterLab is not installed. Run: {INSTALL_HINT}", file=sys.stderr)
        raise SystemExit(2)

    class TandemLabLauncher(TandemApp):
        @classmethod
        def initialize_server(
            cls, argv: Any = None, load_other_extensions: bool = True, **kwargs: Any
        ) -> Any:
            extensions = {"tandem": True, "jupyter_server_fileid": True, "jupyterlab": True}
            serverapp = cls.make_serverapp(jpserver_extensions=extensions, **kwargs)
            serverapp.aliases.update(cls.aliases)
            serverapp.initialize(argv=argv or [], starter_extension=cls.name, find_extensions=True)
            serverapp.log.info("Tandem (sharing, people, its editor): %s", tandem_url(serverapp))
            return serverapp

    TandemLabLauncher.launch_instance(["--TandemApp.default_url=/lab", *argv])


def tandem_url(serverapp: Any) -> str:
    """The owner's ``/tandem/`` URL, printed beside JupyterLab's ``/lab`` one (with the
    token only where Jupyter prints it, i.e. a generated one)."""
    from urllib.parse import urlparse

    from jupyter_server.utils import url_path_join

    local = urlparse(serverapp.local_url)
    return local._replace(path=url_path_join(serverapp.base_url, "tandem/")).geturl()
