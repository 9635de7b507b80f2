/** A link guest's tab whose guest session was renewed in another tab (they joined again)
 * holds a room token the server no longer accepts, and only loading the editor page again
 * gets the current one (the page is the one place the token is given; see
 * tandem/handlers/editor.py). So the tab loads itself again, keeping what it has not sent:
 * its document's state waits in this tab's sessionStorage and is merged into the new
 * page's document once that is in sync. A yjs update applied twice changes nothing, so
 * what the server already had is not duplicated. */

import { fromBase64, toBase64 } from "lib0/buffer";
import * as Y from "yjs";

import type { SessionInfo } from "./connection-policy";

const KEY = "tandem-unsent";
/** Reloads in a row that did not get the tab online: the second one stops. */
const RELOADS = "tandem-stale-reloads";

interface Unsent {
  path: string;
  fileId: string;
  sessionId: string;
  update: string;
  scrollY: number;
}

/** Keep the document's state for the page that comes after a reload; false when this
 * tab cannot (no storage, too large, or a reload already failed to help). */
export function keepForReload(path: string, session: SessionInfo, doc: Y.Doc): boolean {
  try {
    if (Number(sessionStorage.getItem(RELOADS) ?? "0") >= 1) return false;
    const unsent: Unsent = {
      path,
      fileId: session.fileId,
      sessionId: session.sessionId,
      update: toBase64(Y.encodeStateAsUpdate(doc)),
      scrollY: window.scrollY,
    };
    sessionStorage.setItem(KEY, JSON.stringify(unsent));
    sessionStorage.setItem(RELOADS, "1");
    return true;
  } catch {
    return false;
  }
}

/** Merge what the previous page of this tab kept, if this page is its reload, of the same
 * notebook and the same epoch (a new epoch is a new document: merging would duplicate). */
export function restoreAfterReload(path: string, session: SessionInfo, doc: Y.Doc): void {
  let unsent: Unsent | null = null;
  try {
    const text = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(RELOADS);
    unsent = text ? (JSON.parse(text) as Unsent) : null;
  } catch {
    return;
  }
  // Only a reload of this tab (which another page cannot cause) brings its edits back.
  const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  if (!unsent || navigation?.type !== "reload") return;
  if (unsent.path !== path || unsent.fileId !== session.fileId || unsent.sessionId !== session.sessionId) return;
  Y.applyUpdate(doc, fromBase64(unsent.update));
  window.scrollTo(0, unsent.scrollY);
}
