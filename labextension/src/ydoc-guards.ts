/** A guard for JupyterLab's cell models (@jupyter/ydoc, shared with JupyterLab) against
 * a concurrent write that loses.
 *
 * When two clients set the same key of a cell at once (Tandem's server writing a run's
 * `execution_count` or `execution_state` while JupyterLab or a guest writes it too), the
 * client that receives the losing write gets a map event whose `keysChanged` names the
 * key while `changes.keys` has no entry for it: nothing visible changed. @jupyter/ydoc's
 * cells read that entry unguarded (`change.oldValue`), so the observer throws ("Caught
 * error while handling a Yjs update") and the cell's change is not signalled. Such keys
 * are dropped from the event before the cell reads it. (Tandem's editor has the same
 * guard for its own copy of @jupyter/ydoc.) */

import { YCodeCell, YMarkdownCell, YRawCell } from '@jupyter/ydoc';

interface KeyedEvent {
  keysChanged?: Set<string>;
  changes: { keys: Map<string, unknown> };
}

/** Remove from each event the keys whose value did not change. */
export function dropUnchangedKeys(events: KeyedEvent[]): void {
  for (const event of events) {
    const changed = event.keysChanged;
    if (!(changed instanceof Set) || changed.size === 0) continue;
    const keys = event.changes.keys;
    for (const key of [...changed]) {
      if (!keys.has(key)) changed.delete(key);
    }
  }
}

type CellClass = { prototype: { getChanges(events: KeyedEvent[]): unknown } };
const GUARDED = Symbol.for('tandem.ydoc-guard');

/** Wrap each cell class's `getChanges` once (idempotent). */
export function guardCellModels(): void {
  for (const cell of [YCodeCell, YMarkdownCell, YRawCell] as unknown as CellClass[]) {
    const getChanges = cell.prototype.getChanges as CellClass['prototype']['getChanges'] & { [GUARDED]?: true };
    if (getChanges[GUARDED]) continue;
    const guarded = function (this: unknown, events: KeyedEvent[]) {
      dropUnchangedKeys(events);
      return getChanges.call(this, events);
    } as typeof getChanges;
    guarded[GUARDED] = true;
    cell.prototype.getChanges = guarded;
  }
}
