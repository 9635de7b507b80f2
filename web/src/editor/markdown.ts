/** Markdown cells and text/markdown outputs: `marked` (GitHub flavour) with math, then
 * DOMPurify. Nothing a collaborator writes can run script or restyle the page. */

import DOMPurify from "dompurify";
import { Marked } from "marked";

import { mathExtension } from "./math";

const marked = new Marked({ gfm: true, breaks: false, async: false }, mathExtension);

/** Markdown to HTML, math rendered. NOT sanitized: use `sanitizeHtml` before showing it. */
export function markdownToHtml(source: string): string {
  return marked.parse(source, { async: false }) as string;
}

export type Attachments = Record<string, Record<string, unknown>> | undefined;

const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp)$/;
const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

let purifier: ReturnType<typeof DOMPurify> | null = null;
let currentAttachments: Attachments;

function getPurifier(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier;
  purifier = DOMPurify(window);
  purifier.addHook("afterSanitizeAttributes", (node) => {
    const element = node as Element;
    if (element.tagName === "A") {
      const href = element.getAttribute("href") ?? "";
      if (href && !href.startsWith("#")) {
        element.setAttribute("target", "_blank");
        element.setAttribute("rel", "noopener noreferrer nofollow");
      }
    } else if (element.tagName === "IMG") {
      const src = element.getAttribute("src") ?? "";
      if (src.startsWith("attachment:")) {
        const data = currentAttachments?.[decodeURIComponent(src.slice("attachment:".length))];
        const entry = Object.entries(data ?? {}).find(([mime]) => IMAGE_TYPES.test(mime));
        if (entry && typeof entry[1] === "string" && BASE64.test(entry[1])) {
          element.setAttribute("src", `data:${entry[0]};base64,${entry[1].replace(/\s/g, "")}`);
        } else {
          element.removeAttribute("src");
        }
      } else if (/^(https?:)?\/\//i.test(src)) {
        // Nothing leaves the origin (the page's CSP would block it anyway).
        element.removeAttribute("src");
        element.setAttribute("data-blocked-src", src);
        element.setAttribute("title", `External image not loaded: ${src}`);
      }
    }
  });
  return purifier;
}

/** Sanitize HTML for display in the page: no scripts, handlers, styles sheets or forms. */
export function sanitizeHtml(html: string, attachments?: Attachments): DocumentFragment {
  currentAttachments = attachments;
  try {
    return getPurifier().sanitize(html, {
      RETURN_DOM_FRAGMENT: true,
      FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "object", "embed", "base", "meta", "link"],
      FORBID_ATTR: ["autofocus", "formaction"],
      SANITIZE_NAMED_PROPS: true,
    }) as DocumentFragment;
  } finally {
    currentAttachments = undefined;
  }
}

export function renderMarkdown(source: string, attachments?: Attachments): DocumentFragment {
  return sanitizeHtml(markdownToHtml(source), attachments);
}

/** An SVG document, sanitized, as a data: URL for an <img> (where scripts never run). */
export function sanitizedSvgUrl(svg: string): string {
  let clean = getPurifier().sanitize(svg, { USE_PROFILES: { svg: true, svgFilters: true } }) as string;
  if (!/^<svg[^>]*\sxmlns=/.test(clean)) clean = clean.replace(/^<svg/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(clean)}`;
}
