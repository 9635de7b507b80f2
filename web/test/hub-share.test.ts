import assert from "node:assert/strict";
import { test } from "node:test";

import { granteeName } from "../src/owner/format";
import { covers, hubName } from "../src/owner/hub";
import type { HubGrant } from "../src/owner/types";

test("grants name hub users and groups as the hub does, guests by the name they gave", () => {
  assert.equal(granteeName({ guest_session_id: "hub:bob", display_name: "bob" }), "bob (hub user)");
  assert.equal(granteeName({ guest_session_id: "hub-group:ta", display_name: "ta" }), "group ta");
  assert.equal(granteeName({ guest_session_id: "5f1e...", display_name: "Grace" }), "Grace");
  assert.equal(hubName({ kind: "group", name: "ta" } as HubGrant), "group ta");
  assert.equal(hubName({ kind: "user", name: "bob" } as HubGrant), "bob");
});

test("a hub grant is listed for the paths its scope covers", () => {
  assert.ok(covers("demo.ipynb", false, "demo.ipynb"));
  assert.ok(!covers("demo.ipynb", false, "other.ipynb"));
  assert.ok(covers("course", true, "course/week1.ipynb"));
  assert.ok(!covers("course", true, "courses/x.ipynb"));
  assert.ok(covers("", true, "anything.ipynb"));
});
