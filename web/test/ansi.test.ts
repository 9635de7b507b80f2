import assert from "node:assert/strict";
import { test } from "node:test";

import { ansiToHtml, applyTerminalControls, stripAnsi } from "../src/editor/ansi";

test("carriage returns overwrite the line, as a progress bar expects", () => {
  assert.equal(applyTerminalControls("10%\r50%\r100%\ndone"), "100%\ndone");
  assert.equal(applyTerminalControls("abcdef\rXY"), "XYcdef");
  assert.equal(applyTerminalControls("a\r\nb"), "a\nb");
  assert.equal(applyTerminalControls("abc\b\bX"), "aX");
  assert.equal(applyTerminalControls("plain"), "plain");
});

test("ANSI colours become classes and HTML is escaped", () => {
  const html = ansiToHtml("\x1b[31mValueError\x1b[0m: <script>alert(1)</script> & more");
  assert.match(html, /<span class="ansi-red-fg">ValueError<\/span>/);
  assert.ok(!html.includes("<script>"));
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; more/);
});

test("a traceback keeps its colours and lines", () => {
  const traceback = "\x1b[0;31m---------\x1b[0m\n\x1b[0;31mZeroDivisionError\x1b[0m Traceback\n\x1b[1;32m----> 1\x1b[0m 1/0";
  const html = ansiToHtml(traceback);
  assert.equal(html.split("\n").length, 3);
  assert.match(html, /ansi-red-fg/);
  assert.match(html, /ansi-green-fg|ansi-bright-green-fg/);
  assert.equal(stripAnsi(traceback), "---------\nZeroDivisionError Traceback\n----> 1 1/0");
});
