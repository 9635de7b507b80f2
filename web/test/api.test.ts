import assert from "node:assert/strict";
import { test } from "node:test";

import { errorOf } from "../src/shared/api";

test("errorOf reads Tandem's one error shape", () => {
  assert.deepEqual(errorOf(409, { message: "The cell changed", reason: "source_changed", cell_id: "c1" }), {
    status: 409,
    reason: "source_changed",
    message: "The cell changed",
  });
});

test("errorOf falls back when the body is not the shape", () => {
  assert.deepEqual(errorOf(502, "<html>", "Bad Gateway"), { status: 502, reason: "", message: "Bad Gateway" });
  assert.deepEqual(errorOf(500, null), { status: 500, reason: "", message: "HTTP 500" });
  assert.equal(errorOf(400, { message: "", reason: 7 }, "refused").message, "refused");
  assert.equal(errorOf(400, { error: "old shape" }).reason, "");
});
