import assert from "node:assert/strict";
import { test } from "node:test";

import { RUN_WARNING, runNote } from "../src/owner/share";

test("a run link's note says whether code is confined, or runs as you and who chose it", () => {
  assert.match(runNote({ mode: "confined", scope: "class", network: "none" }), /confined to class \(no network\)/);
  const chosen = runNote({ mode: "as_owner", reason: "Landlock is not available", chosen_by: "link" });
  assert.match(chosen, /cannot confine code \(Landlock is not available\); you chose this for this link/);
  assert.ok(chosen.endsWith(RUN_WARNING));
  assert.match(runNote({ mode: "as_owner", reason: "", chosen_by: "server" }), /guests_run_as_me/);
  assert.equal(runNote(undefined), RUN_WARNING);
});
