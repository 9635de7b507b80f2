import assert from "node:assert/strict";
import { test } from "node:test";

import { ActivityTracker, LABEL_VISIBLE_MS, peopleByCell, peopleFrom, personFrom, viewerCountFrom } from "../src/editor/presence";

test("a caret label shows while its owner is active and fades after a few seconds", () => {
  const activity = new ActivityTracker();
  assert.equal(activity.isActive(7, 0), false);
  assert.equal(activity.observe(7, { cursors: [{ head: 1 }], cell: "a" }, 1000), true);
  assert.equal(activity.isActive(7, 1000), true);
  assert.equal(activity.isActive(7, 1000 + LABEL_VISIBLE_MS - 1), true);
  assert.equal(activity.isActive(7, 1000 + LABEL_VISIBLE_MS), false);
  assert.equal(activity.nextExpiry(1500), 1000 + LABEL_VISIBLE_MS);
  assert.equal(activity.nextExpiry(1000 + LABEL_VISIBLE_MS), null);
});

test("an unchanged state (awareness heartbeat) does not wake the label; a moved cursor does", () => {
  const activity = new ActivityTracker(3000);
  activity.observe(7, { cursors: [{ head: 1 }] }, 0);
  assert.equal(activity.observe(7, { cursors: [{ head: 1 }] }, 5000), false);
  assert.equal(activity.isActive(7, 5000), false);
  assert.equal(activity.observe(7, { cursors: [{ head: 2 }] }, 6000), true);
  assert.equal(activity.isActive(7, 6000), true);
  assert.equal(activity.observe(7, { cursors: [{ head: 2 }], cell: "b" }, 10000), true);
  assert.equal(activity.isActive(7, 10000), true);
});

test("a peer who leaves is forgotten", () => {
  const activity = new ActivityTracker(3000);
  activity.observe(7, { cell: "a" }, 0);
  activity.observe(7, null, 10);
  assert.equal(activity.isActive(7, 10), false);
  assert.equal(activity.nextExpiry(10), null);
});

test("people come from the server-stamped user field; colours are validated", () => {
  const person = personFrom(3, { user: { username: "u1", name: "Ada Lovelace", color: "#D62728", role: "edit" }, cell: "c1" });
  assert.deepEqual(person, {
    clientId: 3, username: "u1", name: "Ada Lovelace", initials: "AL", color: "#d62728", role: "edit", cell: "c1", isMe: false,
  });
  const evil = personFrom(4, { user: { username: "u2", name: "Eve", color: "red; background:url(//x)" } });
  assert.equal(evil?.color, "#7f7f7f");
  assert.equal(personFrom(5, null), null);
});

test("peopleFrom leaves out this tab and states without a user, one entry per person", () => {
  const states = new Map<number, any>([
    [1, { user: { username: "me", name: "Me" } }],
    [2, { user: { username: "ada", name: "Ada" }, cell: "c1" }],
    [3, { user: { username: "bob", name: "Bob" }, cell: "c2" }],
    [4, { cursor: null }],
    [5, { user: { username: "ada", name: "Ada" }, cell: null }],
  ]);
  const people = peopleFrom(states, 1);
  assert.deepEqual(people.map((p) => [p.username, p.clientId]), [["ada", 2], ["bob", 3]]);
  const byCell = peopleByCell(people);
  assert.deepEqual(byCell.get("c1")?.map((p) => p.name), ["Ada"]);
  assert.deepEqual(byCell.get("c2")?.map((p) => p.name), ["Bob"]);
});

test("the server's count of viewers is read from client id 0 and is not a person", () => {
  const states = new Map<number, Record<string, any>>([
    [0, { tandem: { viewers: 41 } }],
    [5, { user: { username: "ann", name: "Ann" } }],
  ]);
  assert.equal(viewerCountFrom(states), 41);
  assert.deepEqual(peopleFrom(states, 99).map((p) => p.username), ["ann"]);
  assert.equal(viewerCountFrom(new Map([[0, { tandem: { viewers: "many" } }]])), null);
  assert.equal(viewerCountFrom(new Map()), null);
});
