/** One cell on screen. Cheap until it nears the viewport (`materialize`): before that its
 * source shows as plain text; after, it has a CodeMirror editor, rendered markdown and
 * outputs. Everything it shows comes from the shared cell and the execution map. */

import type { YCellType } from "@jupyter/ydoc";
import type { KeyBinding } from "@codemirror/view";
import type { EditorView } from "@codemirror/view";
import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";

import { textColorOn } from "../shared/colors";
import { clear, h } from "../shared/dom";
import { createCellEditor, type CellLanguage } from "./cell-editor";
import type { CellExecution } from "./execution";
import { renderMarkdown } from "./markdown";
import type { FrameHost } from "./output-frame";
import { joinText } from "./output-model";
import { mergeStreams, renderOutput } from "./outputs";
import type { ActivityTracker, Person } from "./presence";

export interface CellHost {
  awareness: Awareness;
  undoManager: Y.UndoManager;
  activity: ActivityTracker;
  frames: FrameHost;
  username: string;
  readOnly(): boolean;
  canRun(): boolean;
  publish(): boolean;
  editKeys(cell: CellView): readonly KeyBinding[];
  activate(cell: CellView, mode: "command" | "edit"): void;
  run(cell: CellView): void;
  answer(runId: string, value: string): void;
}

const TYPE_LABELS: Record<string, string> = { code: "code", markdown: "markdown", raw: "raw" };

export class CellView {
  readonly element: HTMLElement;
  editor: EditorView | null = null;
  materialized = false;
  /** A markdown cell shows its rendering unless someone is editing it here. */
  editingMarkdown = false;
  private index = 0;
  private readonly prompt: HTMLElement;
  private readonly runButton: HTMLButtonElement;
  private readonly stateMarker: HTMLElement;
  private readonly people: HTMLElement;
  private readonly input: HTMLElement;
  private readonly editorBox: HTMLElement;
  private readonly rendered: HTMLElement;
  private readonly staticSource: HTMLElement;
  private readonly runner: HTMLElement;
  private readonly inputRequest: HTMLElement;
  private readonly outputs: HTMLElement;
  private execution: CellExecution | null = null;
  private renderedOutputs: { key: string; node: HTMLElement }[] = [];
  private pending = { source: false, outputs: false, prompt: false };
  private frame: number | null = null;
  private readonly observer = (events: Y.YEvent<any>[]) => this.onModelChange(events);

  constructor(
    readonly model: YCellType,
    private readonly host: CellHost,
  ) {
    const type = model.cell_type;
    this.prompt = h("span", { class: "tc-prompt", "aria-hidden": "true" });
    this.runButton = h("button", {
      class: "tc-run-cell tc-icon-button",
      type: "button",
      tabindex: "-1",
      hidden: true,
      onclick: () => host.run(this),
    }, "▶");
    this.stateMarker = h("span", { class: "tc-exec-state", role: "status" });
    this.people = h("div", { class: "tc-cell-people" });
    this.staticSource = h("pre", { class: "tc-source-static" });
    this.editorBox = h("div", { class: "tc-editor", hidden: true });
    this.rendered = h("div", { class: "tc-rendered tc-markdown", hidden: true });
    this.input = h("div", { class: "tc-cell-input" }, this.staticSource, this.editorBox, this.rendered);
    this.runner = h("div", { class: "tc-cell-runner", hidden: true });
    this.inputRequest = h("div", { class: "tc-input-request", hidden: true });
    this.outputs = h("div", { class: "tc-cell-outputs" });
    this.element = h(
      "section",
      { class: `tc-cell tc-cell--${type}`, "data-cell-id": model.id, "data-cell-type": type, role: "group", tabindex: "-1" },
      h("div", { class: "tc-cell-gutter" }, this.prompt, this.runButton, this.stateMarker),
      h("div", { class: "tc-cell-main" }, this.people, this.input, this.runner, this.inputRequest, this.outputs),
    );
    this.element.addEventListener("mousedown", (event) => {
      if (!(event.target as Element).closest(".cm-editor, button, input, a, iframe")) {
        host.activate(this, "command");
      }
    });
    this.rendered.addEventListener("dblclick", () => {
      if (!host.readOnly()) host.activate(this, "edit");
    });
    this.staticSource.textContent = model.getSource();
    this.updatePrompt();
    model.ymodel.observeDeep(this.observer);
  }

  get id(): string {
    return this.model.id;
  }

  get type(): string {
    return this.model.cell_type;
  }

  get ytext(): Y.Text {
    return this.model.ysource;
  }

  setIndex(index: number, total: number): void {
    this.index = index;
    this.element.setAttribute("aria-label", `Cell ${index + 1} of ${total}, ${TYPE_LABELS[this.type] ?? this.type}`);
    this.runButton.setAttribute("aria-label", `Run cell ${index + 1}`);
    this.runButton.title = "Run this cell (Shift+Enter)";
    this.outputs.setAttribute("aria-label", `Output of cell ${index + 1}`);
  }

  setActive(active: boolean): void {
    this.element.classList.toggle("tc-cell--active", active);
    this.element.tabIndex = active ? 0 : -1;
  }

  setRunnable(runnable: boolean): void {
    this.runButton.hidden = !runnable || this.type !== "code";
  }

  /** Build the editor, the rendered markdown and the outputs (idempotent). */
  materialize(): void {
    if (this.materialized) return;
    this.materialized = true;
    this.staticSource.remove();
    if (this.type === "markdown" && !this.editingMarkdown) {
      this.showRendered();
    } else {
      this.ensureEditor();
    }
    this.renderOutputs();
  }

  private ensureEditor(): EditorView {
    if (this.editor) return this.editor;
    this.editorBox.hidden = false;
    this.editor = createCellEditor({
      parent: this.editorBox,
      ytext: this.model.ysource,
      awareness: this.host.awareness,
      undoManager: this.host.undoManager,
      activity: this.host.activity,
      language: (this.type === "code" ? "code" : this.type === "markdown" ? "markdown" : "raw") as CellLanguage,
      readOnly: this.host.readOnly(),
      label: `Cell ${this.index + 1} source`,
      keys: this.host.editKeys(this),
      publish: () => this.host.publish(),
      onFocus: () => this.host.activate(this, "edit"),
    });
    return this.editor;
  }

  /** Enter edit mode: show the editor (markdown leaves its rendering) and focus it. */
  edit(position: "start" | "end" | "keep" = "keep"): void {
    this.materialize();
    if (this.type === "markdown" && !this.editingMarkdown) {
      this.editingMarkdown = true;
      this.rendered.hidden = true;
    }
    const editor = this.ensureEditor();
    this.editorBox.hidden = false;
    if (position !== "keep") {
      const at = position === "start" ? 0 : editor.state.doc.length;
      editor.dispatch({ selection: { anchor: at } });
    }
    editor.focus();
  }

  /** Leave edit mode: markdown shows its rendering again. */
  leave(): void {
    if (this.type === "markdown" && this.editingMarkdown) {
      this.editingMarkdown = false;
      this.showRendered();
    }
  }

  private showRendered(): void {
    this.editorBox.hidden = true;
    this.rendered.hidden = false;
    clear(this.rendered);
    const source = this.model.getSource();
    if (source.trim()) {
      this.rendered.appendChild(renderMarkdown(source, (this.model as any).getAttachments?.()));
    } else {
      this.rendered.appendChild(
        h("p", { class: "tc-placeholder" }, this.host.readOnly() ? "Empty text cell" : "Empty text cell. Double-click or press Enter to write."),
      );
    }
  }

  /** Scroll so this cell (and the given text position, if it has an editor) is visible. */
  reveal(position?: number): void {
    this.materialize();
    if (this.editor && position !== undefined && position <= this.editor.state.doc.length) {
      const coords = this.editor.coordsAtPos(position);
      if (coords) {
        const margin = window.innerHeight / 3;
        if (coords.top < 80 || coords.bottom > window.innerHeight - 40) {
          window.scrollBy({ top: coords.top - margin, behavior: "auto" });
        }
        return;
      }
    }
    this.element.scrollIntoView({ block: "nearest" });
  }

  setPeople(people: Person[]): void {
    clear(this.people);
    this.element.classList.toggle("tc-cell--occupied", people.length > 0);
    if (people.length === 0) {
      this.people.removeAttribute("aria-label");
      return;
    }
    this.people.setAttribute("aria-label", `In this cell: ${people.map((p) => p.name).join(", ")}`);
    for (const person of people) {
      const badge = h("span", { class: "tc-cell-person", title: person.name, "data-username": person.username }, person.initials);
      badge.style.setProperty("--tc-user", person.color);
      badge.style.setProperty("--tc-user-text", textColorOn(person.color));
      this.people.appendChild(badge);
    }
    this.element.style.setProperty("--tc-occupant", people[0].color);
  }

  setExecution(execution: CellExecution | null): void {
    this.execution = execution;
    const state = execution?.state ?? "idle";
    this.element.dataset.execState = state;
    this.stateMarker.textContent = state === "queued" ? "queued" : state === "running" ? "running" : "";
    this.stateMarker.className = `tc-exec-state tc-exec-state--${state}`;
    this.updatePrompt();
    if (execution?.by && state !== "idle") {
      this.runner.hidden = false;
      this.runner.textContent = `${state === "queued" ? "Queued" : "Running"} for ${execution.by.name}`;
    } else if (execution?.by) {
      this.runner.hidden = false;
      this.runner.textContent = `Last run by ${execution.by.name}${execution.truncated ? " (output truncated)" : ""}`;
    } else {
      this.runner.hidden = true;
    }
    this.renderInputRequest();
  }

  private renderInputRequest(): void {
    const request = this.execution?.input ?? null;
    clear(this.inputRequest);
    this.inputRequest.hidden = request === null;
    if (request === null) return;
    if (request.username !== this.host.username) {
      this.inputRequest.appendChild(h("p", {}, `Waiting for ${this.execution?.by?.name ?? "the person who ran this cell"} to answer: ${request.prompt}`));
      return;
    }
    const field = h("input", {
      type: request.password ? "password" : "text",
      class: "tc-input-field",
      "aria-label": request.prompt || "Input requested by the running cell",
      autocomplete: "off",
    });
    const form = h(
      "form",
      { class: "tc-input-form" },
      h("label", {}, h("span", { class: "tc-input-prompt" }, request.prompt || "Input:"), field),
      h("button", { type: "submit", class: "tc-button" }, "Send"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.host.answer(request.run_id, field.value);
      field.disabled = true;
    });
    this.inputRequest.appendChild(form);
    queueMicrotask(() => field.focus());
  }

  private updatePrompt(): void {
    if (this.type !== "code") {
      this.prompt.textContent = "";
      return;
    }
    const state = this.execution?.state ?? (this.model as any).executionState ?? "idle";
    const count = (this.model as any).execution_count as number | null;
    this.prompt.textContent = state === "queued" || state === "running" ? "[*]:" : `[${count ?? " "}]:`;
  }

  private onModelChange(events: Y.YEvent<any>[]): void {
    for (const event of events) {
      const path = event.path;
      if (event.target === this.model.ysource) this.pending.source = true;
      else if (path[0] === "outputs" || (path.length === 0 && (event as Y.YMapEvent<any>).keysChanged?.has("outputs"))) this.pending.outputs = true;
      if (path.length === 0) {
        const keys = (event as Y.YMapEvent<any>).keysChanged;
        if (keys?.has("execution_count") || keys?.has("execution_state")) this.pending.prompt = true;
        if (keys?.has("attachments")) this.pending.source = true;
      }
    }
    if (this.frame === null) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = null;
    const { source, outputs, prompt } = this.pending;
    this.pending = { source: false, outputs: false, prompt: false };
    if (source) {
      if (!this.materialized) this.staticSource.textContent = this.model.getSource();
      else if (this.type === "markdown" && !this.editingMarkdown) this.showRendered();
    }
    if (outputs && this.materialized) this.renderOutputs();
    if (prompt || outputs) this.updatePrompt();
  }

  /** Outputs, re-rendered only where they changed: a stream growing below an HTML output
   * must not reload the HTML output's frame. */
  private renderOutputs(): void {
    if (this.type !== "code") return;
    const raw = (this.model.ymodel.get("outputs") as Y.Array<any> | undefined)?.toJSON() ?? [];
    const outputs = mergeStreams(raw.map((output: any) => (output.output_type === "stream" ? { ...output, text: joinText(output.text) } : output)));
    this.outputs.hidden = outputs.length === 0;
    const next: { key: string; node: HTMLElement }[] = [];
    outputs.forEach((output, index) => {
      const key = JSON.stringify(output);
      const previous = this.renderedOutputs[index];
      next.push(previous?.key === key ? previous : { key, node: renderOutput(output, this.host.frames) });
    });
    for (const old of this.renderedOutputs.slice(next.length)) {
      this.host.frames.releaseWithin(old.node);
      old.node.remove();
    }
    next.forEach((entry, index) => {
      const previous = this.renderedOutputs[index];
      if (previous === entry) return;
      if (previous) {
        this.host.frames.releaseWithin(previous.node);
        previous.node.replaceWith(entry.node);
      } else {
        this.outputs.appendChild(entry.node);
      }
    });
    this.renderedOutputs = next;
  }

  dispose(): void {
    this.model.ymodel.unobserveDeep(this.observer);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.host.frames.releaseWithin(this.outputs);
    this.editor?.destroy();
    this.editor = null;
    this.element.remove();
  }
}
