"""The script that runs first in every output frame, before any output: no WebRTC.

The frame's Content-Security-Policy stops fetches, but WebRTC's ICE gathering sends STUN
and TURN datagrams no CSP governs (Chromium does not implement CSP's ``webrtc``
directive). So before the output's HTML is written, this script replaces the WebRTC
constructors (``RTCPeerConnection`` and the rest) with ones that throw, as
non-configurable properties, in the frame and in every frame the output creates inside
it: frames reached through ``contentWindow``/``contentDocument``, frames inserted by DOM
calls or by the parser (locked before the next script runs), and ``srcdoc`` documents
(the guard is prepended to their content).

What remains is said in docs/security.md: a frame the output navigates to a new document
by some way not listed here would get fresh constructors; the frame stays an opaque
origin without cookies or the owner's token either way.
"""

from __future__ import annotations

import json

__all__ = ["FRAME_GUARD", "FRAME_GUARD_JSON"]

FRAME_GUARD = r"""(function guard(win) {
  var NAMES = ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
    "RTCSessionDescription", "RTCIceCandidate", "RTCRtpSender", "RTCRtpReceiver",
    "RTCRtpTransceiver", "RTCDtlsTransport", "RTCIceTransport", "RTCSctpTransport",
    "RTCCertificate", "RTCDTMFSender", "RTCStatsReport", "RTCTrackEvent",
    "RTCPeerConnectionIceEvent", "RTCDataChannelEvent", "RTCError", "RTCErrorEvent",
    "RTCIceGatherer", "RTCEncodedAudioFrame", "RTCEncodedVideoFrame"];
  var SELF = "(" + guard.toString() + ")(window);";
  function disabled() { throw new Error("WebRTC is disabled in Tandem's output frames"); }
  function lock(w) {
    try { if (!w || w.__tandemGuarded) return; } catch (e) { return; }
    try {
      Object.defineProperty(w, "__tandemGuarded", {value: true});
      NAMES.forEach(function (name) {
        try {
          Object.defineProperty(w, name, {value: disabled, writable: false, configurable: false});
        } catch (e) {}
      });
      if (w.navigator && w.navigator.mediaDevices) {
        try { Object.defineProperty(w.navigator, "mediaDevices", {value: undefined}); } catch (e) {}
      }
      hook(w);
    } catch (e) {}
  }
  function lockFrames(w) {
    try { for (var i = 0; i < w.length; i++) lock(w[i]); } catch (e) {}
  }
  function wrapGetter(proto, name, after) {
    var d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d || !d.get) return;
    Object.defineProperty(proto, name, {configurable: false, enumerable: d.enumerable,
      get: function () { var v = d.get.call(this); after(v); return v; },
      set: d.set});
  }
  function wrapSetter(proto, name, transform) {
    var d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d || !d.set) return;
    Object.defineProperty(proto, name, {configurable: false, enumerable: d.enumerable,
      get: d.get, set: function (v) { d.set.call(this, transform(this, v)); }});
  }
  function wrapMethod(proto, name, w) {
    var f = proto[name];
    if (typeof f !== "function") return;
    Object.defineProperty(proto, name, {configurable: false, writable: false,
      value: function () { var r = f.apply(this, arguments); lockFrames(w); return r; }});
  }
  function guardedSrcdoc(el, value) {
    return "<script>" + SELF + "</scr" + "ipt>" + String(value);
  }
  function hook(w) {
    ["HTMLIFrameElement", "HTMLFrameElement", "HTMLObjectElement", "HTMLEmbedElement"]
      .forEach(function (c) {
        var C = w[c];
        if (!C) return;
        wrapGetter(C.prototype, "contentWindow", lock);
        wrapGetter(C.prototype, "contentDocument", function (d) { if (d) lock(d.defaultView); });
      });
    if (w.HTMLIFrameElement) wrapSetter(w.HTMLIFrameElement.prototype, "srcdoc", guardedSrcdoc);
    var setAttribute = w.Element.prototype.setAttribute;
    Object.defineProperty(w.Element.prototype, "setAttribute", {configurable: false,
      writable: false, value: function (name, value) {
        if (String(name).toLowerCase() === "srcdoc" && this instanceof w.HTMLIFrameElement) {
          value = guardedSrcdoc(this, value);
        }
        return setAttribute.call(this, name, value);
      }});
    ["appendChild", "insertBefore", "replaceChild"].forEach(function (m) {
      wrapMethod(w.Node.prototype, m, w);
    });
    ["append", "prepend", "after", "before", "replaceWith", "insertAdjacentElement",
      "insertAdjacentHTML", "replaceChildren"].forEach(function (m) {
      wrapMethod(w.Element.prototype, m, w);
    });
    ["write", "writeln"].forEach(function (m) { wrapMethod(w.Document.prototype, m, w); });
    ["innerHTML", "outerHTML"].forEach(function (p) {
      var d = Object.getOwnPropertyDescriptor(w.Element.prototype, p);
      if (!d || !d.set) return;
      Object.defineProperty(w.Element.prototype, p, {configurable: false, get: d.get,
        set: function (v) { d.set.call(this, v); lockFrames(w); }});
    });
    try {
      new w.MutationObserver(function (records) {
        records.forEach(function (r) {
          r.addedNodes.forEach(function (n) {
            if (n.nodeType !== 1) return;
            var frames = n.matches && n.matches("iframe") ? [n] : [];
            if (n.querySelectorAll) {
              frames = frames.concat([].slice.call(n.querySelectorAll("iframe")));
            }
            frames.forEach(function (f) {
              var raw = f.getAttribute("srcdoc");
              if (raw !== null && raw.indexOf(SELF) < 0) f.setAttribute("srcdoc", raw);
            });
          });
        });
        lockFrames(w);
      }).observe(w.document, {childList: true, subtree: true});
    } catch (e) {}
  }
  lock(win);
})(window);"""

FRAME_GUARD_JSON = json.dumps(FRAME_GUARD)
"""The guard as a JavaScript string literal, for the frame page to write first."""
