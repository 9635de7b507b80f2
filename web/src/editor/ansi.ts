/** Terminal text (streams, tracebacks, text/plain) to safe HTML: ANSI colours become
 * classes, everything else is escaped; carriage returns and backspaces behave as in a
 * terminal, so progress bars show their last state. */

import { AnsiUp } from "ansi_up";

/** Apply `\r` (back to line start) and `\b` (erase one character) the way a terminal would. */
export function applyTerminalControls(text: string): string {
  if (!text.includes("\r") && !text.includes("\b")) return text;
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  return lines
    .map((line) => {
      if (line.includes("\b")) {
        const chars: string[] = [];
        for (const ch of line) {
          if (ch === "\b") chars.pop();
          else chars.push(ch);
        }
        line = chars.join("");
      }
      if (!line.includes("\r")) return line;
      // Each \r returns to the start of the line; later text overwrites earlier text.
      let result = "";
      for (const segment of line.split("\r")) {
        result = segment + result.slice(segment.length);
      }
      return result;
    })
    .join("\n");
}

export function ansiToHtml(text: string): string {
  const converter = new AnsiUp();
  converter.use_classes = true;
  converter.escape_html = true;
  return converter.ansi_to_html(applyTerminalControls(text));
}

/** The text without ANSI escape sequences (for labels and accessible names). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
}
