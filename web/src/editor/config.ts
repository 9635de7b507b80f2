/** What the shell page tells the app: where the server is, which notebook, who you are. */

export type Role = "owner" | "view" | "edit" | "run";

export interface Me {
  path: string;
  username: string;
  name: string;
  display_name: string;
  initials: string;
  color: string;
  role: Role;
  can_edit: boolean;
  can_run: boolean;
}

export interface EditorConfig {
  /** The server's base URL, ending with "/". */
  baseUrl: string;
  /** The notebook's API path. */
  path: string;
  me: Me;
  /** The sandboxed page HTML and JavaScript outputs render in. */
  frameUrl: string;
  /** A link guest's room-socket token (null for the owner and hub users). */
  roomToken?: string | null;
}

export function readConfig(doc: Document = document): EditorConfig {
  const element = doc.getElementById("tandem-config");
  if (!element?.textContent) throw new Error("the page has no Tandem configuration");
  return JSON.parse(element.textContent) as EditorConfig;
}

export const ROLE_LABELS: Record<Role, string> = {
  owner: "owner",
  view: "can view",
  edit: "can edit",
  run: "can edit and run",
};
