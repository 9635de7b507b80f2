import assert from "node:assert/strict";
import { test } from "node:test";

import { clampFrameHeight, MAX_FRAME_HEIGHT, MIN_FRAME_HEIGHT } from "../src/editor/output-frame";
import {
  errorText,
  FRAMED_MIME,
  frameHtml,
  imageDataUrl,
  joinText,
  latexBody,
  outputKind,
  pickMime,
} from "../src/editor/output-model";
import { mergeStreams } from "../src/editor/outputs";

test("the richest representation wins, widgets fall back to text", () => {
  assert.equal(pickMime({ "text/plain": "x", "text/html": "<b>x</b>" }), "text/html");
  assert.equal(pickMime({ "text/plain": "x", "image/png": "AAAA" }), "image/png");
  assert.equal(pickMime({ "image/svg+xml": "<svg/>", "image/png": "AAAA" }), "image/svg+xml");
  assert.equal(pickMime({ "text/plain": "x", "text/latex": "$x$" }), "text/latex");
  assert.equal(pickMime({ "text/plain": "x", "application/javascript": "1" }), "application/javascript");
  assert.equal(pickMime({ "application/vnd.jupyter.widget-view+json": {}, "text/plain": "Slider" }), "text/plain");
  assert.equal(pickMime({ "application/x-custom": "?" }), "application/x-custom");
  assert.equal(pickMime({}), null);
  assert.equal(pickMime(null), null);
});

test("HTML and JavaScript are the only MIME types that go to the sandbox", () => {
  assert.deepEqual([...FRAMED_MIME].sort(), ["application/javascript", "text/html"]);
  assert.equal(frameHtml("text/html", ["<b>", "x</b>"]), "<b>x</b>");
  const js = frameHtml("application/javascript", "a = '</script><b>'");
  assert.ok(js.endsWith("<script>a = '<\\/script><b>'</script>"), js);
  assert.ok(js.startsWith('<div id="output"></div><script>var element = document.getElementById("output");</script>'), js);
});

test("multiline strings, errors and kinds", () => {
  assert.equal(joinText(["a\n", "b"]), "a\nb");
  assert.equal(joinText(undefined), "");
  assert.equal(joinText(3), "3");
  assert.equal(outputKind({ output_type: "stream" }), "stream");
  assert.equal(outputKind({ output_type: "bogus" }), "unknown");
  assert.equal(errorText({ ename: "ValueError", evalue: "bad", traceback: [] }), "ValueError: bad");
  assert.equal(errorText({ ename: "E", evalue: "v", traceback: ["line 1", "line 2"] }), "line 1\nline 2");
});

test("images must be base64; anything else is refused", () => {
  assert.equal(imageDataUrl("image/png", "iVBO\nRw0K"), "data:image/png;base64,iVBORw0K");
  assert.equal(imageDataUrl("image/png", 'x" onerror="alert(1)'), null);
  assert.equal(imageDataUrl("image/png", "javascript:alert(1)"), null);
});

test("latex outputs lose their delimiters", () => {
  assert.equal(latexBody("$$\\frac{1}{2}$$"), "\\frac{1}{2}");
  assert.equal(latexBody(" $x^2$ "), "x^2");
  assert.equal(latexBody("\\[a\\]"), "a");
  assert.equal(latexBody("\\begin{align}a\\end{align}"), "\\begin{align}a\\end{align}");
});

test("frame heights are clamped and must be numbers", () => {
  assert.equal(clampFrameHeight(120.4), 120);
  assert.equal(clampFrameHeight(1e9), MAX_FRAME_HEIGHT);
  assert.equal(clampFrameHeight(-5), MIN_FRAME_HEIGHT);
  assert.equal(clampFrameHeight("100"), null);
  assert.equal(clampFrameHeight(Number.NaN), null);
});

test("consecutive stream outputs to the same stream are shown as one", () => {
  const merged = mergeStreams([
    { output_type: "stream", name: "stdout", text: "a\n" },
    { output_type: "stream", name: "stdout", text: ["b\n"] },
    { output_type: "stream", name: "stderr", text: "c\n" },
    { output_type: "execute_result", data: { "text/plain": "1" } },
    { output_type: "stream", name: "stdout", text: "d" },
  ]);
  assert.deepEqual(merged.map((o) => [o.output_type, o.name ?? "", joinText(o.text)]), [
    ["stream", "stdout", "a\nb\n"],
    ["stream", "stderr", "c\n"],
    ["execute_result", "", ""],
    ["stream", "stdout", "d"],
  ]);
});
