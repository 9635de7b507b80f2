/** Cell operations on the shared notebook. Each is one transaction with the notebook as
 * origin, so the notebook's UndoManager (which tracks only local origins) can undo it. */

import type { YNotebook } from "@jupyter/ydoc";

export type CellType = "code" | "markdown" | "raw";

function newCell(type: CellType, source = "", id?: string, metadata: Record<string, unknown> = {}): any {
  const cell: Record<string, unknown> = { cell_type: type, source, metadata };
  if (id) cell.id = id;
  if (type === "code") {
    cell.outputs = [];
    cell.execution_count = null;
  }
  return cell;
}

export function insertCell(notebook: YNotebook, index: number, type: CellType, source = ""): string {
  let id = "";
  notebook.transact(() => {
    id = notebook.insertCell(Math.max(0, Math.min(index, notebook.cells.length)), newCell(type, source)).id;
  });
  return id;
}

export function deleteCell(notebook: YNotebook, index: number): void {
  if (index < 0 || index >= notebook.cells.length) return;
  notebook.transact(() => notebook.deleteCell(index));
}

export function moveCell(notebook: YNotebook, from: number, to: number): void {
  if (from === to || from < 0 || to < 0 || from >= notebook.cells.length || to >= notebook.cells.length) return;
  notebook.transact(() => notebook.moveCell(from, to));
}

/** Replace the cell with one of another type: same id, source and metadata. */
export function changeCellType(notebook: YNotebook, index: number, type: CellType): void {
  const cell = notebook.cells[index];
  if (!cell || cell.cell_type === type) return;
  const replacement = newCell(type, cell.getSource(), cell.getId(), cell.getMetadata() as Record<string, unknown>);
  notebook.transact(() => {
    notebook.deleteCell(index);
    notebook.insertCell(index, replacement);
  });
}

/** The two halves of a split at `offset`: the newline at the cut goes away. */
export function splitSource(source: string, offset: number): [string, string] {
  const at = Math.max(0, Math.min(offset, source.length));
  let head = source.slice(0, at);
  let tail = source.slice(at);
  if (head.endsWith("\n")) head = head.slice(0, -1);
  if (tail.startsWith("\n")) tail = tail.slice(1);
  return [head, tail];
}

/** Split the cell at `offset`: the text after it moves to a new cell below, same type. */
export function splitCell(notebook: YNotebook, index: number, offset: number): string {
  const cell = notebook.cells[index];
  if (!cell) return "";
  const [head, tail] = splitSource(cell.getSource(), offset);
  let id = "";
  notebook.transact(() => {
    const ytext = cell.ysource;
    ytext.delete(0, ytext.length);
    ytext.insert(0, head);
    id = notebook.insertCell(index + 1, newCell(cell.cell_type as CellType, tail)).id;
  });
  return id;
}

/** Merge the cell below into this one (sources joined by a blank line). */
export function mergeWithNext(notebook: YNotebook, index: number): void {
  const cell = notebook.cells[index];
  const next = notebook.cells[index + 1];
  if (!cell || !next) return;
  const addition = next.getSource();
  notebook.transact(() => {
    const ytext = cell.ysource;
    if (addition) ytext.insert(ytext.length, (ytext.length ? "\n\n" : "") + addition);
    notebook.deleteCell(index + 1);
  });
}
