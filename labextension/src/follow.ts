/** Follow someone: keep the cell they are in within view while they move; stop when the
 * owner scrolls, clicks or types in the notebook, or clicks Stop. */

import { type AwarenessLike, cellIndexOf, type NotebookLike } from './notebook';

const STOP_EVENTS = ['wheel', 'touchmove', 'mousedown', 'keydown'] as const;

export class Follower {
  target: number | null = null;
  private notebook: NotebookLike | null = null;
  private awareness: AwarenessLike | null = null;
  private lastCell: number | null = null;
  private readonly onMove = () => this.scroll();
  private readonly onUser = () => this.stop();

  constructor(private readonly changed: () => void) {}

  /** The notebook and awareness whose people can be followed. */
  track(notebook: NotebookLike | null, awareness: AwarenessLike | null): void {
    if (notebook === this.notebook && awareness === this.awareness) return;
    if (this.target !== null) this.stop();
    this.notebook = notebook;
    this.awareness = awareness;
  }

  follow(clientId: number): void {
    if (this.notebook === null || this.awareness === null) return;
    this.unlisten();
    this.target = clientId;
    this.lastCell = null;
    this.awareness.on('change', this.onMove);
    const node = this.notebook.widget.node;
    for (const name of STOP_EVENTS) node.addEventListener(name, this.onUser, { capture: true, passive: true });
    this.scroll();
    this.changed();
  }

  stop(): void {
    if (this.target === null) return;
    this.unlisten();
    this.target = null;
    this.changed();
  }

  private unlisten(): void {
    this.awareness?.off('change', this.onMove);
    const node = this.notebook?.widget.node;
    for (const name of STOP_EVENTS) node?.removeEventListener(name, this.onUser, { capture: true });
  }

  private scroll(): void {
    if (this.target === null || this.notebook === null || this.awareness === null) return;
    const state = this.awareness.getStates().get(this.target);
    if (!state) {
      this.stop(); // they left
      return;
    }
    const cell = cellIndexOf(state, this.notebook.cells());
    if (cell === null || cell === this.lastCell) return;
    this.lastCell = cell;
    this.notebook.scrollTo(cell);
  }
}
