/** A guard for @jupyter/ydoc's cell models against a concurrent write that loses.
 *
 * When two clients set the same key of a cell at once (the server writing a run's
 * `execution_count` or `execution_state` while JupyterLab resets them), the client that
 * receives the losing write gets a map event whose `keysChanged` names the key while
 * `changes.keys` has no entry for it: nothing visible changed. @jupyter/ydoc's cells read
 * that entry unguarded (`change.oldValue`), so the observer throws ("Caught error while
 * handling a Yjs update") and the cell's `changed` signal is lost for that transaction.
 * Here such keys are dropped from the event before the cell reads it. */

import { YCodeCell, YMarkdownCell, YRawCell } from "@jupyter/ydoc";
import * as Y from "yjs";

/** Remove from each map event the keys whose value did not change. */
export function dropUnchangedKeys(events: Y.YEvent<any>[]): void {
  for (const event of events) {
    if (!(event instanceof Y.YMapEvent) || event.keysChanged.size === 0) continue;
    const keys = event.changes.keys;
    for (const key of [...event.keysChanged]) {
      if (!keys.has(key)) event.keysChanged.delete(key);
    }
  }
}

type CellClass = { prototype: { getChanges(events: Y.YEvent<any>[]): unknown } };

function guard(cell: CellClass): void {
  const getChanges = cell.prototype.getChanges;
  if ((getChanges as { tandemGuarded?: boolean }).tandemGuarded) return;
  const guarded = function (this: unknown, events: Y.YEvent<any>[]) {
    dropUnchangedKeys(events);
    return getChanges.call(this, events);
  };
  (guarded as { tandemGuarded?: boolean }).tandemGuarded = true;
  cell.prototype.getChanges = guarded;
}

for (const cell of [YCodeCell, YMarkdownCell, YRawCell] as unknown as CellClass[]) guard(cell);
