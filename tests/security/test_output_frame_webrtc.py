"""Item 15: the output frame cannot reach the network by WebRTC.

The attack: an HTML output's script opens an ``RTCPeerConnection`` with a STUN server on
a loopback UDP port; ICE gathering sends STUN binding requests there, past the frame's
Content-Security-Policy. Real Chromium, real editor; a UDP socket listens on the port.
"""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tandem.testing import TandemServer
from tests.browser.test_editor import open_owner

INNER = (
    "<script>var pc = new RTCPeerConnection({iceServers: [{urls: 'stun:127.0.0.1:__PORT__'}]});"
    "pc.createDataChannel('x'); pc.createOffer().then(function (o) {"
    " return pc.setLocalDescription(o); });</script>"
)
WEBRTC = """<p id="webrtc">webrtc</p>
<iframe srcdoc="__INNER_ATTR__"></iframe><script>
(function () {
  var port = __PORT__;
  function attempt(win, label) {
    try {
      var Peer = win.RTCPeerConnection || win.webkitRTCPeerConnection;
      var pc = new Peer({iceServers: [{urls: "stun:127.0.0.1:" + port}]});
      pc.createDataChannel("x");
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); });
      document.body.dataset[label] = "opened";
    } catch (e) {
      document.body.dataset[label] = "blocked";
    }
  }
  attempt(window, "direct");
  try {
  var child = document.createElement("iframe");
  document.body.appendChild(child);
  attempt(child.contentWindow, "child");
  attempt(window.frames[0], "frames");
  var saved = window.RTCPeerConnection;
  try { delete window.RTCPeerConnection; } catch (e) {}
  attempt(window, "deleted");
  var doc = document.createElement("iframe");
  doc.srcdoc = __INNER_JS__;
  document.body.appendChild(doc);
  var attr = document.createElement("iframe");
  attr.setAttribute("srcdoc", __INNER_JS__);
  document.body.appendChild(attr);
  } catch (e) { document.body.dataset.error = String(e); }
  document.body.dataset.done = "yes";
})();
</script>"""


def attack(port: int) -> str:
    inner = INNER.replace("__PORT__", str(port))
    return (
        WEBRTC.replace("__INNER_ATTR__", html.escape(inner, quote=True))
        .replace("__INNER_JS__", json.dumps(inner).replace("</", "<\\/"))
        .replace("__PORT__", str(port))
    )


class Listener(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


async def test_no_stun_datagram_leaves_the_output_frame(
    server: TandemServer, browser: Any, root: Path
) -> None:
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(Listener, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        cell = new_code_cell("display(HTML(...))")
        cell.outputs = [new_output("display_data", data={"text/html": attack(port)})]
        nbformat.write(new_notebook(cells=[cell]), root / "webrtc.ipynb")
        page = await open_owner(browser, server, "webrtc.ipynb")
        await page.locator("iframe.tc-output-frame").first.wait_for(state="attached")

        async def output_frame() -> Any:
            for _ in range(200):
                for frame in page.frames:
                    if frame.url.endswith("/tandem/output-frame"):
                        if await frame.locator("#webrtc").count():
                            return frame
                await asyncio.sleep(0.05)
            raise AssertionError("the output frame never rendered")

        frame = await output_frame()
        await frame.wait_for_function("() => document.body.dataset.done === 'yes'")
        await asyncio.sleep(4)  # ICE gathering sends its first STUN request at once
        assert listener.datagrams == [], "a STUN datagram left the output frame"
        data = await frame.evaluate("() => ({...document.body.dataset})")
        assert data["direct"] == "blocked", data
        assert "error" not in data, data["error"]
        await page.context.close()
    finally:
        transport.close()
