/** The notebook on screen: one CellView per shared cell (kept in step with remote inserts,
 * deletes and moves), the active cell, Jupyter's command and edit modes, presence markers
 * and follow mode. Cells build their editors only when they near the viewport, so a
 * 2,000-cell notebook opens without freezing. */

import type { YNotebook } from "@jupyter/ydoc";
import type { KeyBinding } from "@codemirror/view";
import type { EditorView } from "@codemirror/view";
import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";

import { h } from "../shared/dom";
import { CellView, type CellHost } from "./cell-view";
import {
  type CellType,
  changeCellType,
  deleteCell,
  insertCell,
  mergeWithNext,
  moveCell,
  splitCell,
} from "./commands";
import {
  executionMap, readCellExecution, readKernel, readNotice, readSandbox, type KernelState, type SandboxState,
} from "./execution";
import type { FrameHost } from "./output-frame";
import { type ActivityTracker, peopleByCell, type Person } from "./presence";
import { type ChordState, type Command, EDITING_COMMANDS, resolveCommandKey, RUN_COMMANDS } from "./shortcuts";

export type Mode = "command" | "edit";

export interface NotebookHost {
  username: string;
  readOnly(): boolean;
  canRun(): boolean;
  save(): void;
  run(cells: CellView[]): void;
  interrupt(): void;
  restart(): void;
  answer(runId: string, value: string): void;
  kernelChanged(kernel: KernelState | null): void;
  /** The kernel's confinement, or a server note about the kernel (why it restarted). */
  sandboxChanged?(sandbox: SandboxState | null): void;
  noticeChanged?(notice: { text: string; at: number } | null, initial: boolean): void;
  modeChanged(mode: Mode, cell: CellView | null): void;
  /** A short message to the person (a toast). */
  notice(message: string): void;
  /** The notebook took its first look at the document (all cells placed). */
  rendered(): void;
}

export const VIEW_ONLY = "You can view this notebook: running code is not allowed for you.";
export const RUN_NOT_ALLOWED = "Running code is not allowed for you here: you can edit cells. Ask the owner for run access.";

/** Cells closer than this to the viewport get their editor. */
const MATERIALIZE_MARGIN = "800px 0px";

export class NotebookView implements CellHost {
  readonly element: HTMLElement;
  cells: CellView[] = [];
  mode: Mode = "command";
  activeId: string | null = null;
  following: number | null = null;
  private byId = new Map<string, CellView>();
  private chord: ChordState | null = null;
  private readonly intersection: IntersectionObserver;
  private readonly execution: Y.Map<unknown>;
  private readonly onCellsChange = (_: YNotebook, change: any) => {
    if (change.cellsChange) this.applyDelta(change.cellsChange);
  };
  private readonly onExecution = (event: Y.YMapEvent<unknown>) => {
    for (const key of event.keysChanged) this.applyExecutionKey(key);
  };
  private readonly onKeyDown = (event: KeyboardEvent) => this.handleCommandKey(event);
  private peopleSignature = new Map<string, string>();
  private mounting = false;
  private initialState = false;

  constructor(
    readonly notebook: YNotebook,
    readonly awareness: Awareness,
    readonly activity: ActivityTracker,
    readonly frames: FrameHost,
    private readonly host: NotebookHost,
  ) {
    this.element = h("main", { class: "tc-notebook", id: "notebook", "aria-label": "Notebook" });
    this.intersection = new IntersectionObserver((entries) => this.onIntersect(entries), {
      rootMargin: MATERIALIZE_MARGIN,
    });
    this.execution = executionMap(notebook.ydoc);
  }

  get undoManager(): Y.UndoManager {
    return this.notebook.undoManager;
  }

  get username(): string {
    return this.host.username;
  }

  mount(parent: HTMLElement): void {
    this.mounting = true;
    this.applyDelta([{ insert: this.notebook.cells }]);
    parent.appendChild(this.element);
    this.mounting = false;
    this.notebook.changed.connect(this.onCellsChange);
    this.execution.observe(this.onExecution);
    this.initialState = true;
    for (const key of this.execution.keys()) this.applyExecutionKey(key);
    this.initialState = false;
    document.addEventListener("keydown", this.onKeyDown);
    const first = this.cells[0];
    if (first) {
      this.activate(first, "command", { focus: false, scroll: false });
      // Keyboard users start in the notebook; focusing forces a layout, so after first paint.
      requestAnimationFrame(() =>
        setTimeout(() => {
          const active = document.activeElement;
          if (this.active === first && (active === document.body || active === null)) {
            first.element.focus({ preventScroll: true });
          }
        }, 0),
      );
    }
    this.host.rendered();
  }

  dispose(): void {
    document.removeEventListener("keydown", this.onKeyDown);
    this.notebook.changed.disconnect(this.onCellsChange);
    this.execution.unobserve(this.onExecution);
    this.intersection.disconnect();
    for (const cell of this.cells) cell.dispose();
    this.cells = [];
    this.byId.clear();
    this.element.remove();
  }

  get activeIndex(): number {
    const cell = this.activeId === null ? undefined : this.byId.get(this.activeId);
    return cell ? this.cells.indexOf(cell) : -1;
  }

  get active(): CellView | null {
    return this.cells[this.activeIndex] ?? null;
  }

  // -- CellHost ------------------------------------------------------------------

  readOnly(): boolean {
    return this.host.readOnly();
  }

  canRun(): boolean {
    return this.host.canRun();
  }

  publish(): boolean {
    return true;
  }

  run(cell: CellView): void {
    this.activate(cell, "command", { focus: true, scroll: false });
    this.host.run([cell]);
  }

  answer(runId: string, value: string): void {
    this.host.answer(runId, value);
  }

  editKeys(cell: CellView): readonly KeyBinding[] {
    const edge = (direction: -1 | 1) => (view: EditorView) => {
      const { main } = view.state.selection;
      if (!main.empty) return false;
      const line = view.state.doc.lineAt(main.head).number;
      const atEdge = direction < 0 ? line === 1 : line === view.state.doc.lines;
      if (!atEdge) return false;
      const next = this.cells[this.cells.indexOf(cell) + direction];
      if (!next) return false;
      this.activate(next, "edit", { position: direction < 0 ? "end" : "start" });
      return true;
    };
    return [
      { key: "Escape", run: () => (this.commandMode(), true) },
      { key: "Shift-Enter", run: () => (this.execute("run-and-advance"), true) },
      { key: "Mod-Enter", run: () => (this.execute("run"), true) },
      { key: "Alt-Enter", run: () => (this.execute("run-and-insert"), true) },
      { key: "Mod-s", run: () => (this.host.save(), true), preventDefault: true },
      { key: "Ctrl-Shift--", run: () => (this.split(), true) },
      { key: "ArrowUp", run: edge(-1) },
      { key: "ArrowDown", run: edge(1) },
    ];
  }

  /** Make `cell` the active one, in command mode (focus on the cell) or edit mode. */
  activate(
    cell: CellView,
    mode: Mode,
    options: { focus?: boolean; scroll?: boolean; position?: "start" | "end" | "keep" } = {},
  ): void {
    const previous = this.active;
    if (previous && previous !== cell) {
      previous.setActive(false);
      previous.leave();
    }
    this.activeId = cell.id;
    cell.setActive(true);
    if (mode === "edit" && (cell.type !== "markdown" || !this.readOnly())) {
      this.mode = "edit";
      if (!cell.editor?.hasFocus) cell.edit(options.position ?? "keep");
    } else {
      this.mode = "command";
      if (mode === "command" && previous === cell) cell.leave();
      if (options.focus !== false) cell.element.focus({ preventScroll: true });
      if (options.scroll !== false) cell.element.scrollIntoView({ block: "nearest" });
    }
    this.awareness.setLocalStateField("cell", cell.id);
    this.host.modeChanged(this.mode, cell);
  }

  commandMode(): void {
    const cell = this.active;
    if (!cell) return;
    cell.leave();
    this.activate(cell, "command");
  }

  // -- structure -----------------------------------------------------------------

  private applyDelta(delta: { insert?: any[]; delete?: number; retain?: number }[]): void {
    let index = 0;
    let firstChanged = Infinity;
    const wasEditing = this.mode === "edit" && this.active?.editor?.hasFocus;
    for (const part of delta) {
      if (part.retain) {
        index += part.retain;
      } else if (part.delete) {
        firstChanged = Math.min(firstChanged, index);
        for (const cell of this.cells.splice(index, part.delete)) {
          this.intersection.unobserve(cell.element);
          cell.dispose();
        }
      } else if (part.insert) {
        firstChanged = Math.min(firstChanged, index);
        const before = this.cells[index]?.element ?? null;
        const created = part.insert.map((model) => new CellView(model, this));
        const fragment = document.createDocumentFragment();
        for (const cell of created) {
          fragment.appendChild(cell.element);
          cell.setRunnable(this.host.canRun());
        }
        this.element.insertBefore(fragment, before);
        this.cells.splice(index, 0, ...created);
        for (const cell of created) {
          this.intersection.observe(cell.element);
          const execution = readCellExecution(this.execution, cell.id);
          if (execution) cell.setExecution(execution);
        }
        index += created.length;
      }
    }
    if (firstChanged === Infinity) return;
    this.byId.clear();
    this.cells.forEach((cell, i) => {
      this.byId.set(cell.id, cell);
      if (i >= firstChanged) cell.setIndex(i, this.cells.length);
    });
    if (firstChanged < this.cells.length) {
      // Cell count changed: every label says "of N".
      this.cells.forEach((cell, i) => i < firstChanged && cell.setIndex(i, this.cells.length));
    }
    const active = this.active;
    if (this.mounting) {
      // mount() picks the first active cell.
    } else if (active) {
      active.setActive(true);
      if (wasEditing && !active.editor?.hasFocus) active.edit("keep");
    } else if (this.cells.length > 0) {
      const fallback = this.cells[Math.min(Math.max(firstChanged, 0), this.cells.length - 1)];
      this.activate(fallback, "command", { focus: this.element.contains(document.activeElement) || document.activeElement === document.body, scroll: false });
    }
    this.refreshPeople();
  }

  private onIntersect(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const id = (entry.target as HTMLElement).dataset.cellId;
      const cell = id ? this.byId.get(id) : undefined;
      if (cell && cell.element === entry.target) {
        cell.materialize();
        this.intersection.unobserve(entry.target);
      }
    }
  }

  private applyExecutionKey(key: string): void {
    if (key === "kernel") {
      this.host.kernelChanged(readKernel(this.execution));
    } else if (key === "sandbox") {
      this.host.sandboxChanged?.(readSandbox(this.execution));
    } else if (key === "notice") {
      this.host.noticeChanged?.(readNotice(this.execution), this.initialState);
    } else if (key.startsWith("cell:")) {
      const cell = this.byId.get(key.slice(5));
      cell?.setExecution(readCellExecution(this.execution, cell.id));
    }
  }

  setRunnable(runnable: boolean): void {
    for (const cell of this.cells) cell.setRunnable(runnable);
  }

  // -- presence and follow mode ----------------------------------------------------

  private lastPeople: Person[] = [];

  setPeople(people: Person[]): void {
    this.lastPeople = people;
    this.refreshPeople();
  }

  private refreshPeople(): void {
    const byCell = peopleByCell(this.lastPeople);
    const seen = new Set<string>();
    for (const [cellId, people] of byCell) {
      const cell = this.byId.get(cellId);
      if (!cell) continue;
      seen.add(cellId);
      const signature = people.map((p) => `${p.username}:${p.color}`).join(",");
      if (this.peopleSignature.get(cellId) !== signature) {
        this.peopleSignature.set(cellId, signature);
        cell.setPeople(people);
      }
    }
    for (const cellId of [...this.peopleSignature.keys()]) {
      if (!seen.has(cellId)) {
        this.peopleSignature.delete(cellId);
        this.byId.get(cellId)?.setPeople([]);
      }
    }
  }

  /** Keep the followed person's cursor in view. */
  followUpdate(): void {
    if (this.following === null) return;
    const state = this.awareness.getStates().get(this.following);
    if (!state) return;
    const cell = typeof state.cell === "string" ? this.byId.get(state.cell) : undefined;
    if (!cell) return;
    cell.materialize();
    const cursor = Array.isArray(state.cursors) ? state.cursors[0] : state.cursor;
    let position: number | undefined;
    if (cursor?.head) {
      try {
        const absolute = Y.createAbsolutePositionFromRelativePosition(
          Y.createRelativePositionFromJSON(cursor.head),
          this.notebook.ydoc,
        );
        if (absolute && absolute.type === cell.ytext) position = absolute.index;
      } catch {
        /* not a position in this document */
      }
    }
    cell.reveal(position);
  }

  // -- commands --------------------------------------------------------------------

  private handleCommandKey(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.isComposing) return;
    const target = event.target as Element | null;
    if (!target || target.closest(".cm-editor, input, textarea, select, [contenteditable='true'], dialog")) return;
    if (!(target === document.body || this.element.contains(target))) return;
    if (target.closest("button, a, summary") && (event.key === "Enter" || event.key === " ")) return;
    const { command, chord } = resolveCommandKey(event, this.chord, Date.now());
    this.chord = chord;
    if (command === null) return;
    event.preventDefault();
    this.execute(command);
  }

  execute(command: Command): void {
    const cell = this.active;
    const index = this.activeIndex;
    if (EDITING_COMMANDS.has(command) && this.readOnly()) return;
    if (RUN_COMMANDS.has(command) && !this.canRun()) return;
    switch (command) {
      case "enter-edit":
        if (cell) this.activate(cell, "edit");
        return;
      case "select-previous":
        if (index > 0) this.activate(this.cells[index - 1], "command");
        return;
      case "select-next":
        if (index < this.cells.length - 1) this.activate(this.cells[index + 1], "command");
        return;
      case "select-first":
        if (this.cells.length) this.activate(this.cells[0], "command");
        return;
      case "select-last":
        if (this.cells.length) this.activate(this.cells[this.cells.length - 1], "command");
        return;
      case "insert-above":
      case "insert-below": {
        const at = index < 0 ? 0 : command === "insert-above" ? index : index + 1;
        this.activateById(insertCell(this.notebook, at, "code"), "command");
        return;
      }
      case "delete":
        this.deleteActive();
        return;
      case "to-code":
      case "to-markdown":
      case "to-raw":
        if (index >= 0) this.changeType(index, command.slice(3) as CellType);
        return;
      case "merge-below":
        if (index >= 0) mergeWithNext(this.notebook, index);
        return;
      case "move-up":
        if (index > 0) moveCell(this.notebook, index, index - 1);
        this.restoreActive();
        return;
      case "move-down":
        if (index >= 0 && index < this.cells.length - 1) moveCell(this.notebook, index, index + 1);
        this.restoreActive();
        return;
      case "undo":
        this.undoManager.undo();
        this.restoreActive();
        return;
      case "redo":
        this.undoManager.redo();
        this.restoreActive();
        return;
      case "save":
        this.host.save();
        return;
      case "interrupt":
        this.host.interrupt();
        return;
      case "restart":
        this.host.restart();
        return;
      case "run":
      case "run-and-advance":
      case "run-and-insert":
        this.runActive(command);
        return;
    }
  }

  private runActive(command: "run" | "run-and-advance" | "run-and-insert"): void {
    const cell = this.active;
    if (!cell) return;
    const index = this.activeIndex;
    cell.leave();
    if (cell.type === "code" && !this.canRun()) {
      // Not a run: say so, and add no empty cell at the end as if it had run.
      this.host.notice(this.readOnly() ? VIEW_ONLY : RUN_NOT_ALLOWED);
      this.activate(cell, "command");
      return;
    }
    if (cell.type === "code") this.host.run([cell]);
    if (command === "run") {
      this.activate(cell, "command");
    } else if (command === "run-and-insert" || index === this.cells.length - 1) {
      if (this.readOnly()) {
        this.activate(cell, "command");
      } else {
        this.activateById(insertCell(this.notebook, index + 1, "code"), "edit");
      }
    } else {
      this.activate(this.cells[index + 1], "command");
    }
  }

  private deleteActive(): void {
    const index = this.activeIndex;
    if (index < 0) return;
    if (this.cells.length === 1) {
      // A notebook keeps one cell: replace the last one with an empty code cell.
      this.notebook.transact(() => {
        this.notebook.deleteCell(0);
        this.notebook.insertCell(0, { cell_type: "code", source: "", metadata: {}, outputs: [], execution_count: null } as any);
      });
      this.activate(this.cells[0], "command");
      return;
    }
    this.activeId = null;
    deleteCell(this.notebook, index);
    this.activate(this.cells[Math.min(index, this.cells.length - 1)], "command");
  }

  private changeType(index: number, type: CellType): void {
    const id = this.cells[index].id;
    changeCellType(this.notebook, index, type);
    this.activateById(id, "command");
  }

  private split(): void {
    const cell = this.active;
    if (!cell?.editor || this.readOnly()) return;
    const id = splitCell(this.notebook, this.activeIndex, cell.editor.state.selection.main.head);
    this.activateById(id, "edit", "start");
  }

  activateById(id: string, mode: Mode, position: "start" | "end" | "keep" = "keep"): void {
    const cell = this.byId.get(id);
    if (cell) this.activate(cell, mode, { position });
  }

  private restoreActive(): void {
    const cell = this.active;
    if (cell) this.activate(cell, "command");
    else if (this.cells.length) this.activate(this.cells[0], "command");
  }

  /** Every code cell, for Run all. */
  codeCells(): CellView[] {
    return this.cells.filter((cell) => cell.type === "code");
  }

  insertBelow(type: CellType): void {
    if (this.readOnly()) return;
    const index = this.activeIndex;
    this.activateById(insertCell(this.notebook, index + 1, type), "edit");
  }
}
