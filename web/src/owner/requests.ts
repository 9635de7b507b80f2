// Live requests to join ("ask to join" links): shown on every owner page as they arrive,
// with Admit and Refuse.

import { api } from "./api";
import { h, replace } from "./dom";
import type { Feed } from "./feed";
import { relativeTime } from "./format";
import type { Frame } from "./layout";
import type { Grant } from "./types";

export function showRequests(frame: Frame, grants: Feed<Grant[]>): void {
  grants.subscribe((all) => {
    const now = Date.now() / 1000;
    // `asking` is false once the requester's waiting tab stopped checking in (closed).
    const pending = all.filter((g) => g.status === "pending" && g.revoked_at === null && now < g.expires_at && g.asking !== false);
    frame.badge.hidden = pending.length === 0;
    frame.badge.textContent = String(pending.length);
    frame.badge.setAttribute("aria-label", `${pending.length} asking to join`);
    frame.requests.hidden = pending.length === 0;
    const focused = document.activeElement?.getAttribute("data-key");
    replace(frame.requests,
      h("h2", {}, pending.length === 1 ? "1 person asks to join" : `${pending.length} people ask to join`),
      h("ul", {}, pending.map((grant) => request(grant, frame, grants))),
    );
    if (focused) (frame.requests.querySelector(`[data-key="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  });
}

function request(grant: Grant, frame: Frame, grants: Feed<Grant[]>): HTMLElement {
  const decide = (decision: "admit" | "refuse") => async (event: Event) => {
    (event.currentTarget as HTMLButtonElement).disabled = true;
    try {
      await api("POST", `tandem/api/grants/${encodeURIComponent(grant.id)}`, { decision });
      frame.say(decision === "admit" ? `${grant.display_name} was let in.` : `${grant.display_name} was refused.`);
    } catch (error) {
      frame.say(`Could not ${decision} ${grant.display_name}: ${(error as Error).message}`, "error");
    }
    await grants.refresh();
  };
  return h("li", { class: "request", "data-grant": grant.id },
    h("span", { class: "who" }, grant.display_name),
    h("span", {}, " wants to ", h("b", {}, grant.role), " ",
      h("span", { class: "path" }, grant.scope_path),
      h("span", { class: "muted" }, ` · asked ${relativeTime(grant.created_at)}`)),
    h("span", { class: "actions" },
      h("button", { class: "primary", type: "button", "data-key": `admit-${grant.id}`, onclick: decide("admit"),
        "aria-label": `Admit ${grant.display_name}` }, "Admit"),
      h("button", { type: "button", "data-key": `refuse-${grant.id}`, onclick: decide("refuse"),
        "aria-label": `Refuse ${grant.display_name}` }, "Refuse"),
    ),
  );
}
