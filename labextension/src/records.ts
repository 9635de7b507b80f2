/** The JSON records of Tandem's owner API (`/tandem/api/...`), in one place for both
 * clients: this JupyterLab extension and Tandem's web app (`web/src/owner/types.ts`
 * re-exports them). Types only: nothing here is emitted into either bundle. */

export type Role = 'view' | 'edit' | 'run';

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
  /** A link guest's session hash, `hub:<name>` for a hub user, `hub-group:<name>`. */
  guest_session_id: string;
  display_name: string;
  role: Role;
  scope_path: string;
  scope_is_folder: boolean;
  created_at: number;
  expires_at: number;
  last_seen: number | null;
  revoked_at: number | null;
  status: 'pending' | 'active' | 'refused';
  /** Added by the server: a pending request whose waiting page is still open. */
  asking?: boolean;
}

/** A grant to a hub user or a hub group (`GET /tandem/api/hub-shares`). */
export interface HubGrant extends Grant {
  kind: 'user' | 'group';
  /** The hub user's or group's name. */
  name: string;
}

/** `GET /tandem/api/hub-shares`: whether this server runs under JupyterHub (then sharing
 * with hub users and groups is offered), and the hub grants. */
export interface HubSharing {
  hub: { owner: string } | null;
  grants: HubGrant[];
}
