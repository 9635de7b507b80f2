/** Renders a code cell's outputs into DOM. Text is escaped or sanitized; HTML and
 * JavaScript go to the sandboxed frame; images only from data: URLs. */

import { h } from "../shared/dom";
import { ansiToHtml } from "./ansi";
import { renderMarkdown, sanitizedSvgUrl, sanitizeHtml } from "./markdown";
import { renderTex } from "./math";
import type { FrameHost } from "./output-frame";
import {
  errorText,
  FRAMED_MIME,
  frameHtml,
  imageDataUrl,
  joinText,
  latexBody,
  outputKind,
  pickMime,
} from "./output-model";

function terminalText(text: string, className: string): HTMLElement {
  const pre = h("pre", { class: className });
  // ansi_up escapes the text; only its colour spans are markup.
  pre.innerHTML = ansiToHtml(text);
  return pre;
}

function renderBundle(
  data: Record<string, unknown>,
  metadata: Record<string, any>,
  frames: FrameHost,
): HTMLElement {
  const mime = pickMime(data);
  if (mime === null) return h("div", { class: "tc-output-empty" });
  const payload = data[mime];
  if (FRAMED_MIME.has(mime)) {
    return h("div", { class: "tc-output-html" }, frames.create(frameHtml(mime, payload), `${mime} output`));
  }
  switch (mime) {
    case "text/markdown": {
      const box = h("div", { class: "tc-output-markdown tc-rendered" });
      box.appendChild(renderMarkdown(joinText(payload)));
      return box;
    }
    case "text/latex": {
      const box = h("div", { class: "tc-output-latex" });
      box.appendChild(sanitizeHtml(renderTex(latexBody(joinText(payload)), true)));
      return box;
    }
    case "image/svg+xml":
      return h("img", { class: "tc-output-image", src: sanitizedSvgUrl(joinText(payload)), alt: "SVG output" });
    case "image/png":
    case "image/jpeg":
    case "image/gif":
    case "image/webp": {
      const url = imageDataUrl(mime, payload);
      if (url === null) return h("pre", { class: "tc-output-text" }, "[image data is not base64]");
      const size = metadata?.[mime] ?? {};
      return h("img", {
        class: "tc-output-image",
        src: url,
        alt: `${mime.slice(6).toUpperCase()} output`,
        width: typeof size.width === "number" ? size.width : null,
        height: typeof size.height === "number" ? size.height : null,
      });
    }
    case "application/json":
      return h("pre", { class: "tc-output-text" }, JSON.stringify(payload, null, 2));
    case "text/plain":
      return terminalText(joinText(payload), "tc-output-text");
    default:
      return h("pre", { class: "tc-output-text" }, `[${mime} output is not supported here]`);
  }
}

export function renderOutput(output: Record<string, any>, frames: FrameHost): HTMLElement {
  const kind = outputKind(output);
  const wrap = h("div", { class: `tc-output tc-output--${kind}` });
  switch (kind) {
    case "stream":
      wrap.classList.add(`tc-output--${output.name === "stderr" ? "stderr" : "stdout"}`);
      wrap.appendChild(terminalText(joinText(output.text), "tc-output-text"));
      break;
    case "error":
      wrap.setAttribute("role", "group");
      wrap.setAttribute("aria-label", `Error: ${joinText(output.ename)}`);
      wrap.appendChild(terminalText(errorText(output), "tc-output-text tc-output-traceback"));
      break;
    case "execute_result":
    case "display_data":
      wrap.appendChild(renderBundle(output.data ?? {}, output.metadata ?? {}, frames));
      break;
    default:
      wrap.appendChild(h("pre", { class: "tc-output-text" }, `[unknown output type ${String(output.output_type)}]`));
  }
  return wrap;
}

/** Consecutive stream outputs to the same stream read as one, as in Jupyter. */
export function mergeStreams(outputs: Record<string, any>[]): Record<string, any>[] {
  const merged: Record<string, any>[] = [];
  for (const output of outputs) {
    const last = merged[merged.length - 1];
    if (output.output_type === "stream" && last?.output_type === "stream" && last.name === output.name) {
      merged[merged.length - 1] = { ...last, text: joinText(last.text) + joinText(output.text) };
    } else {
      merged.push(output);
    }
  }
  return merged;
}
