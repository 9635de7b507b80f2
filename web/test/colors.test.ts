import assert from "node:assert/strict";
import { test } from "node:test";

import { contrastRatio, initialsOf, safeColor, textColorOn, translucent } from "../src/shared/colors";

test("only hex colours pass; anything else becomes grey", () => {
  assert.equal(safeColor("#1F77B4"), "#1f77b4");
  assert.equal(safeColor("#abc"), "#abc");
  for (const bad of ["red", "var(--x)", "#12345", "#1234567", "url(x)", "#fff; color: red", 3, null]) {
    assert.equal(safeColor(bad), "#7f7f7f", String(bad));
  }
});

test("label text is black or white, whichever has more contrast (the server's palette)", () => {
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e"];
  for (const color of palette) {
    const text = textColorOn(color);
    assert.ok(contrastRatio(color, text) >= 4.0, `${color} with ${text}: ${contrastRatio(color, text).toFixed(2)}`);
  }
  assert.equal(textColorOn("#000000"), "#ffffff");
  assert.equal(textColorOn("#ffffff"), "#000000");
});

test("translucent colours and initials", () => {
  assert.equal(translucent("#ff0000", 0.25), "rgba(255, 0, 0, 0.25)");
  assert.equal(initialsOf("Ada Lovelace"), "AL");
  assert.equal(initialsOf("grace"), "G");
  assert.equal(initialsOf("  "), "?");
  assert.equal(initialsOf("émile zola"), "ÉZ");
});
