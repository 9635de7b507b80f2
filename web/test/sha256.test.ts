import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { sha256Hex } from "../src/editor/sha256";

test("matches Node's SHA-256 on UTF-8, across block boundaries", () => {
  const samples = ["", "a", "abc", "print('hi')\n", "ünïcödé ✓ 🙂", "x".repeat(55), "x".repeat(56), "x".repeat(64), "y".repeat(1000)];
  for (const text of samples) {
    assert.equal(sha256Hex(text), createHash("sha256").update(text, "utf8").digest("hex"), JSON.stringify(text.slice(0, 20)));
  }
});
