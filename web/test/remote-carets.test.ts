import assert from "node:assert/strict";
import { test } from "node:test";

import * as Y from "yjs";

import { positionJSON } from "../src/editor/remote-carets";

test("a caret at the end of a cell is published with every field JupyterLab reads", () => {
  const doc = new Y.Doc();
  const cells = doc.getArray<Y.Map<unknown>>("cells");
  const cell = new Y.Map<unknown>();
  const source = new Y.Text("print(1)");
  cell.set("source", source);
  cells.push([cell]);
  const end = JSON.parse(JSON.stringify(positionJSON(Y.createRelativePositionFromTypeIndex(source, source.length))));
  // JupyterLab passes the JSON as it is: "item" must be present (null), not missing.
  assert.deepEqual(Object.keys(end).sort(), ["assoc", "item", "tname", "type"]);
  assert.equal(end.item, null);
  const absolute = Y.createAbsolutePositionFromRelativePosition(end, doc);
  assert.equal(absolute?.type, source);
  assert.equal(absolute?.index, source.length);
  const middle = JSON.parse(JSON.stringify(positionJSON(Y.createRelativePositionFromTypeIndex(source, 3))));
  assert.equal(Y.createAbsolutePositionFromRelativePosition(middle, doc)?.index, 3);
});
