/** Remote carets and selections in a cell's editor, in each person's colour, with a name
 * label that shows while they are active and fades a few seconds after. Also publishes
 * this tab's selection in awareness, in JupyterLab's format (`cursors`), so JupyterLab
 * users see our carets and we see theirs. */

import { type Extension, StateEffect, Transaction } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  EditorView,
  ViewPlugin,
  type ViewUpdate,
  WidgetType,
} from "@codemirror/view";
import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";

import { safeColor, textColorOn, translucent } from "../shared/colors";
import type { ActivityTracker } from "./presence";

export interface CaretConfig {
  ytext: Y.Text;
  awareness: Awareness;
  activity: ActivityTracker;
  /** Whether this tab publishes its selection (false once access is gone). */
  publish: () => boolean;
}

const refresh = StateEffect.define<null>();

/** How often typing alone re-announces activity (awareness messages cost bandwidth). */
const TYPING_SIGNAL_MS = 1000;
let lastTypingSignal = 0;

class CaretWidget extends WidgetType {
  constructor(
    readonly clientId: number,
    readonly color: string,
    readonly name: string,
    readonly active: boolean,
    readonly firstLine: boolean,
  ) {
    super();
  }

  eq(other: CaretWidget): boolean {
    return (
      other.clientId === this.clientId &&
      other.color === this.color &&
      other.name === this.name &&
      other.active === this.active &&
      other.firstLine === this.firstLine
    );
  }

  toDOM(): HTMLElement {
    const caret = document.createElement("span");
    caret.className = "tc-caret";
    const label = document.createElement("span");
    label.className = "tc-caret-label";
    label.setAttribute("aria-hidden", "true");
    caret.appendChild(label);
    this.paint(caret);
    return caret;
  }

  /** Same person, new state: update in place so the label's fade can transition. */
  updateDOM(dom: HTMLElement, _view: EditorView, from?: WidgetType): boolean {
    if (!(from instanceof CaretWidget) || from.clientId !== this.clientId) return false;
    this.paint(dom);
    return true;
  }

  private paint(caret: HTMLElement): void {
    caret.dataset.client = String(this.clientId);
    caret.dataset.name = this.name;
    caret.style.setProperty("--tc-user", this.color);
    caret.style.setProperty("--tc-user-text", textColorOn(this.color));
    caret.classList.toggle("tc-caret--first-line", this.firstLine);
    const label = caret.firstChild as HTMLElement;
    label.textContent = this.name;
    label.classList.toggle("tc-caret-label--active", this.active);
  }

  ignoreEvent(): boolean {
    return true;
  }
}

interface RemoteRange {
  clientId: number;
  name: string;
  color: string;
  anchor: number;
  head: number;
}

function resolve(ytext: Y.Text, position: unknown): number | null {
  if (!position || typeof position !== "object") return null;
  try {
    const relative = Y.createRelativePositionFromJSON(position);
    const absolute = Y.createAbsolutePositionFromRelativePosition(relative, ytext.doc!);
    return absolute && absolute.type === ytext ? absolute.index : null;
  } catch {
    return null;
  }
}

/** A relative position as JupyterLab publishes and reads it: every field present, `null`
 * where unset. `Y.relativePositionToJSON` leaves unset fields out, and JupyterLab hands the
 * JSON straight to `Y.createAbsolutePositionFromRelativePosition`, which takes a missing
 * `item` (a caret at the end of a text) for a present one and fails on `item.client`. */
export function positionJSON(position: Y.RelativePosition): Record<string, unknown> {
  return {
    type: position.type === null ? null : { client: position.type.client, clock: position.type.clock },
    tname: position.tname,
    item: position.item === null ? null : { client: position.item.client, clock: position.item.clock },
    assoc: position.assoc,
  };
}

/** Remote ranges in this text, from JupyterLab's `cursors` or y-codemirror's `cursor`. */
function remoteRanges(config: CaretConfig): RemoteRange[] {
  const { awareness, ytext } = config;
  const ranges: RemoteRange[] = [];
  awareness.getStates().forEach((state, clientId) => {
    if (clientId === awareness.clientID || !state) return;
    const list: any[] = Array.isArray(state.cursors) ? state.cursors : state.cursor ? [state.cursor] : [];
    const user = state.user ?? {};
    for (const cursor of list.slice(0, 8)) {
      const anchor = resolve(ytext, cursor?.anchor);
      const head = resolve(ytext, cursor?.head);
      if (anchor === null || head === null) continue;
      ranges.push({
        clientId,
        name: String(user.display_name || user.name || "Anonymous").slice(0, 64),
        color: safeColor(user.color),
        anchor,
        head,
      });
    }
  });
  return ranges;
}

class RemoteCaretsPlugin {
  decorations: DecorationSet = Decoration.none;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    const me = this.config.awareness.clientID;
    if ([...added, ...updated, ...removed].some((id) => id !== me)) this.schedule(0);
  };

  constructor(
    private readonly view: EditorView,
    private readonly config: CaretConfig,
  ) {
    config.awareness.on("change", this.onChange);
    this.decorations = this.build();
  }

  update(update: ViewUpdate): void {
    if ((update.selectionSet || update.docChanged || update.focusChanged) && update.view.hasFocus) {
      this.publish(update);
    }
    if (update.docChanged || update.transactions.some((tr) => tr.effects.some((e) => e.is(refresh)))) {
      this.decorations = this.build();
    }
  }

  destroy(): void {
    this.config.awareness.off("change", this.onChange);
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private schedule(delay: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.view.dispatch({ effects: refresh.of(null) });
    }, delay);
  }

  private publish(update: ViewUpdate): void {
    if (!this.config.publish()) return;
    const { awareness, ytext } = this.config;
    const local = awareness.getLocalState();
    if (local === null) return;
    const cursors = update.state.selection.ranges.map((range) => ({
      anchor: positionJSON(Y.createRelativePositionFromTypeIndex(ytext, range.anchor)),
      head: positionJSON(Y.createRelativePositionFromTypeIndex(ytext, range.head)),
      primary: range === update.state.selection.main,
      empty: range.empty,
    }));
    const next: Record<string, unknown> = { ...local };
    let changed = JSON.stringify(local.cursors) !== JSON.stringify(cursors);
    next.cursors = cursors;
    // Typing at the end of a text leaves its relative position unchanged: a counter (at
    // most one bump a second) tells the others you are active, so your label shows.
    const typed = update.transactions.some((tr) => tr.annotation(Transaction.userEvent) !== undefined && tr.docChanged);
    const now = Date.now();
    if (typed && now - lastTypingSignal >= TYPING_SIGNAL_MS) {
      lastTypingSignal = now;
      next.typing = (typeof local.typing === "number" ? local.typing : 0) + 1;
      changed = true;
    }
    if (changed) awareness.setLocalState(next);
  }

  private build(): DecorationSet {
    const now = Date.now();
    const doc = this.view.state.doc;
    const pieces: { from: number; to: number; deco: Decoration }[] = [];
    for (const range of remoteRanges(this.config)) {
      const anchor = Math.min(range.anchor, doc.length);
      const head = Math.min(range.head, doc.length);
      const from = Math.min(anchor, head);
      const to = Math.max(anchor, head);
      if (from < to) {
        pieces.push({
          from,
          to,
          deco: Decoration.mark({
            class: "tc-remote-selection",
            attributes: { style: `background-color: ${translucent(range.color, 0.25)}` },
          }),
        });
      }
      const widget = new CaretWidget(
        range.clientId,
        range.color,
        range.name,
        this.config.activity.isActive(range.clientId, now),
        doc.lineAt(head).number === 1,
      );
      pieces.push({ from: head, to: head, deco: Decoration.widget({ widget, side: head > anchor ? -1 : 1 }) });
    }
    const expiry = this.config.activity.nextExpiry(now);
    if (expiry !== null && pieces.length > 0) this.schedule(expiry - now + 20);
    return Decoration.set(
      pieces.map((piece) => piece.deco.range(piece.from, piece.to)),
      true,
    );
  }
}

export function remoteCarets(config: CaretConfig): Extension {
  return ViewPlugin.define((view) => new RemoteCaretsPlugin(view, config), {
    decorations: (plugin) => plugin.decorations,
  });
}
