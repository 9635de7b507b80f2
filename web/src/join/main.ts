// Guest pages: the join page (times in the reader's zone), the waiting page (moves on by
// itself once the owner lets the guest in), and what was shared with a guest.

import "../owner/style.css";
import { api, urls } from "../owner/api";
import { h } from "../owner/dom";
import { showFolder } from "../owner/files";
import { localTime } from "../owner/format";

const POLL_MS = 2000;

interface Waiting {
  status: "pending" | "admitted" | "refused" | "ended";
  next: string | null;
}

function localizeTimes(): void {
  for (const time of document.querySelectorAll<HTMLTimeElement>("time[datetime]")) {
    const at = Date.parse(time.dateTime);
    if (!Number.isNaN(at)) {
      time.title = time.textContent ?? "";
      time.textContent = localTime(at / 1000);
    }
  }
}

function waitForTheOwner(): void {
  const card = document.getElementById("waiting");
  if (!card || card.dataset.status !== "pending") return;
  const check = async () => {
    try {
      const state = await api<Waiting>("GET", "tandem/api/waiting");
      if (state.status === "admitted" && state.next) return location.replace(state.next);
      if (state.status !== "pending") return location.reload();
    } catch {
      // the server restarts or the network blinks: keep waiting
    }
    setTimeout(check, POLL_MS);
  };
  setTimeout(check, POLL_MS);
}

function sharedWithMe(): void {
  const main = h("main", { id: "main", class: "page" });
  document.body.replaceChildren(
    h("a", { class: "skip", href: "#main" }, "Skip to content"),
    h("header", { class: "topbar" },
      h("a", { class: "brand", href: urls.folder("") }, "Tandem"),
      h("span", { class: "signed-in" }, document.body.dataset.name ? `Signed in as ${document.body.dataset.name}` : "")),
    main,
  );
  void showFolder({ main, path: new URLSearchParams(location.search).get("path") ?? "", owner: false });
}

const page = document.body.dataset.page;
localizeTimes();
if (page === "waiting") waitForTheOwner();
if (page === "shared") sharedWithMe();
