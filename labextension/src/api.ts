/** Tandem's owner API (`/tandem/api/...`), called through JupyterLab's ServerConnection so
 * every request carries the XSRF token and the server's credentials in headers, never in
 * a URL. */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { Grant, Invitation, Role } from './records';

export type { Grant, Invitation, Role } from './records';

export interface NewLink {
  path: string;
  role: Role;
  expires_in: number;
  max_uses?: number;
  approval_required: boolean;
  anonymous_allowed: boolean;
  label: string;
}

export interface Created {
  invitation: Invitation;
  code: string;
  link: string;
}

export class TandemError extends Error {}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'tandem/api', path);
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new TandemError(`Tandem is not reachable: ${(error as Error).message}`);
  }
  if (!response.ok) {
    let message = response.statusText || `HTTP ${response.status}`;
    try {
      const data = await response.json();
      message = data.message || data.reason || message;
    } catch {
      // not JSON: keep the status text
    }
    throw new TandemError(message);
  }
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

export const api = {
  invitations: async (): Promise<Invitation[]> =>
    (await call<{ invitations: Invitation[] }>('GET', 'invitations')).invitations,
  createInvitation: (link: NewLink): Promise<Created> => call<Created>('POST', 'invitations', link),
  revokeInvitation: (id: string): Promise<void> =>
    call<void>('DELETE', `invitations/${encodeURIComponent(id)}`),
  grants: async (): Promise<Grant[]> => (await call<{ grants: Grant[] }>('GET', 'grants')).grants,
  revokeGrant: (id: string): Promise<void> => call<void>('DELETE', `grants/${encodeURIComponent(id)}`),
  decide: (id: string, decision: 'admit' | 'refuse'): Promise<unknown> =>
    call('POST', `grants/${encodeURIComponent(id)}`, { decision })
};

/** Does a scope (a file, or a folder and everything in it) cover `path`? */
export function covers(scopePath: string, isFolder: boolean, path: string): boolean {
  if (!isFolder) return scopePath === path;
  return scopePath === '' || path === scopePath || path.startsWith(`${scopePath}/`);
}

export function isLive(record: { revoked_at: number | null; expires_at: number }, now = Date.now() / 1000): boolean {
  return record.revoked_at === null && now < record.expires_at;
}

/** The folder a path is in ('' for the root). */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}
