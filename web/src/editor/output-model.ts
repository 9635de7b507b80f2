/** Pure decisions about outputs: which representation to show, and their text. */

export type OutputKind = "stream" | "error" | "execute_result" | "display_data" | "unknown";

/** Richest first, as Jupyter's renderers rank them. */
export const MIME_ORDER = [
  "application/vnd.jupyter.widget-view+json",
  "application/javascript",
  "text/html",
  "text/markdown",
  "text/latex",
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "application/json",
  "text/plain",
] as const;

/** MIME types shown only inside the sandboxed output frame. */
export const FRAMED_MIME = new Set(["text/html", "application/javascript"]);

/** Widgets need a kernel-side manager this app does not have: show their text instead. */
const UNSUPPORTED = new Set(["application/vnd.jupyter.widget-view+json"]);

export function pickMime(data: Record<string, unknown> | null | undefined): string | null {
  if (!data || typeof data !== "object") return null;
  for (const mime of MIME_ORDER) {
    if (UNSUPPORTED.has(mime)) continue;
    if (data[mime] !== undefined && data[mime] !== null) return mime;
  }
  const other = Object.keys(data).find((mime) => !UNSUPPORTED.has(mime));
  return other ?? null;
}

/** nbformat multiline strings are a string or a list of strings. */
export function joinText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((part) => (typeof part === "string" ? part : String(part ?? ""))).join("");
  if (value && typeof value === "object" && typeof (value as any).toString === "function") {
    return String(value);
  }
  return value === undefined || value === null ? "" : String(value);
}

export function outputKind(output: Record<string, unknown>): OutputKind {
  const type = output.output_type;
  return type === "stream" || type === "error" || type === "execute_result" || type === "display_data"
    ? type
    : "unknown";
}

/** The traceback as one text (Jupyter's is a list of ANSI-coloured lines). */
export function errorText(output: Record<string, unknown>): string {
  const traceback = output.traceback;
  if (Array.isArray(traceback) && traceback.length > 0) return traceback.map((line) => joinText(line)).join("\n");
  return `${joinText(output.ename)}: ${joinText(output.evalue)}`;
}

const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

/** A data: URL for a base64 image, or null if the payload is not base64. */
export function imageDataUrl(mime: string, payload: unknown): string | null {
  const text = joinText(payload);
  if (!BASE64.test(text)) return null;
  return `data:${mime};base64,${text.replace(/\s/g, "")}`;
}

/** Strip `$$`/`$` around a text/latex payload so KaTeX sees the formula. */
export function latexBody(text: string): string {
  const trimmed = text.trim();
  for (const [open, close] of [["$$", "$$"], ["\\[", "\\]"], ["$", "$"]]) {
    if (trimmed.startsWith(open) && trimmed.endsWith(close) && trimmed.length > open.length + close.length) {
      return trimmed.slice(open.length, trimmed.length - close.length).trim();
    }
  }
  return trimmed;
}

/** The HTML document an HTML or JavaScript output becomes inside its sandbox. */
export function frameHtml(mime: string, payload: unknown): string {
  const text = joinText(payload);
  if (mime === "application/javascript") {
    // As in Jupyter, the script finds its output element as `element`.
    const script = text.replace(/<\/(script)/gi, "<\\/$1");
    return `<div id="output"></div><script>var element = document.getElementById("output");</script><script>${script}</script>`;
  }
  return text;
}
