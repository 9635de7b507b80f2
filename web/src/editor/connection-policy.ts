/** Pure decisions of the connection: what a close code means, what a session answer means,
 * how long to wait before retrying, and what the banner says. */

import { errorOf } from "../shared/api";

export type CloseAction =
  | { kind: "reconnect" }
  /** The document's epoch may have changed: ask the session endpoint again. */
  | { kind: "resync" }
  | { kind: "revoked"; message: string }
  /** A link guest's page holds the room token of a session renewed since (another tab
   * joined again): only loading the page again gets the current one. */
  | { kind: "stale"; message: string }
  | { kind: "gone" }
  | { kind: "fatal"; message: string };

/** The server's 4403 reason for a room token of another guest session (tandem/handlers/room.py). */
export const STALE_PAGE = "This page is out of date: reload it to reconnect";

export function closeAction(code: number, reason: string): CloseAction {
  switch (code) {
    case 4403:
      if (reason === STALE_PAGE) return { kind: "stale", message: reason };
      return { kind: "revoked", message: reason || "Your access was revoked" };
    case 4404:
      return { kind: "gone" };
    case 4400:
      return { kind: "fatal", message: `This notebook cannot be opened${reason ? `: ${reason}` : "."}` };
    case 1003: {
      let parsed: { reason?: string; errorReason?: string } = {};
      try {
        parsed = JSON.parse(reason);
      } catch {
        /* a plain-text reason */
      }
      if (parsed.reason === "initialization_error") {
        return { kind: "fatal", message: `The server could not open this notebook${parsed.errorReason ? `: ${parsed.errorReason}` : "."}` };
      }
      return { kind: "resync" };
    }
    case 1007:
    case 1009:
      return { kind: "fatal", message: `The server refused a message from this tab (${code}${reason ? `: ${reason}` : ""}). Reload the page.` };
    default:
      return { kind: "reconnect" };
  }
}

export interface SessionInfo {
  fileId: string;
  sessionId: string;
}

export type SessionAction =
  | { kind: "open"; session: SessionInfo }
  /** Same document, same epoch: reconnect and merge. */
  | { kind: "resume"; session: SessionInfo }
  /** A new epoch (or file): throw the local document away and load the server's. */
  | { kind: "reset"; session: SessionInfo }
  | { kind: "denied" }
  | { kind: "gone" }
  | { kind: "retry" }
  | { kind: "fatal"; message: string };

/** What to do with the session endpoint's answer (`status` 0 = the request failed). */
export function sessionAction(previous: SessionInfo | null, status: number, body: any): SessionAction {
  if (status === 200 || status === 201) {
    if (!body || typeof body.fileId !== "string" || typeof body.sessionId !== "string") {
      return { kind: "retry" };
    }
    const session = { fileId: body.fileId, sessionId: body.sessionId };
    if (previous === null) return { kind: "open", session };
    if (previous.fileId === session.fileId && previous.sessionId === session.sessionId) {
      return { kind: "resume", session };
    }
    return { kind: "reset", session };
  }
  if (status === 401 || status === 403) return { kind: "denied" };
  if (status === 404) return { kind: "gone" };
  if (status === 400) return { kind: "fatal", message: errorOf(status, body, "The server refused to open this notebook.").message };
  return { kind: "retry" };
}

/** Exponential backoff: 250 ms, 500 ms, 1 s, 2 s, then every 4 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(250 * 2 ** Math.max(0, attempt), 4000);
}

/** After this long without the server, "reconnecting" becomes "offline". */
export const OFFLINE_AFTER_MS = 8000;

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "online" }
  | { kind: "reconnecting"; since: number }
  | { kind: "revoked"; message: string }
  | { kind: "gone" }
  | { kind: "fatal"; message: string };

export interface Banner {
  /** data-connection attribute and CSS class. */
  state: "connecting" | "online" | "reconnecting" | "offline" | "revoked" | "gone" | "error";
  /** Short label for the status pill. */
  label: string;
  /** Longer sentence for the banner; empty when nothing needs saying. */
  message: string;
}

export function bannerFor(state: ConnectionState, now: number, browserOnline = true): Banner {
  switch (state.kind) {
    case "connecting":
      return { state: "connecting", label: "Connecting…", message: "" };
    case "online":
      return { state: "online", label: "Online", message: "" };
    case "reconnecting":
      if (!browserOnline || now - state.since >= OFFLINE_AFTER_MS) {
        return {
          state: "offline",
          label: "Offline",
          message: "Offline. Keep working: your changes stay in this tab and are sent when the connection is back.",
        };
      }
      return {
        state: "reconnecting",
        label: "Reconnecting…",
        message: "Connection lost. Reconnecting… your changes are kept.",
      };
    case "revoked":
      return { state: "revoked", label: "No access", message: state.message };
    case "gone":
      return { state: "gone", label: "Gone", message: "This notebook was deleted or moved." };
    case "fatal":
      return { state: "error", label: "Error", message: state.message };
  }
}
