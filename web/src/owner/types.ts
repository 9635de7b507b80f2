// The JSON records of Tandem's APIs, as the pages use them.

export type Role = "view" | "edit" | "run";

export interface Invitation {
  id: string;
  scope_path: string;
  scope_is_folder: boolean;
  role: Role;
  created_at: number;
  expires_at: number;
  max_uses: number | null;
  uses: number;
  approval_required: boolean;
  anonymous_allowed: boolean;
  label: string;
  revoked_at: number | null;
  /** Run links: where code cannot be confined, guests' code runs as the owner. */
  runs_as_owner?: boolean;
}

export interface Grant {
  id: string;
  invitation_id: string;
  guest_session_id: string;
  display_name: string;
  role: Role;
  scope_path: string;
  scope_is_folder: boolean;
  created_at: number;
  expires_at: number;
  last_seen: number | null;
  revoked_at: number | null;
  status: "pending" | "active" | "refused";
  /** Added by the server: a pending request whose waiting page is still open. */
  asking?: boolean;
}

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
