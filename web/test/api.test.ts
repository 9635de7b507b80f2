import assert from "node:assert/strict";
import { test } from "node:test";

import { requestJson, xsrfToken } from "../src/shared/api";

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
