/** Jupyter's command-mode keys, as a pure function of the key event and the previous key
 * (for the double presses D D, I I and 0 0). */

export type Command =
  | "enter-edit"
  | "run-and-advance"
  | "run"
  | "run-and-insert"
  | "select-previous"
  | "select-next"
  | "select-first"
  | "select-last"
  | "insert-above"
  | "insert-below"
  | "delete"
  | "to-code"
  | "to-markdown"
  | "to-raw"
  | "merge-below"
  | "move-up"
  | "move-down"
  | "undo"
  | "redo"
  | "save"
  | "interrupt"
  | "restart";

export interface KeyInput {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

export interface ChordState {
  key: string;
  at: number;
}

/** How quickly the second key of D D, I I or 0 0 must follow the first. */
export const CHORD_MS = 800;

const DOUBLE: Record<string, Command> = { d: "delete", i: "interrupt", "0": "restart" };

export interface Resolution {
  command: Command | null;
  chord: ChordState | null;
}

export function resolveCommandKey(input: KeyInput, chord: ChordState | null, now: number): Resolution {
  const mod = Boolean(input.ctrlKey || input.metaKey);
  const key = input.key.length === 1 ? input.key.toLowerCase() : input.key;
  if (mod && !input.altKey) {
    if (key === "s") return { command: "save", chord: null };
    if (key === "Enter") return { command: "run", chord: null };
    if (key === "z") return { command: input.shiftKey ? "redo" : "undo", chord: null };
    if (key === "y") return { command: "redo", chord: null };
    if (input.shiftKey && key === "ArrowUp") return { command: "move-up", chord: null };
    if (input.shiftKey && key === "ArrowDown") return { command: "move-down", chord: null };
    return { command: null, chord: null };
  }
  if (key === "Enter") {
    if (input.shiftKey) return { command: "run-and-advance", chord: null };
    if (input.altKey) return { command: "run-and-insert", chord: null };
    return { command: "enter-edit", chord: null };
  }
  if (input.altKey) return { command: null, chord: null };
  if (key in DOUBLE && !input.shiftKey) {
    if (chord && chord.key === key && now - chord.at <= CHORD_MS) return { command: DOUBLE[key], chord: null };
    return { command: null, chord: { key, at: now } };
  }
  const single: Record<string, Command> = {
    ArrowUp: "select-previous",
    k: "select-previous",
    ArrowDown: "select-next",
    j: "select-next",
    Home: "select-first",
    End: "select-last",
    a: "insert-above",
    b: "insert-below",
    y: "to-code",
    m: input.shiftKey ? "merge-below" : "to-markdown",
    r: "to-raw",
    z: input.shiftKey ? "redo" : "undo",
  };
  return { command: single[key] ?? null, chord: null };
}

/** Commands that change the document (refused in a read-only notebook). */
export const EDITING_COMMANDS = new Set<Command>([
  "insert-above",
  "insert-below",
  "delete",
  "to-code",
  "to-markdown",
  "to-raw",
  "merge-below",
  "move-up",
  "move-down",
  "undo",
  "redo",
  "run-and-insert",
]);

/** Commands that need the run role. */
export const RUN_COMMANDS = new Set<Command>(["interrupt", "restart"]);
