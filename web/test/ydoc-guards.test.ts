import assert from "node:assert/strict";
import { after, test } from "node:test";

import { YNotebook } from "@jupyter/ydoc";
import * as Y from "yjs";

import "../src/editor/ydoc-guards";

const made: YNotebook[] = [];
after(() => made.forEach((nb) => nb.dispose()));

function pairOfNotebooks(): [YNotebook, YNotebook] {
  const a = new YNotebook();
  const b = new YNotebook();
  made.push(a, b);
  a.insertCell(0, { cell_type: "code", source: "x = 1", metadata: {}, outputs: [], execution_count: null } as any);
  Y.applyUpdate(b.ydoc, Y.encodeStateAsUpdate(a.ydoc));
  return [a, b];
}

for (const key of ["execution_count", "execution_state"] as const) {
  test(`concurrent writes of a cell's ${key} (one loses) reach the model without an error`, () => {
    const [a, b] = pairOfNotebooks();
    const cellA = a.cells[0] as any;
    const cellB = b.cells[0] as any;
    const value = (n: number) => (key === "execution_count" ? n : n === 1 ? "running" : "idle");
    // Written by two clients at once (e.g. the server running the cell and JupyterLab
    // resetting its count): each side then receives the other's write.
    cellA.ymodel.set(key, value(1));
    cellB.ymodel.set(key, value(2));
    const fromA = Y.encodeStateAsUpdate(a.ydoc, Y.encodeStateVector(b.ydoc));
    const fromB = Y.encodeStateAsUpdate(b.ydoc, Y.encodeStateVector(a.ydoc));
    const seen: unknown[] = [];
    cellA.changed.connect((_: unknown, change: unknown) => seen.push(change));
    cellB.changed.connect((_: unknown, change: unknown) => seen.push(change));
    Y.applyUpdate(b.ydoc, fromA);
    Y.applyUpdate(a.ydoc, fromB);
    assert.equal(cellA.ymodel.get(key), cellB.ymodel.get(key));
    assert.ok(seen.length >= 1);
  });
}
