/** One cell's CodeMirror 6 editor: bound to the cell's Y.Text with y-codemirror.next,
 * undo through the notebook's Y.UndoManager (your own changes only), remote carets. */

import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection,
  dropCursor,
  EditorView,
  highlightSpecialChars,
  type KeyBinding,
  keymap,
} from "@codemirror/view";
import { yCollab } from "y-codemirror.next";
import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";

import type { ActivityTracker } from "./presence";
import { remoteCarets } from "./remote-carets";

export type CellLanguage = "code" | "markdown" | "raw";

export interface CellEditorOptions {
  parent: HTMLElement;
  ytext: Y.Text;
  awareness: Awareness;
  undoManager: Y.UndoManager;
  activity: ActivityTracker;
  language: CellLanguage;
  readOnly: boolean;
  label: string;
  /** Cell-level bindings (Escape, Shift-Enter, ...), tried before the editor's own. */
  keys: readonly KeyBinding[];
  publish: () => boolean;
  onFocus: () => void;
}

const theme = EditorView.theme({
  "&": { fontSize: "14px", backgroundColor: "transparent" },
  "&.cm-focused": { outline: "none" },
  ".cm-content": { fontFamily: "var(--tc-mono)", padding: "6px 0" },
  ".cm-line": { padding: "0 8px" },
  ".cm-scroller": { fontFamily: "var(--tc-mono)", lineHeight: "1.45" },
});

function language(kind: CellLanguage): Extension {
  if (kind === "code") return python();
  if (kind === "markdown") return [markdown(), EditorView.lineWrapping];
  return EditorView.lineWrapping;
}

export function createCellEditor(options: CellEditorOptions): EditorView {
  const undo = () => options.undoManager.undo() !== null || true;
  const redo = () => options.undoManager.redo() !== null || true;
  const extensions: Extension[] = [
    keymap.of([
      ...options.keys,
      { key: "Mod-z", run: undo, preventDefault: true },
      { key: "Mod-y", run: redo, preventDefault: true },
      { key: "Mod-Shift-z", run: redo, preventDefault: true },
    ]),
    highlightSpecialChars(),
    drawSelection(),
    dropCursor(),
    indentOnInput(),
    indentUnit.of("    "),
    EditorState.tabSize.of(4),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    bracketMatching(),
    closeBrackets(),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, indentWithTab]),
    language(options.language),
    theme,
    yCollab(options.ytext, null, { undoManager: options.undoManager }),
    remoteCarets({
      ytext: options.ytext,
      awareness: options.awareness,
      activity: options.activity,
      publish: options.publish,
    }),
    // One tab stop for the whole notebook (the active cell): Enter edits, Escape leaves.
    EditorView.contentAttributes.of({ "aria-label": options.label, tabindex: "-1" }),
    EditorView.domEventHandlers({ focus: () => options.onFocus() }),
  ];
  if (options.readOnly) extensions.push(EditorState.readOnly.of(true));
  return new EditorView({
    parent: options.parent,
    state: EditorState.create({ doc: options.ytext.toString(), extensions }),
  });
}
