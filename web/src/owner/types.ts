// The JSON records of Tandem's APIs, as the pages use them.

// The owner API's records shared with the JupyterLab extension (one definition for both).
import type { Role } from "../../../labextension/src/records";

export type { Grant, HubGrant, HubSharing, Invitation, Role } from "../../../labextension/src/records";

export interface AuditEvent {
  id: number;
  at: number;
  kind: string;
  principal_id: string;
  path: string | null;
  client_address: string | null;
  detail: Record<string, unknown>;
  /** Added by the server (the stored record has only ids): who, by name. */
  who?: string;
  /** What happened, naming people, without its subject: "revoked Alice". */
  action?: string;
  summary?: string;
}

export interface Entry {
  name: string;
  path: string;
  kind: "folder" | "notebook";
  role: Role | null;
  expires_at: number | null;
}

export interface Listing {
  path: string;
  crumbs: { name: string; path: string }[];
  entries: Entry[];
}

export interface Person {
  name: string;
  initials: string;
  color: string;
  role: string;
}

export interface Presence {
  rooms: { path: string; people: Person[] }[];
}
