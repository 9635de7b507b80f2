// Sharing with a hub user or group from the share dialog, when the server runs under
// JupyterHub (GET /tandem/api/hub-shares says so): a "Share with" choice (a link, a hub
// user, a hub group), the name (the server checks it against the hub), and the hub grants
// that already cover this path, each with Revoke.

import { api, urls } from "./api";
import { h, replace } from "./dom";
import { grantStatus, localTime } from "./format";
import type { HubGrant, HubSharing, Invitation } from "./types";

export interface HubTarget {
  kind: "user" | "group";
  name: string;
}

export interface HubShared {
  invitation: Invitation;
  grant: HubGrant;
  hub_share: boolean;
  message: string;
  /** How their code runs (run shares only), as for run links. */
  runs?: { mode: "confined"; scope: string; network: string } |
    { mode: "as_owner"; reason: string; chosen_by?: "link" | "server" };
}

export interface HubChoice {
  /** The "Share with" choice (hidden unless the server runs under a hub). */
  element: HTMLElement;
  /** Hub grants covering this path, with Revoke. */
  list: HTMLElement;
  /** The chosen hub user or group, or null for a link. */
  target(): HubTarget | null;
  focusName(): void;
  share(body: Record<string, unknown>): Promise<HubShared>;
}

/** Does a scope (a file, or a folder and everything in it) cover `path`? */
export function covers(scopePath: string, isFolder: boolean, path: string): boolean {
  if (!isFolder) return scopePath === path;
  return scopePath === "" || path === scopePath || path.startsWith(`${scopePath}/`);
}

/** "bob" or "group ta", as the dialog lists hub grants. */
export function hubName(grant: HubGrant): string {
  return grant.kind === "group" ? `group ${grant.name}` : grant.name;
}

export function hubChoice(id: string, path: string, isFolder: boolean,
  onChange: (target: HubTarget | null) => void): HubChoice {
  const element = h("fieldset", { class: "share-with", hidden: true });
  const list = h("section", { class: "hub-grants", hidden: true, "aria-labelledby": `${id}-hub-list` });
  const name = h("input", { id: `${id}-hub-name`, name: "hub_name", type: "text", maxlength: 200,
    autocomplete: "off", spellcheck: "false", "aria-describedby": `${id}-hub-hint` }) as HTMLInputElement;
  const nameLabel = h("label", { for: `${id}-hub-name` }, "Hub user name");
  const nameField = h("div", { class: "field", hidden: true }, nameLabel, name,
    h("span", { class: "hint", id: `${id}-hub-hint` },
      "Their name on this hub. They open it from their own hub login."));
  const kindOf = (): "link" | "user" | "group" =>
    ((element.querySelector("input[name=share_with]:checked") as HTMLInputElement | null)?.value ?? "link") as
      "link" | "user" | "group";
  const target = (): HubTarget | null => {
    const kind = kindOf();
    return kind === "link" ? null : { kind, name: name.value };
  };

  const revoke = (grant: HubGrant) => async (event: Event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    try {
      await api("DELETE", `tandem/api/grants/${encodeURIComponent(grant.id)}`);
    } catch (failure) {
      replace(status, `Could not revoke ${hubName(grant)}: ${(failure as Error).message}`);
    }
    await refresh();
  };
  const status = h("p", { class: "hint", role: "status", "aria-live": "polite" });
  const refresh = async (): Promise<void> => {
    let sharing: HubSharing;
    try {
      sharing = await api<HubSharing>("GET", "tandem/api/hub-shares");
    } catch {
      return; // not offered: the dialog shares by link as before
    }
    if (sharing.hub === null) return;
    element.hidden = false;
    const now = Date.now() / 1000;
    const mine = sharing.grants.filter((g) => grantStatus(g, now) === "active" &&
      (covers(g.scope_path, g.scope_is_folder, path) || (isFolder && covers(path, true, g.scope_path))));
    list.hidden = false;
    replace(list,
      h("h3", { id: `${id}-hub-list` }, "Hub users and groups with access"),
      mine.length === 0 ? h("p", { class: "empty" }, "Nobody on the hub yet.") :
        h("ul", { class: "hub-grant-list" }, mine.map((g) =>
          h("li", { "data-hub-grant": g.id },
            h("b", {}, hubName(g)), ` · ${g.role} · `, h("span", { class: "path" }, g.scope_path || "/"),
            ` · until ${localTime(g.expires_at)} `,
            h("button", { type: "button", class: "danger", "aria-label": `Revoke ${hubName(g)}`,
              onclick: revoke(g) }, "Revoke")))),
      status);
  };

  replace(element,
    h("legend", {}, "Share with"),
    ([["link", "A link"], ["user", "A hub user"], ["group", "A hub group"]] as const).map(([value, text], index) =>
      h("label", { class: "choice" },
        h("input", { type: "radio", name: "share_with", value, checked: index === 0 }), ` ${text}`)),
    nameField);
  element.addEventListener("change", (event) => {
    if ((event.target as HTMLInputElement).name !== "share_with") return;
    const chosen = target();
    nameField.hidden = chosen === null;
    nameLabel.textContent = chosen?.kind === "group" ? "Hub group name" : "Hub user name";
    onChange(chosen);
    if (chosen !== null) name.focus();
  });
  void refresh();
  return {
    element,
    list,
    target,
    focusName: () => name.focus(),
    share: async (body) => {
      const shared = await api<HubShared>("POST", "tandem/api/hub-shares", body);
      await refresh();
      return shared;
    },
  };
}

/** After sharing: who has what until when, and the address they open. */
export function showHubShared(dialog: HTMLDialogElement, shared: HubShared, close: () => void,
  runNote: string | null = null): void {
  const { grant } = shared;
  const address = new URL(grant.scope_is_folder ? urls.folder(grant.scope_path) : urls.editor(grant.scope_path),
    location.href).href;
  const field = h("input", { class: "link", type: "text", readonly: true, value: address,
    "aria-label": "Address to open", spellcheck: "false" });
  replace(dialog,
    h("div", { class: "share-done", "data-hub-grant": grant.id },
      h("h2", {}, "Shared"),
      h("p", {}, grant.kind === "group" ? `Everyone in the hub group ${grant.name}` : `Hub user ${grant.name}`,
        " can ", h("b", {}, grant.role), " ", h("span", { class: "path" }, grant.scope_path || "/"),
        ` until ${localTime(grant.expires_at)}, from their own hub login.`),
      h("div", { class: "link-row" }, field),
      h("p", { class: "hint" }, "They open this address (or your server from the hub). " +
        "Revoke at any time on the People page."),
      runNote ? h("p", { class: shared.runs?.mode === "confined" ? "hint" : "warning" }, runNote) : null,
      shared.message ? h("p", { class: "warning" }, shared.message) : null,
      h("div", { class: "buttons" }, h("button", { type: "button", class: "primary", onclick: close }, "Done")),
    ),
  );
}
