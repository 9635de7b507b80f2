/** HTML and JavaScript outputs run in iframes of `/tandem/output-frame`: sandboxed with
 * `allow-scripts` only (an opaque origin: no cookies, no access to this page, no network
 * by the frame's own CSP). The content is posted in once the frame says it is ready; the
 * frame answers with its content's height, which is all this page accepts from it. */

import { h } from "../shared/dom";

export const MIN_FRAME_HEIGHT = 24;
export const MAX_FRAME_HEIGHT = 4000;

export function clampFrameHeight(height: unknown): number | null {
  if (typeof height !== "number" || !Number.isFinite(height)) return null;
  return Math.round(Math.min(MAX_FRAME_HEIGHT, Math.max(MIN_FRAME_HEIGHT, height)));
}

interface Entry {
  frame: HTMLIFrameElement;
  html: string;
  posted: boolean;
}

export class FrameHost {
  private entries = new Set<Entry>();
  private listening = false;

  constructor(private readonly frameUrl: string) {}

  create(html: string, title: string): HTMLIFrameElement {
    this.listen();
    const frame = h("iframe", {
      class: "tc-output-frame",
      sandbox: "allow-scripts",
      src: this.frameUrl,
      title,
      referrerpolicy: "no-referrer",
    });
    frame.style.height = `${MIN_FRAME_HEIGHT}px`;
    this.entries.add({ frame, html, posted: false });
    return frame;
  }

  /** Forget the frames inside `root` (it is being cleared). */
  releaseWithin(root: Element): void {
    for (const entry of this.entries) {
      if (root.contains(entry.frame)) this.entries.delete(entry);
    }
  }

  private find(source: Window): Entry | undefined {
    for (const entry of this.entries) {
      if (entry.frame.contentWindow === source) return entry;
      if (!entry.frame.isConnected && entry.posted) this.entries.delete(entry);
    }
    return undefined;
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    window.addEventListener("message", (event: MessageEvent) => {
      const source = event.source as Window | null;
      const data = event.data;
      if (!source || !data || typeof data !== "object") return;
      const entry = this.find(source);
      if (!entry) return;
      if (data.type === "tandem-frame-ready" && !entry.posted) {
        entry.posted = true;
        source.postMessage({ type: "tandem-output", html: entry.html }, "*");
      } else if (data.type === "tandem-frame-size") {
        const height = clampFrameHeight(data.height);
        if (height !== null) entry.frame.style.height = `${height}px`;
      }
    });
  }
}
