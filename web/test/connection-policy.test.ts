import assert from "node:assert/strict";
import { test } from "node:test";

import {
  backoffDelay,
  bannerFor,
  closeAction,
  OFFLINE_AFTER_MS,
  STALE_PAGE,
  sessionAction,
} from "../src/editor/connection-policy";

test("close codes: revoked, gone and bad files are final; the rest reconnect", () => {
  assert.deepEqual(closeAction(4403, "Your access was revoked"), { kind: "revoked", message: "Your access was revoked" });
  assert.deepEqual(closeAction(4403, ""), { kind: "revoked", message: "Your access was revoked" });
  assert.equal(closeAction(4403, "Your access expired").kind, "revoked");
  assert.deepEqual(closeAction(4403, STALE_PAGE), { kind: "stale", message: STALE_PAGE });
  assert.deepEqual(closeAction(4404, "gone"), { kind: "gone" });
  assert.equal(closeAction(4400, "not a notebook").kind, "fatal");
  assert.equal(closeAction(1007, "").kind, "fatal");
  assert.equal(closeAction(1009, "").kind, "fatal");
  for (const code of [1000, 1001, 1006, 1011, 1012, 4500]) {
    assert.deepEqual(closeAction(code, ""), { kind: "reconnect" }, String(code));
  }
});

test("close 1003: an unknown session re-asks the session endpoint; a failed room is an error", () => {
  assert.deepEqual(closeAction(1003, '{"reason":"unknown_session","sessionId":"x","reloadable":true}'), { kind: "resync" });
  const failed = closeAction(1003, '{"reason":"initialization_error","sessionId":"","reloadable":false,"errorReason":"boom"}');
  assert.equal(failed.kind, "fatal");
  assert.match((failed as { message: string }).message, /boom/);
  assert.deepEqual(closeAction(1003, "not json"), { kind: "resync" });
});

test("session answers: open, resume the same epoch, reset on a new one", () => {
  const first = { fileId: "f1", sessionId: "s1" };
  assert.deepEqual(sessionAction(null, 200, first), { kind: "open", session: first });
  assert.deepEqual(sessionAction(first, 200, { ...first, format: "json" }), { kind: "resume", session: first });
  assert.deepEqual(sessionAction(first, 200, { fileId: "f1", sessionId: "s2" }), {
    kind: "reset",
    session: { fileId: "f1", sessionId: "s2" },
  });
  assert.equal(sessionAction(first, 201, { fileId: "f2", sessionId: "s1" }).kind, "reset");
});

test("session answers: denied, gone, retry and bad bodies", () => {
  assert.equal(sessionAction(null, 403, {}).kind, "denied");
  assert.equal(sessionAction(null, 401, {}).kind, "denied");
  assert.equal(sessionAction(null, 404, {}).kind, "gone");
  assert.equal(sessionAction(null, 400, { message: "bad" }).kind, "fatal");
  for (const status of [0, 500, 502, 503]) assert.equal(sessionAction(null, status, null).kind, "retry");
  assert.equal(sessionAction(null, 200, { fileId: 3 }).kind, "retry");
});

test("backoff grows and is capped", () => {
  assert.equal(backoffDelay(0), 250);
  assert.equal(backoffDelay(1), 500);
  assert.equal(backoffDelay(3), 2000);
  assert.equal(backoffDelay(10), 4000);
  assert.equal(backoffDelay(-1), 250);
});

test("banner: reconnecting turns into offline after a while, or at once when the browser is offline", () => {
  const since = 1_000_000;
  assert.equal(bannerFor({ kind: "online" }, since).state, "online");
  assert.equal(bannerFor({ kind: "online" }, since).message, "");
  assert.equal(bannerFor({ kind: "reconnecting", since }, since + 10).state, "reconnecting");
  assert.equal(bannerFor({ kind: "reconnecting", since }, since + OFFLINE_AFTER_MS).state, "offline");
  assert.equal(bannerFor({ kind: "reconnecting", since }, since + 10, false).state, "offline");
  assert.match(bannerFor({ kind: "reconnecting", since }, since + OFFLINE_AFTER_MS).message, /changes/);
  assert.equal(bannerFor({ kind: "revoked", message: "Your access was revoked" }, 0).message, "Your access was revoked");
  assert.equal(bannerFor({ kind: "gone" }, 0).state, "gone");
  assert.equal(bannerFor({ kind: "fatal", message: "x" }, 0).state, "error");
});
