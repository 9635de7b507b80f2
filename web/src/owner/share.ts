// The share dialog: one file or folder, a role (with the plain warning for `run`), an
// expiry, max uses, approval, anonymous guests and a label; creates the link through
// POST /tandem/api/invitations and shows it with a Copy button. Under JupyterHub it also
// shares with a hub user or group by name (POST /tandem/api/hub-shares, see ./hub.ts).

import { api } from "./api";
import { h, replace } from "./dom";
import { DEFAULT_EXPIRY, EXPIRY_CHOICES, localTime } from "./format";
import { hubChoice, showHubShared } from "./hub";
import type { Invitation, Role } from "./types";

export const RUN_WARNING =
  "Run executes code as you, on your account: whoever uses this link can read, change and delete " +
  "your files and use anything your account can reach. Give it only to people you trust with your account.";

export const RUN_EXPLAINED =
  "Run lets people execute code. While a notebook is shared for running, everyone's code in it " +
  "(yours too) runs in a sandbox confined to what you share; where this server cannot confine " +
  "code, the link is refused unless you let guests run code as you.";

export const RUNS_AS_ME_CHOICE =
  "If this server cannot confine code, let this link's guests execute code as me, with my files";

const ROLES: ReadonlyArray<[Role, string, string]> = [
  ["view", "View", "see the notebook and who is there"],
  ["edit", "Edit", "change cells"],
  ["run", "Run", "change cells and run code"],
];

interface Created {
  invitation: Invitation;
  code: string;
  link: string;
  /** How a run guest's code runs (run links only). */
  runs?:
    | { mode: "confined"; scope: string; network: string }
    | { mode: "as_owner"; reason: string; chosen_by?: "link" | "server" };
}

/** What a run link gives, in words: confined to the shared folder, or as the owner. */
export function runNote(runs: Created["runs"]): string {
  if (runs && runs.mode === "confined") {
    const network = runs.network === "none" ? "no network" : `network: ${runs.network}`;
    return `Code runs confined to ${runs.scope || "/"} (${network}), for everyone in this ` +
      "notebook, you included: it cannot read your other files, tokens or keys.";
  }
  if (runs && runs.mode === "as_owner") {
    const why = runs.reason ? ` (${runs.reason})` : "";
    const chosen = runs.chosen_by === "link" ? "you chose this for this link" :
      "this server lets every run link do so (guests_run_as_me)";
    return `This server cannot confine code${why}; ${chosen}. ${RUN_WARNING}`;
  }
  return RUN_WARNING;
}

let counter = 0;

/** Open the dialog for ``path``; ``onCreated`` runs after a link (or a hub share) was made. */
export function openShareDialog(path: string, isFolder: boolean,
  onCreated: (made: "link" | "hub") => void = () => {}): HTMLDialogElement {
  const id = `share-${++counter}`;
  const dialog = h("dialog", { class: "share", "aria-labelledby": `${id}-title` });
  const close = () => dialog.close();
  dialog.addEventListener("close", () => dialog.remove());

  const warning = h("p", { class: "warning", id: `${id}-warning`, hidden: true }, RUN_EXPLAINED);
  const runsAsMe = h("input", { id: `${id}-runs-as-me`, name: "runs_as_owner", type: "checkbox" });
  const runsAsMeRow = h("div", { class: "check", hidden: true }, runsAsMe,
    h("label", { for: `${id}-runs-as-me` }, RUNS_AS_ME_CHOICE));
  const roles = h("fieldset", { class: "roles" },
    h("legend", {}, "They can"),
    ROLES.map(([value, label, meaning], index) =>
      h("label", { class: "choice" },
        h("input", { type: "radio", name: "role", value, checked: index === 0,
          "aria-describedby": value === "run" ? `${id}-warning` : undefined }),
        h("span", {}, h("b", {}, label), ` — ${meaning}`),
      ),
    ),
    warning,
    runsAsMeRow,
  );
  const expiry = h("select", { id: `${id}-expiry`, name: "expires_in" },
    EXPIRY_CHOICES.map((choice) =>
      h("option", { value: choice.seconds, selected: choice.seconds === DEFAULT_EXPIRY }, choice.label)),
  );
  const maxUses = h("input", { id: `${id}-uses`, name: "max_uses", type: "number", min: 1, step: 1,
    inputmode: "numeric", placeholder: "No limit", "aria-describedby": `${id}-uses-hint` });
  const approval = h("input", { id: `${id}-approval`, name: "approval_required", type: "checkbox" });
  const anonymous = h("input", { id: `${id}-anonymous`, name: "anonymous_allowed", type: "checkbox" });
  const label = h("input", { id: `${id}-label`, name: "label", type: "text", maxlength: 200,
    placeholder: "e.g. Tuesday study group" });
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create link");

  const expiryLabel = h("label", { for: `${id}-expiry` }, "Link works for");
  const usesField = h("div", { class: "field" },
    h("label", { for: `${id}-uses` }, "How many people"), maxUses,
    h("span", { class: "hint", id: `${id}-uses-hint` }, "Empty: no limit. Each browser counts once."));
  // What only a link has: hidden while sharing with a hub user or group.
  const linkOnly = [
    usesField,
    h("div", { class: "check" }, approval,
      h("label", { for: `${id}-approval` }, "Ask me before each person joins")),
    h("div", { class: "check" }, anonymous,
      h("label", { for: `${id}-anonymous` }, "People may join without giving a name")),
    h("div", { class: "field" },
      h("label", { for: `${id}-label` }, "Label (only you see it)"), label),
  ];
  const hub = hubChoice(id, path, isFolder, (target) => {
    for (const element of linkOnly) element.hidden = target !== null;
    expiryLabel.textContent = target === null ? "Link works for" : "Access lasts";
    submit.textContent = target === null ? "Create link" : "Share";
    error.textContent = "";
  });
  const form = h("form", { class: "share-form" },
    h("h2", { id: `${id}-title` }, `Share ${isFolder ? "folder" : "notebook"} `, h("span", { class: "path" }, path)),
    hub.element,
    roles,
    h("div", { class: "row" },
      h("div", { class: "field" }, expiryLabel, expiry),
      usesField),
    ...linkOnly.slice(1),
    error,
    h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), submit),
    hub.list,
  );

  form.addEventListener("change", () => {
    const role = (form.elements.namedItem("role") as RadioNodeList).value;
    warning.hidden = role !== "run";
    runsAsMeRow.hidden = role !== "run" || hub.target() !== null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body: Record<string, unknown> = {
      path,
      role: (form.elements.namedItem("role") as RadioNodeList).value,
      expires_in: Number(expiry.value),
      approval_required: approval.checked,
      anonymous_allowed: anonymous.checked,
      label: label.value.trim(),
    };
    const target = hub.target();
    if (target !== null) {
      const name = target.name.trim();
      if (name === "") {
        error.textContent = `Give the name of a hub ${target.kind}.`;
        hub.focusName();
        return;
      }
      submit.disabled = true;
      try {
        const shared = await hub.share({ path, role: body.role, expires_in: body.expires_in, [target.kind]: name });
        showHubShared(dialog, shared, close, shared.grant.role === "run" ? runNote(shared.runs) : null);
        onCreated("hub");
      } catch (failure) {
        error.textContent = `Nothing was shared: ${(failure as Error).message}`;
        submit.disabled = false;
      }
      return;
    }
    if (body.role === "run" && runsAsMe.checked) body.runs_as_owner = true;
    if (maxUses.value.trim() !== "") {
      const uses = Number(maxUses.value);
      if (!Number.isInteger(uses) || uses < 1) {
        error.textContent = "How many people: a whole number, 1 or more (or empty for no limit).";
        maxUses.focus();
        return;
      }
      body.max_uses = uses;
    }
    submit.disabled = true;
    try {
      const created = await api<Created>("POST", "tandem/api/invitations", body);
      showLink(dialog, created, close);
      onCreated("link");
    } catch (failure) {
      error.textContent = `The link was not created: ${(failure as Error).message}`;
      submit.disabled = false;
    }
  });

  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  (roles.querySelector("input") as HTMLInputElement).focus();
  return dialog;
}

function showLink(dialog: HTMLDialogElement, created: Created, close: () => void): void {
  const { invitation, link } = created;
  const field = h("input", { id: "share-link", class: "link", type: "text", readonly: true, value: link,
    "aria-label": "Share link", spellcheck: "false" });
  const copied = h("span", { class: "copied", role: "status", "aria-live": "polite" });
  const copy = h("button", { type: "button", class: "primary", onclick: async () => {
    copied.textContent = (await copyText(field)) ? "Copied" : "Select the link and copy it (Ctrl+C)";
  } }, "Copy");
  const who = invitation.max_uses === null ? "Anyone with this link" :
    `Up to ${invitation.max_uses} ${invitation.max_uses === 1 ? "person" : "people"} with this link`;
  replace(dialog,
    h("div", { class: "share-done" },
      h("h2", {}, "Link created"),
      h("p", {}, `${who} can `, h("b", {}, invitation.role), " ",
        h("span", { class: "path" }, invitation.scope_path),
        ` until ${localTime(invitation.expires_at)}`,
        invitation.approval_required ? ", after you let them in." : "."),
      invitation.role === "run" ?
        h("p", { class: created.runs?.mode === "confined" ? "hint" : "warning" }, runNote(created.runs)) : null,
      h("div", { class: "link-row" }, field, copy),
      copied,
      h("p", { class: "hint" }, "Send it privately. You can revoke it at any time on the People page."),
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Done")),
    ),
  );
  field.focus();
  field.select();
}

export async function copyText(field: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(field.value);
    return true;
  } catch {
    field.focus();
    field.select();
    return document.execCommand?.("copy") ?? false;
  }
}
