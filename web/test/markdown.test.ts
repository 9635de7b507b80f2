import assert from "node:assert/strict";
import { test } from "node:test";

import { markdownToHtml } from "../src/editor/markdown";

test("inline and display math are rendered by KaTeX", () => {
  const html = markdownToHtml("Energy $E = mc^2$ and\n\n$$\\int_0^1 x\\,dx$$\n");
  assert.match(html, /class="katex"/);
  assert.match(html, /class="katex-display"/);
  assert.match(html, /<math/); // MathML for screen readers
  assert.ok(!html.includes("$E"));
});

test("\\( \\) and \\[ \\] and LaTeX environments are math too", () => {
  assert.match(markdownToHtml("a \\(x^2\\) b"), /class="katex"/);
  assert.match(markdownToHtml("\\[x^2\\]"), /katex-display/);
  assert.match(markdownToHtml("\\begin{align}a &= b\\end{align}"), /katex-display/);
});

test("dollar amounts and code are not math", () => {
  const money = markdownToHtml("It costs $5 and $10 today.");
  assert.ok(!money.includes("katex"), money);
  const code = markdownToHtml("Use `$x$` literally\n\n```\n$$y$$\n```\n");
  assert.ok(!code.includes("katex"), code);
  assert.match(code, /<code>\$x\$<\/code>/);
});

test("bad TeX shows an error instead of throwing", () => {
  assert.match(markdownToHtml("$\\frac{1}{$"), /katex-error|katex/);
});

test("GitHub markdown: tables, headings, emphasis", () => {
  const html = markdownToHtml("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n*em* **strong**");
  assert.match(html, /<h1>Title<\/h1>/);
  assert.match(html, /<table>/);
  assert.match(html, /<em>em<\/em> <strong>strong<\/strong>/);
});
