// A folder's notebooks and subfolders: for the owner with who is in each (live) and a
// Share button per item; for a guest, only what was shared with them.

import { api, ApiError, urls } from "./api";
import { avatar, h, replace } from "./dom";
import type { Feed } from "./feed";
import { localTime } from "./format";
import type { Entry, Listing, Person, Presence } from "./types";

const SHOWN_BY_NAME = 4;

export interface FolderView {
  main: HTMLElement;
  path: string;
  owner: boolean;
  presence?: Feed<Presence>;
  share?: (path: string, isFolder: boolean) => void;
}

export async function showFolder(view: FolderView): Promise<void> {
  const { main, path, owner } = view;
  const top = owner ? "Notebooks" : "Shared with you";
  let listing: Listing;
  try {
    listing = await api<Listing>("GET", `tandem/api/files?path=${encodeURIComponent(path)}`);
  } catch (error) {
    const status = error instanceof ApiError ? error.status : 0;
    replace(main, h("h1", {}, top), h("p", { class: "error", role: "alert" },
      status === 403 ? "This folder is not shared with you." :
      status === 404 ? "There is no such folder." : `The folder could not be listed: ${(error as Error).message}`),
      h("p", {}, h("a", { href: urls.folder("") }, `Back to ${top.toLowerCase()}`)));
    return;
  }
  const crumbs = h("nav", { class: "crumbs", "aria-label": "Folder" },
    h("ol", {},
      h("li", {}, listing.crumbs.length ? h("a", { href: urls.folder("") }, top) : h("span", { "aria-current": "page" }, top)),
      listing.crumbs.map((crumb, i) => h("li", {},
        i === listing.crumbs.length - 1
          ? h("span", { "aria-current": "page", class: "path" }, crumb.name)
          : h("a", { href: urls.folder(crumb.path), class: "path" }, crumb.name))),
    ),
  );
  const shareFolder = owner && path && view.share
    ? h("button", { type: "button", onclick: () => view.share!(path, true) }, "Share this folder")
    : null;
  const showRole = !owner && path === "";
  const rows = listing.entries.map((entry) => row(entry, view, showRole));
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, path ? (listing.crumbs.at(-1)?.name ?? path) : top), shareFolder),
    listing.crumbs.length ? crumbs : null,
    listing.entries.length === 0
      ? h("p", { class: "empty" }, owner ? "No notebooks or folders here." : "Nothing is shared with you here.")
      : h("div", { class: "table-wrap" }, h("table", { class: "files" },
        h("caption", { class: "visually-hidden" }, `Contents of ${path || top}`),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Name"),
          owner ? h("th", { scope: "col" }, "In it now") : null,
          showRole ? h("th", { scope: "col" }, "Your role") : null,
          showRole ? h("th", { scope: "col" }, "Until") : null,
          owner ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null,
        )),
        h("tbody", {}, rows))),
  );
  view.presence?.subscribe((presence) => showPresence(main, presence));
}

function row(entry: Entry, view: FolderView, showRole: boolean): HTMLElement {
  const href = entry.kind === "folder" ? urls.folder(entry.path) : urls.editor(entry.path);
  return h("tr", { "data-path": entry.path, "data-kind": entry.kind },
    h("td", { class: "name" }, h("span", { class: "name-cell" },
      h("span", { class: `icon ${entry.kind}`, "aria-hidden": "true" }),
      h("a", { href }, entry.name),
      entry.kind === "folder" ? h("span", { class: "visually-hidden" }, " (folder)") : null)),
    view.owner ? h("td", { class: "people", "data-people": entry.path }) : null,
    showRole ? h("td", {}, entry.role ?? "") : null,
    showRole ? h("td", {}, entry.expires_at ? localTime(entry.expires_at) : "") : null,
    view.owner && view.share ? h("td", { class: "actions" },
      h("button", { type: "button", "aria-label": `Share ${entry.name}`,
        onclick: () => view.share!(entry.path, entry.kind === "folder") }, "Share")) : null,
  );
}

/** Who is in each notebook (and, for a folder, in any notebook below it). */
export function peopleAt(presence: Presence, path: string, isFolder: boolean): Person[] {
  const seen = new Map<string, Person>();
  for (const room of presence.rooms) {
    if (room.path === path || (isFolder && room.path.startsWith(path + "/"))) {
      for (const person of room.people) seen.set(`${person.name}\u0000${person.color}`, person);
    }
  }
  return [...seen.values()];
}

function showPresence(main: HTMLElement, presence: Presence): void {
  for (const cell of main.querySelectorAll<HTMLElement>("td[data-people]")) {
    const path = cell.dataset.people!;
    const isFolder = cell.parentElement?.dataset.kind === "folder";
    const people = peopleAt(presence, path, isFolder);
    replace(cell, people.length
      ? h("ul", { class: "people-list" }, people.slice(0, SHOWN_BY_NAME).map((person) =>
        h("li", { class: "person", "data-color": person.color }, avatar(person), h("span", {}, person.name),
          h("span", { class: "visually-hidden" }, ` (${person.role})`))),
        people.length > SHOWN_BY_NAME
          ? h("li", { class: "more", title: people.slice(SHOWN_BY_NAME).map((p) => p.name).join(", ") },
            `+${people.length - SHOWN_BY_NAME} more`)
          : null)
      : [h("span", { class: "muted", "aria-hidden": "true" }, "—"), h("span", { class: "visually-hidden" }, "Nobody")]);
  }
}
