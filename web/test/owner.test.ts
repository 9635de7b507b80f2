import assert from "node:assert/strict";
import { test } from "node:test";

import { Feed } from "../src/owner/feed";
import { peopleAt } from "../src/owner/files";
import { grantStatus, invitationStatus, localTime, relativeTime, timeZoneOf } from "../src/owner/format";

test("relative times read naturally, past and future", () => {
  const now = 1_000_000;
  assert.equal(relativeTime(now - 10, now), "just now");
  assert.equal(relativeTime(now - 5 * 60, now), "5 min ago");
  assert.equal(relativeTime(now - 3 * 3600, now), "3 h ago");
  assert.equal(relativeTime(now - 86400, now), "1 day ago");
  assert.equal(relativeTime(now + 2 * 86400, now), "in 2 days");
});

test("a grant's status: revoked and refused win over expiry and approval", () => {
  const now = 100;
  const grant = { status: "active", revoked_at: null as number | null, expires_at: 200 };
  assert.equal(grantStatus(grant, now), "active");
  assert.equal(grantStatus({ ...grant, status: "pending" }, now), "waiting");
  assert.equal(grantStatus({ ...grant, expires_at: 50 }, now), "expired");
  assert.equal(grantStatus({ ...grant, status: "refused", expires_at: 50 }, now), "refused");
  assert.equal(grantStatus({ ...grant, revoked_at: 90, status: "refused" }, now), "revoked");
});

test("a link's status: revoked, expired, used up", () => {
  const now = 100;
  const link = { revoked_at: null as number | null, expires_at: 200, uses: 1, max_uses: 2 as number | null };
  assert.equal(invitationStatus(link, now), "active");
  assert.equal(invitationStatus({ ...link, uses: 2 }, now), "used up");
  assert.equal(invitationStatus({ ...link, max_uses: null, uses: 50 }, now), "active");
  assert.equal(invitationStatus({ ...link, expires_at: 100 }, now), "expired");
  assert.equal(invitationStatus({ ...link, revoked_at: 1, expires_at: 1 }, now), "revoked");
});

test("people in a notebook, and in any notebook below a folder (each person once)", () => {
  const ada = { name: "Ada", initials: "A", color: "#1f77b4", role: "edit" };
  const bob = { name: "Bob", initials: "B", color: "#d62728", role: "view" };
  const presence = { rooms: [
    { path: "course/a.ipynb", people: [ada] },
    { path: "course/sub/b.ipynb", people: [ada, bob] },
    { path: "course2/c.ipynb", people: [bob] },
  ] };
  assert.deepEqual(peopleAt(presence, "course/a.ipynb", false), [ada]);
  assert.deepEqual(peopleAt(presence, "course", true), [ada, bob]);
  assert.deepEqual(peopleAt(presence, "course", false), []);
  assert.deepEqual(peopleAt(presence, "cours", true), []);
});

test("a feed tells its listeners only about changes, and refreshes join a fetch under way", async () => {
  let answer = { n: 1 };
  let loads = 0;
  const feed = new Feed(async () => { loads += 1; return answer; }, 60_000);
  const seen: number[] = [];
  const stop = feed.subscribe((data) => seen.push(data.n));
  await feed.refresh();
  await feed.refresh();
  assert.deepEqual(seen, [1]);
  answer = { n: 2 };
  await Promise.all([feed.refresh(), feed.refresh()]);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(loads, 3);
  stop();
  feed.stop();
});

test("times on the owner pages name their time zone", () => {
  const at = Date.UTC(2026, 11, 1, 22, 30) / 1000;
  const zone = timeZoneOf(new Date(at * 1000));
  assert.ok(zone.length > 0);
  assert.match(localTime(at), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+$/);
  assert.ok(localTime(at).endsWith(` ${zone}`));
});
