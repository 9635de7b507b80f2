import assert from "node:assert/strict";
import { after, test } from "node:test";

import { YNotebook } from "@jupyter/ydoc";
import * as Y from "yjs";

import {
  changeCellType,
  deleteCell,
  insertCell,
  mergeWithNext,
  moveCell,
  splitCell,
  splitSource,
} from "../src/editor/commands";

// Each YNotebook owns an Awareness, whose timer keeps Node alive until disposed.
const made: YNotebook[] = [];
after(() => made.forEach((nb) => nb.dispose()));

function notebook(...sources: string[]): YNotebook {
  const nb = new YNotebook();
  made.push(nb);
  nb.transact(() => {
    sources.forEach((source, i) =>
      nb.insertCell(i, { cell_type: "code", source, metadata: {}, outputs: [], execution_count: null } as any),
    );
  }, false);
  nb.undoManager.clear();
  return nb;
}

const sources = (nb: YNotebook) => nb.cells.map((cell) => cell.getSource());

test("split and merge sources", () => {
  assert.deepEqual(splitSource("a = 1\nb = 2", 6), ["a = 1", "b = 2"]);
  assert.deepEqual(splitSource("abc", 1), ["a", "bc"]);
  assert.deepEqual(splitSource("abc", 99), ["abc", ""]);
  const nb = notebook("a = 1\nb = 2", "c");
  splitCell(nb, 0, 6);
  assert.deepEqual(sources(nb), ["a = 1", "b = 2", "c"]);
  mergeWithNext(nb, 1);
  assert.deepEqual(sources(nb), ["a = 1", "b = 2\n\nc"]);
});

test("insert, delete, move and change type keep ids and sources", () => {
  const nb = notebook("one", "two", "three");
  const ids = nb.cells.map((cell) => cell.id);
  const added = insertCell(nb, 1, "markdown", "# hi");
  assert.equal(nb.cells[1].id, added);
  assert.equal(nb.cells[1].cell_type, "markdown");
  deleteCell(nb, 1);
  assert.deepEqual(nb.cells.map((c) => c.id), ids);
  moveCell(nb, 0, 2);
  assert.deepEqual(sources(nb), ["two", "three", "one"]);
  assert.equal(nb.cells[2].id, ids[0]);
  changeCellType(nb, 2, "raw");
  assert.equal(nb.cells[2].cell_type, "raw");
  assert.equal(nb.cells[2].id, ids[0]);
  assert.equal(nb.cells[2].getSource(), "one");
  // Out-of-range requests change nothing.
  deleteCell(nb, 10);
  moveCell(nb, 0, 10);
  assert.equal(nb.cells.length, 3);
});

test("undo reverts only this client's changes, never a collaborator's", () => {
  const mine = notebook("x = 1");
  const theirs = new Y.Doc();
  Y.applyUpdate(theirs, Y.encodeStateAsUpdate(mine.ydoc));
  const relay = (from: Y.Doc, to: Y.Doc) => from.on("update", (update: Uint8Array, origin: unknown) => {
    if (origin !== "relay") Y.applyUpdate(to, update, "relay");
  });
  relay(mine.ydoc, theirs);
  relay(theirs, mine.ydoc);

  insertCell(mine, 1, "code", "mine = True");
  mine.undoManager.stopCapturing();
  const theirCells = theirs.getArray<Y.Map<any>>("cells");
  (theirCells.get(0).get("source") as Y.Text).insert(0, "# theirs\n");
  assert.deepEqual(sources(mine), ["# theirs\nx = 1", "mine = True"]);

  mine.undoManager.undo();
  assert.deepEqual(sources(mine), ["# theirs\nx = 1"]);
  mine.undoManager.redo();
  assert.deepEqual(sources(mine), ["# theirs\nx = 1", "mine = True"]);
  assert.equal(mine.undoManager.undoStack.length, 1);
});
