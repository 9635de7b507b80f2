import assert from "node:assert/strict";
import { test } from "node:test";

import { CHORD_MS, EDITING_COMMANDS, resolveCommandKey, RUN_COMMANDS } from "../src/editor/shortcuts";

const press = (key: string, mods: Record<string, boolean> = {}, chord = null as any, now = 0) =>
  resolveCommandKey({ key, ...mods }, chord, now);

test("single keys in command mode", () => {
  assert.equal(press("Enter").command, "enter-edit");
  assert.equal(press("Enter", { shiftKey: true }).command, "run-and-advance");
  assert.equal(press("Enter", { ctrlKey: true }).command, "run");
  assert.equal(press("Enter", { metaKey: true }).command, "run");
  assert.equal(press("Enter", { altKey: true }).command, "run-and-insert");
  assert.equal(press("a").command, "insert-above");
  assert.equal(press("b").command, "insert-below");
  assert.equal(press("B").command, "insert-below");
  assert.equal(press("m").command, "to-markdown");
  assert.equal(press("M", { shiftKey: true }).command, "merge-below");
  assert.equal(press("y").command, "to-code");
  assert.equal(press("r").command, "to-raw");
  assert.equal(press("ArrowUp").command, "select-previous");
  assert.equal(press("k").command, "select-previous");
  assert.equal(press("ArrowDown").command, "select-next");
  assert.equal(press("j").command, "select-next");
  assert.equal(press("z").command, "undo");
  assert.equal(press("Z", { shiftKey: true }).command, "redo");
  assert.equal(press("s", { ctrlKey: true }).command, "save");
  assert.equal(press("z", { ctrlKey: true }).command, "undo");
  assert.equal(press("y", { ctrlKey: true }).command, "redo");
  assert.equal(press("ArrowUp", { ctrlKey: true, shiftKey: true }).command, "move-up");
  assert.equal(press("ArrowDown", { ctrlKey: true, shiftKey: true }).command, "move-down");
});

test("keys that mean nothing in command mode are left alone", () => {
  for (const key of ["x", "q", "Tab", "Escape", " "]) assert.equal(press(key).command, null, key);
  assert.equal(press("a", { ctrlKey: true }).command, null); // Ctrl+A selects text as usual
  assert.equal(press("c", { ctrlKey: true }).command, null);
  assert.equal(press("b", { altKey: true }).command, null);
});

test("D D deletes only when the second D follows quickly", () => {
  const first = press("d", {}, null, 1000);
  assert.equal(first.command, null);
  assert.deepEqual(first.chord, { key: "d", at: 1000 });
  assert.equal(press("d", {}, first.chord, 1000 + CHORD_MS - 1).command, "delete");
  assert.equal(press("d", {}, first.chord, 1000 + CHORD_MS + 1).command, null);
  // Another key in between breaks the chord.
  const other = press("j", {}, first.chord, 1100);
  assert.equal(other.chord, null);
  assert.equal(press("d", {}, other.chord, 1200).command, null);
});

test("I I interrupts and 0 0 restarts", () => {
  const i = press("i", {}, null, 0);
  assert.equal(press("i", {}, i.chord, 100).command, "interrupt");
  const zero = press("0", {}, null, 0);
  assert.equal(press("0", {}, zero.chord, 100).command, "restart");
  assert.equal(press("0", {}, i.chord, 100).command, null);
});

test("read-only and run-only command sets", () => {
  for (const command of ["insert-above", "insert-below", "delete", "to-code", "to-markdown", "merge-below", "move-up", "undo"]) {
    assert.ok(EDITING_COMMANDS.has(command as any), command);
  }
  for (const command of ["select-next", "select-previous", "enter-edit", "save", "run"]) {
    assert.ok(!EDITING_COMMANDS.has(command as any), command);
  }
  assert.ok(RUN_COMMANDS.has("interrupt") && RUN_COMMANDS.has("restart"));
});
