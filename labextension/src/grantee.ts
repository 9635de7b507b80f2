/** Who a grant is for, in words, for both clients (this extension and Tandem's web app,
 * whose `web/src/owner/format.ts` re-exports it). */

/** A link guest's name, "bob (hub user)", "group ta". */
export function granteeName(grant: { guest_session_id: string; display_name: string }): string {
  const id = grant.guest_session_id;
  if (id.startsWith('hub:')) return `${id.slice(4)} (hub user)`;
  if (id.startsWith('hub-group:')) return `group ${id.slice(10)}`;
  return grant.display_name;
}
