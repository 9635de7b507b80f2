/** The document's connection, as JupyterLab makes it: the session endpoint, then a
 * y-websocket room with the session id. Reconnects re-ask the session first; a new epoch
 * rebuilds the document instead of merging two lineages (which would duplicate cells). */

import { YNotebook } from "@jupyter/ydoc";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { WebsocketProvider } from "y-websocket";

import { apiUrl, requestJson } from "../shared/api";
import {
  backoffDelay,
  closeAction,
  type ConnectionState,
  type SessionInfo,
  sessionAction,
} from "./connection-policy";
import { keepForReload, restoreAfterReload } from "./stash";
import "./ydoc-guards";

const RAW_MESSAGE = 2;

export interface LiveDocument {
  notebook: YNotebook;
  provider: WebsocketProvider;
  session: SessionInfo;
}

export interface ConnectionEvents {
  state(state: ConnectionState): void;
  /** A (new) document to show; `reset` is true when it replaces one after an epoch change. */
  document(live: LiveDocument, reset: boolean): void;
  /** The server answered a save request. */
  saved(status: string): void;
}

export class Connection {
  live: LiveDocument | null = null;
  state: ConnectionState = { kind: "connecting" };
  private saveCounter = 0;
  private recovering = false;
  private destroyed = false;
  private reconnectingSince = 0;
  private restored = false;
  /** The tab is loading itself again to get its current room token (see stash.ts). */
  reloading = false;

  constructor(
    private readonly baseUrl: string,
    private readonly path: string,
    private readonly events: ConnectionEvents,
    /** A link guest's room token from the editor page (see tandem/handlers/room.py). */
    private readonly roomToken: string | null = null,
  ) {}

  async start(): Promise<void> {
    await this.recover();
  }

  /** Ask the server to save now (jupyter-collaboration's message 2: "save" + request id). */
  save(): boolean {
    const ws = this.live?.provider.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, RAW_MESSAGE);
    encoding.writeVarString(encoder, "save");
    encoding.writeVarUint(encoder, ++this.saveCounter);
    ws.send(encoding.toUint8Array(encoder));
    return true;
  }

  destroy(): void {
    this.destroyed = true;
    this.dropDocument();
  }

  private setState(state: ConnectionState): void {
    if (this.destroyed) return;
    this.state = state;
    this.events.state(state);
  }

  private get terminal(): boolean {
    return ["revoked", "gone", "fatal"].includes(this.state.kind);
  }

  /** Ask the session endpoint (retrying while the server is unreachable), then open,
   * resume or rebuild the document. */
  private async recover(): Promise<void> {
    if (this.recovering || this.destroyed || this.terminal) return;
    this.recovering = true;
    try {
      for (let attempt = 0; !this.destroyed; attempt++) {
        let status = 0;
        let body: any = null;
        try {
          performance.mark("tandem:session-request");
          ({ status, body } = await requestJson(
            "PUT",
            apiUrl(this.baseUrl, "api/collaboration/session", this.path),
            { format: "json", type: "notebook" },
          ));
        } catch {
          status = 0;
        }
        performance.mark("tandem:session-answer");
        const action = sessionAction(this.live?.session ?? null, status, body);
        switch (action.kind) {
          case "open":
            this.openDocument(action.session, false);
            return;
          case "reset":
            this.dropDocument();
            this.openDocument(action.session, true);
            return;
          case "resume":
            this.live!.provider.connect();
            return;
          case "denied":
            this.fail({ kind: "revoked", message: "Your access was revoked" });
            return;
          case "gone":
            this.fail({ kind: "gone" });
            return;
          case "fatal":
            this.fail({ kind: "fatal", message: action.message });
            return;
          case "retry":
            await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt)));
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private fail(state: ConnectionState): void {
    this.live?.provider.disconnect();
    this.setState(state);
  }

  private openDocument(session: SessionInfo, reset: boolean): void {
    const notebook = new YNotebook({ disableDocumentWideUndoRedo: false });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const provider = new WebsocketProvider(
      `${scheme}//${location.host}${this.baseUrl}api/collaboration/room`,
      `json:notebook:${session.fileId}`,
      notebook.ydoc,
      {
        awareness: notebook.awareness,
        params: this.roomToken
          ? { sessionId: session.sessionId, roomToken: this.roomToken }
          : { sessionId: session.sessionId },
        disableBc: true,
        // Every server close comes to us: we re-ask the session before reconnecting.
        shouldReconnect: () => false,
        maxBackoffTime: 4000,
      },
    );
    provider.messageHandlers[RAW_MESSAGE] = (_encoder, decoder) => {
      try {
        const message = JSON.parse(decoding.readVarString(decoder));
        if (message?.type === "save") this.events.saved(String(message.status));
      } catch {
        /* not for us */
      }
    };
    provider.on("sync", (synced: boolean) => {
      if (synced) performance.mark("tandem:synced");
      if (!synced || this.live?.provider !== provider) return;
      if (this.roomToken && !this.restored) {
        this.restored = true;
        restoreAfterReload(this.path, session, notebook.ydoc);
      }
      this.setState({ kind: "online" });
    });
    provider.on("status", ({ status }: { status: string }) => {
      if (status === "disconnected" && this.live?.provider === provider && !this.terminal) {
        this.markReconnecting();
      }
    });
    provider.on("closed", ({ code, reason }: { code: number; reason: string }) => {
      if (this.live?.provider !== provider) return;
      const action = closeAction(code, reason);
      switch (action.kind) {
        case "revoked":
          this.fail({ kind: "revoked", message: action.message });
          break;
        case "stale":
          if (this.roomToken && keepForReload(this.path, session, notebook.ydoc)) {
            this.reloading = true;
            provider.disconnect();
            location.reload();
          } else {
            this.fail({ kind: "revoked", message: action.message });
          }
          break;
        case "gone":
          this.fail({ kind: "gone" });
          break;
        case "fatal":
          this.fail({ kind: "fatal", message: action.message });
          break;
        default:
          this.markReconnecting();
          void this.recover();
      }
    });
    this.live = { notebook, provider, session };
    this.events.document(this.live, reset);
  }

  private markReconnecting(): void {
    if (this.state.kind !== "reconnecting") {
      this.reconnectingSince = Date.now();
      this.setState({ kind: "reconnecting", since: this.reconnectingSince });
    }
  }

  private dropDocument(): void {
    const live = this.live;
    this.live = null;
    if (live) {
      live.provider.destroy();
      live.notebook.dispose();
    }
  }
}
