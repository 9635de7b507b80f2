// Audit event kinds (tandem.access.AuditKind) in words. A Python test checks that this
// list and the server's stay the same.

export const AUDIT_KINDS: Record<string, string> = {
  invitation_created: "Link created",
  invitation_revoked: "Link revoked",
  redeemed: "Joined through a link",
  redeem_failed: "Failed to join",
  rate_limited: "Too many failed joins",
  approval_asked: "Asked to join",
  admitted: "Let in",
  refused: "Refused",
  grant_revoked: "Access revoked",
  path_revoked: "Access to a path revoked",
  all_revoked: "Everyone revoked",
  room_joined: "Opened a notebook",
  room_left: "Left a notebook",
  execution_requested: "Ran code",
  access_denied: "Denied",
};

export function kindLabel(kind: string): string {
  return AUDIT_KINDS[kind] ?? kind;
}
