// The audit log, filterable by kind and by time; the filter lives in the page's URL.

import { api } from "./api";
import { h, replace } from "./dom";
import type { Feed } from "./feed";
import { localTime, SINCE_CHOICES } from "./format";
import { AUDIT_KINDS, kindLabel } from "./kinds";
import type { Frame } from "./layout";
import type { AuditEvent, Grant } from "./types";

const SHOWN = 500;

export function showAudit(frame: Frame, grants: Feed<Grant[]>): void {
  const params = new URLSearchParams(location.search);
  const kind = h("select", { id: "audit-kind", name: "kind" },
    h("option", { value: "" }, "All events"),
    Object.entries(AUDIT_KINDS).map(([value, label]) =>
      h("option", { value, selected: params.get("kind") === value }, label)));
  const since = h("select", { id: "audit-since", name: "since" },
    SINCE_CHOICES.map((choice) =>
      h("option", { value: choice.key, selected: (params.get("since") ?? "24h") === choice.key }, choice.label)));
  const refresh = h("button", { type: "button" }, "Refresh");
  const results = h("section", { "aria-label": "Results", "aria-live": "polite", "aria-busy": "true" });
  const filters = h("form", { class: "filters", role: "search" },
    h("div", { class: "field" }, h("label", { for: "audit-kind" }, "Event"), kind),
    h("div", { class: "field" }, h("label", { for: "audit-since" }, "Time"), since),
    refresh);
  replace(frame.main, h("h1", {}, "Audit log"), filters, results);

  // Answers can arrive out of order (a slow answer to an older filter after a newer one):
  // only the answer to the newest request is shown.
  let latest = 0;
  const load = async () => {
    const request = ++latest;
    const query = new URLSearchParams();
    if (kind.value) query.set("kind", kind.value);
    const seconds = SINCE_CHOICES.find((c) => c.key === since.value)?.seconds ?? null;
    if (seconds !== null) query.set("since", String(Date.now() / 1000 - seconds));
    const url = new URL(location.href);
    url.search = new URLSearchParams({ ...(kind.value ? { kind: kind.value } : {}), since: since.value }).toString();
    history.replaceState(null, "", url);
    results.setAttribute("aria-busy", "true");
    try {
      const { events } = await api<{ events: AuditEvent[] }>("GET", `tandem/api/audit?${query}`);
      if (request !== latest) return;
      render(results, events, grants.current ?? []);
    } catch (error) {
      if (request !== latest) return;
      replace(results, h("p", { class: "error", role: "alert" }, `The audit log could not be read: ${(error as Error).message}`));
    }
    results.setAttribute("aria-busy", "false");
  };
  filters.addEventListener("submit", (event) => { event.preventDefault(); void load(); });
  kind.addEventListener("change", () => void load());
  since.addEventListener("change", () => void load());
  refresh.addEventListener("click", () => void load());
  void grants.refresh().then(load);
}

function render(results: HTMLElement, events: AuditEvent[], grants: Grant[]): void {
  const names = new Map(grants.map((g) => [g.guest_session_id, g.display_name]));
  const newest = [...events].reverse();
  const who = (event: AuditEvent): string => {
    if (event.principal_id === "owner") return "You";
    if (event.who) return event.who;
    const name = names.get(event.principal_id) ?? (typeof event.detail.display_name === "string" ? event.detail.display_name : "");
    return name || (event.principal_id ? `guest ${event.principal_id.slice(0, 8)}` : "unknown visitor");
  };
  // The server names the people an event is about ("Revoked Alice"); ids stay out of sight.
  const what = (event: AuditEvent): string =>
    event.action ? event.action.charAt(0).toUpperCase() + event.action.slice(1) : kindLabel(event.kind);
  replace(results,
    h("p", { class: "muted", "data-count": events.length },
      events.length === 1 ? "1 event" : `${events.length} events`,
      events.length > SHOWN ? ` (the newest ${SHOWN} are shown)` : ""),
    events.length === 0 ? null : h("div", { class: "table-wrap" }, h("table", { class: "audit" },
      h("thead", {}, h("tr", {}, ["Time", "Event", "Who", "Path", "From", "Details"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, newest.slice(0, SHOWN).map((event) => h("tr", { "data-kind": event.kind },
        h("td", { class: "nowrap" }, localTime(event.at, true)),
        h("td", { title: kindLabel(event.kind) }, what(event)),
        h("td", {}, who(event)),
        h("td", { class: "path" }, event.path ?? ""),
        h("td", {}, event.client_address ?? ""),
        h("td", { class: "detail" }, details(event.detail, event.action !== undefined)),
      ))))),
  );
}

// Ids and hashes the server's sentence already says by name.
const NAMED = new Set(["grant_id", "grant_ids", "invitation_id", "invitation_ids", "guest", "hub", "sessions"]);

function details(detail: Record<string, unknown>, named: boolean): string {
  return Object.entries(detail)
    .filter(([key, value]) => value !== null && value !== "" && value !== false && key !== "display_name")
    .filter(([key]) => !(named && NAMED.has(key)))
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${show(key, value)}`)
    .join("; ");
}

function show(key: string, value: unknown): string {
  if (key.endsWith("_at") && typeof value === "number") return localTime(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
