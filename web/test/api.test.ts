import assert from "node:assert/strict";
import { test } from "node:test";

import { errorOf, requestJson, xsrfToken } from "../src/shared/api";

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

test("the _xsrf cookie is read among others", () => {
  assert.equal(xsrfToken("a=1; _xsrf=2%7Cab; b=3"), "2|ab");
  assert.equal(xsrfToken("a=1"), "");
});

test("GETs carry the XSRF token too (JupyterHub refuses cookie-authenticated GETs without it)", async () => {
  const seen: Record<string, string>[] = [];
  const realFetch = globalThis.fetch;
  (globalThis as any).document = { cookie: "_xsrf=tok" };
  globalThis.fetch = (async (_url: string, init: RequestInit) => {
    seen.push(init.headers as Record<string, string>);
    return new Response("{}", { status: 200 });
  }) as typeof fetch;
  try {
    await requestJson("GET", "/user/alice/tandem/api/me/demo.ipynb");
    await requestJson("POST", "/user/alice/tandem/api/execution/run/demo.ipynb", {});
  } finally {
    globalThis.fetch = realFetch;
    delete (globalThis as any).document;
  }
  assert.deepEqual(
    seen.map((h) => h["X-XSRFToken"]),
    ["tok", "tok"],
  );
});
