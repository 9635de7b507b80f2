"""A real JupyterHub on loopback for Tandem's hub tests.

One hub per test module: ``jupyterhub`` from PyPI, ``configurable-http-proxy`` from npm
(``tests/hub/node``, installed by ``make setup``), DummyAuthenticator (any password),
SimpleLocalProcessSpawner, JupyterHub sharing enabled for every user, and a ``tests``
service whose token the tests use as the hub admin would. Users' servers run this
checkout's Tandem under ``jupyterhub-singleuser`` (with JupyterLab), each in its own
temporary home.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tandem.testing import free_port

HERE = Path(__file__).parent
PROXY = HERE / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent
PASSWORD = "any password"

CONFIG = """
c = get_config()  # noqa
c.JupyterHub.bind_url = {url!r}
c.JupyterHub.public_url = {url!r}
c.JupyterHub.hub_bind_url = {hub_url!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.pid_file = {pid_file!r}
c.JupyterHub.cleanup_servers = True
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.ConfigurableHTTPProxy.debug = False
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {environment!r}
# What Tandem needs of the server's own hub token (docs/jupyterhub.md): check names,
# create and remove the hub share for people Tandem shares with. Dave's server is the
# one whose admin forgot shares!server.
SCOPES = [
    "users:activity!user", "access:servers!server", "shares!server",
    "read:users:name", "read:groups:name",
]
c.Spawner.server_token_scopes = lambda spawner: [
    s for s in SCOPES if spawner.user.name != "dave" or s != "shares!server"
]
c.JupyterHub.services = [{{"name": "tests", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    # JupyterHub 5 sharing: every user may share their own servers.
    {{"name": "user", "scopes": ["self", "shares!user", "read:users:name", "read:groups:name"]}},
    {{"name": "tests", "scopes": ["admin:users", "admin:servers", "shares", "read:users",
        "admin:groups", "read:groups", "tokens"], "services": ["tests"]}},
]
"""


class Hub:
    """A running hub; ``api`` calls its REST API with the ``tests`` service's token."""

    def __init__(self, state: Path, homes: Path) -> None:
        self.state, self.homes = state, homes
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = state / "jupyterhub.log"

    def write_config(self) -> Path:
        self.state.mkdir(parents=True, exist_ok=True)
        self.homes.mkdir(parents=True, exist_ok=True)
        # window.jupyterapp, for the tests to open JupyterLab's panels by command.
        args = ["--ServerApp.log_level=INFO", "--LabApp.expose_app_in_browser=True"]
        if os.getuid() == 0:
            args.append("--allow-root")  # CI runs as root; Jupyter refuses it otherwise
        config = CONFIG.format(
            url=self.url,
            hub_url=f"http://127.0.0.1:{self.hub_port}",
            db_url=f"sqlite:///{self.state / 'jupyterhub.sqlite'}",
            cookie_secret=str(self.state / "cookie_secret"),
            pid_file=str(self.state / "jupyterhub.pid"),
            proxy=str(PROXY),
            proxy_api=f"http://127.0.0.1:{self.proxy_api_port}",
            proxy_pid=str(self.state / "proxy.pid"),
            homes=str(self.homes),
            singleuser=str(BIN / "jupyterhub-singleuser"),
            args=args,
            environment={"TANDEM_TEST": "1"},
            token=self.token,
        )
        path = self.state / "jupyterhub_config.py"
        path.write_text(config, encoding="utf-8")
        return path

    async def start(self, timeout: float = 90.0) -> None:
        if not PROXY.exists():
            raise RuntimeError(
                f"{PROXY} is missing: run `make setup` (npm install in tests/hub/node)"
            )
        config = self.write_config()
        env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.state,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"jupyterhub exited:\n{self.log_tail()}")
                try:
                    response = await client.get(f"{self.url}/hub/api/", timeout=5)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyterhub did not start:\n{self.log_tail()}")
                await asyncio.sleep(0.3)

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as client:
            return await client.request(
                method,
                f"{self.url}/hub/api{path}",
                headers={"Authorization": f"token {self.token}"},
                content=None if body is None else json.dumps(body),
            )

    async def add_user(self, name: str, admin: bool = False) -> None:
        response = await self.api("POST", f"/users/{name}", {"admin": admin})
        assert response.status_code in (201, 409), response.text

    async def spawn(self, name: str, timeout: float = 120.0) -> None:
        response = await self.api("POST", f"/users/{name}/server")
        assert response.status_code in (201, 202, 400), response.text
        deadline = time.monotonic() + timeout
        while True:
            model = (await self.api("GET", f"/users/{name}")).json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s server did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.5)

    async def stop_server(self, name: str, timeout: float = 60.0) -> None:
        """Stop ``name``'s server (a login may have spawned it) and wait until it is gone."""
        response = await self.api("DELETE", f"/users/{name}/server")
        assert response.status_code in (202, 204, 400), response.text
        deadline = time.monotonic() + timeout
        while (await self.api("GET", f"/users/{name}")).json().get("servers", {}).get(""):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s server did not stop:\n{self.log_tail()}")
            await asyncio.sleep(0.3)

    async def share(self, owner: str, user: str) -> None:
        response = await self.api("POST", f"/shares/{owner}/", {"user": user})
        assert response.status_code == 200, response.text

    async def unshare(self, owner: str, user: str) -> None:
        response = await self.api("PATCH", f"/shares/{owner}/", {"user": user})
        assert response.status_code == 200, response.text


class HubBrowser:
    """An HTTP client that logs in to the hub and follows its OAuth to a user's server
    (accepting the hub's consent page, as a person clicking "Authorize" would)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.http = httpx.AsyncClient(base_url=hub.url, follow_redirects=True, timeout=60)

    async def login(self, name: str) -> None:
        page = await self.http.get("/hub/login")
        xsrf = _xsrf(page.text) or self.http.cookies.get("_xsrf", "")
        response = await self.http.post(
            "/hub/login", data={"username": name, "password": PASSWORD, "_xsrf": xsrf}
        )
        assert response.status_code == 200, (response.status_code, response.text[:300])

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        if "/hub/api/oauth2/authorize" in str(response.url) and response.status_code == 200:
            xsrf = _xsrf(response.text) or ""
            scopes = re.findall(r'name="scopes" value="([^"]*)"', response.text)
            response = await self.http.post(
                str(response.url), data={"_xsrf": xsrf, "scopes": scopes}
            )
            if response.url.path != httpx.URL(self.hub.url + path).path:
                response = await self.http.get(path, **kwargs)
        return response

    def xsrf_headers(self, owner: str) -> dict[str, str]:
        """The single-user server's XSRF cookie, echoed as the web app does."""
        for cookie in self.http.cookies.jar:
            if cookie.name == "_xsrf" and cookie.path.startswith(f"/user/{owner}"):
                return {"X-XSRFToken": cookie.value or ""}
        return {}

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)

    async def close(self) -> None:
        await self.http.aclose()


def _xsrf(text: str) -> str | None:
    found = re.search(r'name="_xsrf" value="([^"]+)"', text)
    return found.group(1) if found else None


async def editor_room_token(browser: HubBrowser, owner: str, path: str) -> str | None:
    """The room token Tandem's editor page gives this browser (link guests only)."""
    page = await browser.http.get(f"/user/{owner}/tandem/notebook/{path}")
    found = re.search(r'id="tandem-config">(.*?)</script>', page.text)
    if page.status_code != 200 or found is None:
        return None
    token = json.loads(found.group(1)).get("roomToken")
    return str(token) if token else None


async def room_peer(
    browser: HubBrowser, owner: str, path: str, *, page_token: bool = True, wait: bool = True
) -> Any:
    """A YPeer in ``owner``'s room for ``path``, through the hub's proxy, with the
    browser's cookies and (``page_token``) the editor page's room token, as JupyterLab
    or Tandem's editor connects."""
    from tandem.testing import YPeer

    prefix = f"/user/{owner}"
    response = await browser.http.put(
        f"{prefix}/api/collaboration/session/{path}",
        json={"format": "json", "type": "notebook"},
        headers=browser.xsrf_headers(owner),
    )
    assert response.status_code in (200, 201), (response.status_code, response.text[:300])
    info = response.json()
    ws = browser.hub.url.replace("http", "ws", 1)
    url = (
        f"{ws}{prefix}/api/collaboration/room/json:notebook:{info['fileId']}"
        f"?sessionId={info['sessionId']}"
    )
    token = await editor_room_token(browser, owner, path) if page_token else None
    if token:
        url += f"&roomToken={token}"
    peer = YPeer()
    await peer.connect(url, {"Cookie": browser.cookie_header(), "Origin": browser.hub.url})
    if wait:
        await peer.wait_synced()
    return peer
