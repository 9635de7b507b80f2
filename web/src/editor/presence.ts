/** Who is here, from awareness. The server stamps each peer's `user` field with its
 * authenticated identity (name, colour, role), so names and colours can be trusted. */

import { initialsOf, safeColor } from "../shared/colors";

export interface Person {
  clientId: number;
  username: string;
  name: string;
  initials: string;
  color: string;
  role: string;
  /** The cell they are in, if they published one. */
  cell: string | null;
  isMe: boolean;
}

export interface PeerUser {
  username?: unknown;
  name?: unknown;
  display_name?: unknown;
  initials?: unknown;
  color?: unknown;
  role?: unknown;
}

export function personFrom(clientId: number, state: Record<string, any> | null | undefined, isMe = false): Person | null {
  if (!state || typeof state !== "object") return null;
  const user: PeerUser = state.user && typeof state.user === "object" ? state.user : {};
  const name = String(user.display_name || user.name || user.username || "Anonymous").slice(0, 64);
  return {
    clientId,
    username: String(user.username ?? `client-${clientId}`),
    name,
    initials: typeof user.initials === "string" && user.initials ? user.initials.slice(0, 3) : initialsOf(name),
    color: safeColor(user.color),
    role: typeof user.role === "string" ? user.role : "",
    cell: typeof state.cell === "string" ? state.cell : null,
    isMe,
  };
}

/** Everyone in awareness except this tab; one entry per person (their latest tab wins). */
export function peopleFrom(states: Map<number, Record<string, any>>, localClientId: number): Person[] {
  const byUser = new Map<string, Person>();
  for (const [clientId, state] of states) {
    if (clientId === localClientId) continue;
    const person = personFrom(clientId, state);
    if (person === null || !state.user) continue;
    const seen = byUser.get(person.username);
    const better = !seen || ((person.cell !== null) === (seen.cell !== null) ? clientId > seen.clientId : person.cell !== null);
    if (better) {
      byUser.set(person.username, person);
    }
  }
  return [...byUser.values()].sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId);
}

/** The server's count of viewers, sent to viewers under the "by-role" presence policy
 * (client id 0, `{tandem: {viewers: n}}`) instead of every viewer's state; null if absent. */
export const VIEWER_COUNT_CLIENT_ID = 0;

export function viewerCountFrom(states: Map<number, Record<string, any>>): number | null {
  const count = states.get(VIEWER_COUNT_CLIENT_ID)?.tandem?.viewers;
  return typeof count === "number" && Number.isFinite(count) && count >= 0 ? Math.floor(count) : null;
}

/** People per cell id (remote people only). */
export function peopleByCell(people: Person[]): Map<string, Person[]> {
  const cells = new Map<string, Person[]>();
  for (const person of people) {
    if (person.cell === null) continue;
    const list = cells.get(person.cell) ?? [];
    list.push(person);
    cells.set(person.cell, list);
  }
  return cells;
}

/** How long a caret's name label stays after its owner last moved or typed. */
export const LABEL_VISIBLE_MS = 3000;

/** When did each remote peer last do something? Decides whether their caret label shows. */
export class ActivityTracker {
  private lastActive = new Map<number, number>();
  private signatures = new Map<number, string>();

  constructor(private readonly visibleMs = LABEL_VISIBLE_MS) {}

  /** Record a peer's state; their label shows again if their cursor, cell or typing
   * counter changed. */
  observe(clientId: number, state: Record<string, any> | null | undefined, now: number): boolean {
    if (!state) {
      this.forget(clientId);
      return false;
    }
    const signature = JSON.stringify([state.cursors ?? state.cursor ?? null, state.cell ?? null, state.typing ?? null]);
    if (this.signatures.get(clientId) === signature) return false;
    this.signatures.set(clientId, signature);
    this.lastActive.set(clientId, now);
    return true;
  }

  forget(clientId: number): void {
    this.lastActive.delete(clientId);
    this.signatures.delete(clientId);
  }

  isActive(clientId: number, now: number): boolean {
    const last = this.lastActive.get(clientId);
    return last !== undefined && now - last < this.visibleMs;
  }

  /** When the next visible label should fade, or null if none is visible. */
  nextExpiry(now: number): number | null {
    let next: number | null = null;
    for (const last of this.lastActive.values()) {
      const expiry = last + this.visibleMs;
      if (expiry > now && (next === null || expiry < next)) next = expiry;
    }
    return next;
  }
}
