// Plain formatting helpers (no DOM): times, durations, names. Unit-tested under Node.

/** "just now", "5 min ago", "3 h ago", "in 2 days"... for an epoch-seconds time. */
export function relativeTime(at: number, now: number = Date.now() / 1000): string {
  const delta = at - now;
  const past = delta < 0;
  const seconds = Math.abs(delta);
  if (seconds < 45) return past ? "just now" : "in a few seconds";
  const [value, unit] =
    seconds < 3600 ? [Math.round(seconds / 60), "min"]
    : seconds < 86400 ? [Math.round(seconds / 3600), "h"]
    : [Math.round(seconds / 86400), Math.round(seconds / 86400) === 1 ? "day" : "days"];
  return past ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

/** A local date and time with its zone, e.g. "2025-03-04 14:05 CET" (or "14:05:09 CET"). */
export function localTime(at: number, seconds = false): string {
  const d = new Date(at * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time} ${timeZoneOf(d)}`.trimEnd();
}

/** The browser's time zone at `d`, short ("UTC", "CET", "GMT+2"): times say where they are. */
export function timeZoneOf(d: Date): string {
  try {
    const parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d);
    return parts.find((part) => part.type === "timeZoneName")?.value ?? "";
  } catch {
    return "";
  }
}

/** Choices of the share dialog's expiry, in seconds. */
export const EXPIRY_CHOICES: ReadonlyArray<{ label: string; seconds: number }> = [
  { label: "1 hour", seconds: 3600 },
  { label: "8 hours", seconds: 8 * 3600 },
  { label: "24 hours", seconds: 24 * 3600 },
  { label: "7 days", seconds: 7 * 86400 },
  { label: "30 days", seconds: 30 * 86400 },
];
export const DEFAULT_EXPIRY = 24 * 3600;

/** Choices of the audit page's time filter: seconds back from now (null: everything). */
export const SINCE_CHOICES: ReadonlyArray<{ label: string; seconds: number | null; key: string }> = [
  { key: "15m", label: "Last 15 minutes", seconds: 15 * 60 },
  { key: "1h", label: "Last hour", seconds: 3600 },
  { key: "24h", label: "Last 24 hours", seconds: 86400 },
  { key: "7d", label: "Last 7 days", seconds: 7 * 86400 },
  { key: "all", label: "All time", seconds: null },
];

/** Where a grant stands, in words for the people list. */
export function grantStatus(
  grant: { status: string; revoked_at: number | null; expires_at: number },
  now: number = Date.now() / 1000,
): "active" | "waiting" | "refused" | "revoked" | "expired" {
  if (grant.revoked_at !== null) return "revoked";
  if (grant.status === "refused") return "refused";
  if (now >= grant.expires_at) return "expired";
  if (grant.status === "pending") return "waiting";
  return "active";
}

/** Where a link stands. */
export function invitationStatus(
  invitation: { revoked_at: number | null; expires_at: number; uses: number; max_uses: number | null },
  now: number = Date.now() / 1000,
): "active" | "revoked" | "expired" | "used up" {
  if (invitation.revoked_at !== null) return "revoked";
  if (now >= invitation.expires_at) return "expired";
  if (invitation.max_uses !== null && invitation.uses >= invitation.max_uses) return "used up";
  return "active";
}

/** Who a grant is for, in words: one definition for this app and the JupyterLab extension. */
export { granteeName } from "../../../labextension/src/grantee";
