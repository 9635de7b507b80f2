// People with access (grants) and share links (invitations), each with a Revoke button;
// both lists refresh live. Revoking closes the person's connections at once (server side).

import { api } from "./api";
import { h, replace } from "./dom";
import { Feed } from "./feed";
import { granteeName, grantStatus, invitationStatus, localTime, relativeTime } from "./format";
import type { Frame } from "./layout";
import { copyText } from "./share";
import type { Grant, Invitation } from "./types";

export function showPeople(frame: Frame, grants: Feed<Grant[]>): void {
  const invitations = new Feed(async () =>
    (await api<{ invitations: Invitation[] }>("GET", "tandem/api/invitations")).invitations);
  // "Loading…" takes the box of the empty-list line that usually replaces it, so that a
  // list arriving first does not move under a click when the other one arrives.
  const peopleRegion = h("section", { "aria-labelledby": "people-title" },
    h("h2", { id: "people-title" }, "People"), h("p", { class: "empty" }, "Loading…"));
  const linksRegion = h("section", { "aria-labelledby": "links-title" },
    h("h2", { id: "links-title" }, "Share links"), h("p", { class: "empty" }, "Loading…"));
  replace(frame.main,
    h("div", { class: "page-head" }, h("h1", {}, "People with access"), revokeEveryone(frame, grants, invitations)),
    peopleRegion,
    linksRegion,
  );
  const revoke = (what: string, url: string, label: string) => async (event: Event) => {
    (event.currentTarget as HTMLButtonElement).disabled = true;
    try {
      await api("DELETE", url);
      frame.say(`${label} revoked.`);
    } catch (error) {
      frame.say(`Could not revoke ${what}: ${(error as Error).message}`, "error");
    }
    await Promise.all([grants.refresh(), invitations.refresh()]);
  };

  grants.subscribe((all) => keepFocus(peopleRegion, () => {
    const now = Date.now() / 1000;
    const rows = all
      .filter((g) => grantStatus(g, now) !== "waiting")
      .sort((a, b) => rank(grantStatus(a, now)) - rank(grantStatus(b, now)) || (b.last_seen ?? 0) - (a.last_seen ?? 0));
    replace(peopleRegion, h("h2", { id: "people-title" }, "People"),
      rows.length === 0 ? h("p", { class: "empty" }, "Nobody has access yet: share a notebook or folder.") :
      table(["Name", "Role", "Shared", "Last seen", "Status", ""], rows.map((g) => {
        const status = grantStatus(g, now);
        const who = granteeName(g);
        return h("tr", { "data-grant": g.id },
          h("td", { class: "who" }, who),
          h("td", {}, g.role),
          h("td", { class: "path" }, g.scope_path),
          h("td", {}, g.last_seen ? h("span", { title: localTime(g.last_seen) }, relativeTime(g.last_seen, now)) : "never"),
          h("td", {}, h("span", { class: `state ${status}` }, status)),
          h("td", { class: "actions" }, status === "active"
            ? h("button", { type: "button", class: "danger", "data-key": `revoke-${g.id}`,
              "aria-label": `Revoke ${who}'s access`,
              onclick: revoke(who, `tandem/api/grants/${encodeURIComponent(g.id)}`, `${who}'s access`) },
              "Revoke")
            : null),
        );
      })));
  }));

  // Links fetched again (GET …/link), kept across the list's live refreshes.
  const shown = new Map<string, string>();
  const copyLink = (i: Invitation) => async (event: Event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    try {
      const { link } = await api<{ link: string }>("GET", `tandem/api/invitations/${encodeURIComponent(i.id)}/link`);
      shown.set(i.id, link);
      renderLinks(invitations.current ?? []);
      const field = linksRegion.querySelector<HTMLInputElement>(`tr[data-invitation="${CSS.escape(i.id)}"] input.link`);
      const copied = field !== null && (await copyText(field));
      frame.say(copied ? "Link copied." : "Select the link and copy it (Ctrl+C).");
    } catch (error) {
      frame.say(`Could not copy the link: ${(error as Error).message}`, "error");
    }
    button.disabled = false;
  };

  const renderLinks = (all: Invitation[]) => keepFocus(linksRegion, () => {
    const now = Date.now() / 1000;
    const rows = [...all].sort((a, b) =>
      Number(invitationStatus(a, now) !== "active") - Number(invitationStatus(b, now) !== "active") || b.created_at - a.created_at);
    replace(linksRegion, h("h2", { id: "links-title" }, "Share links"),
      rows.length === 0 ? h("p", { class: "empty" }, "No links yet: use Share on the Notebooks page.") :
      table(["Shared", "Role", "Label", "Used", "Until", "Options", "Status", ""], rows.map((i) => {
        const status = invitationStatus(i, now);
        const options = [i.approval_required ? "asks you first" : "", i.anonymous_allowed ? "anonymous allowed" : ""]
          .filter(Boolean).join(", ");
        return h("tr", { "data-invitation": i.id },
          h("td", { class: "path" }, i.scope_path),
          h("td", {}, i.role),
          h("td", {}, i.label),
          h("td", {}, i.max_uses === null ? `${i.uses}` : `${i.uses} of ${i.max_uses}`),
          h("td", {}, localTime(i.expires_at)),
          h("td", {}, options || "—"),
          h("td", {}, h("span", { class: `state ${status.replace(" ", "-")}` }, status)),
          h("td", { class: "actions" },
            status === "active" && shown.has(i.id)
              ? h("input", { class: "link", readonly: true, value: shown.get(i.id) ?? "",
                "aria-label": `Link to ${i.scope_path}` })
              : null,
            status === "active"
              ? h("button", { type: "button", "data-key": `copy-${i.id}`,
                "aria-label": `Copy the link to ${i.scope_path}${i.label ? ` (${i.label})` : ""}`,
                onclick: copyLink(i) }, "Copy link")
              : null,
            i.revoked_at === null
            ? h("button", { type: "button", class: "danger", "data-key": `revoke-${i.id}`,
              "aria-label": `Revoke the link to ${i.scope_path}${i.label ? ` (${i.label})` : ""}`,
              onclick: revoke("the link", `tandem/api/invitations/${encodeURIComponent(i.id)}`, "The link and everyone who joined through it") },
              "Revoke")
            : null),
        );
      })));
  });
  invitations.subscribe(renderLinks);
}

function rank(status: string): number {
  return ["active", "expired", "refused", "revoked"].indexOf(status);
}

function table(headings: string[], rows: HTMLElement[]): HTMLElement {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, headings.map((text) =>
      h("th", { scope: "col" }, text || h("span", { class: "visually-hidden" }, "Actions"))))),
    h("tbody", {}, rows)));
}

/** Re-render a region without losing keyboard focus on a button that is still there. */
function keepFocus(region: HTMLElement, render: () => void): void {
  const key = region.contains(document.activeElement) ? document.activeElement?.getAttribute("data-key") : null;
  render();
  if (key) (region.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLElement | null)?.focus();
}

/** "Revoke everyone": a second click within five seconds confirms. */
function revokeEveryone(frame: Frame, grants: Feed<Grant[]>, invitations: Feed<Invitation[]>): HTMLElement {
  let armed: ReturnType<typeof setTimeout> | null = null;
  const button = h("button", { type: "button", class: "danger" }, "Revoke everyone");
  button.addEventListener("click", async () => {
    if (armed === null) {
      button.textContent = "Click again to revoke every link and person";
      armed = setTimeout(() => { armed = null; button.textContent = "Revoke everyone"; }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = "Revoke everyone";
    try {
      await api("DELETE", "tandem/api/grants"); // every link and every grant
      frame.say("Every link and everyone's access were revoked.");
    } catch (error) {
      frame.say(`Could not revoke everyone: ${(error as Error).message}`, "error");
    }
    await Promise.all([grants.refresh(), invitations.refresh()]);
  });
  return button;
}
