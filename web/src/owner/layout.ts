// The frame of every owner page: top bar with navigation, the live requests to join,
// a status line for messages, and the page's main region.

import { urls } from "./api";
import { h } from "./dom";

export type OwnerPage = "home" | "people" | "audit";

export interface Frame {
  main: HTMLElement;
  requests: HTMLElement;
  badge: HTMLElement;
  say(message: string, kind?: "info" | "error"): void;
}

const NAV: ReadonlyArray<[OwnerPage, string, string]> = [
  ["home", "Notebooks", ""],
  ["people", "People", "people"],
  ["audit", "Audit log", "audit"],
];

export function ownerFrame(current: OwnerPage): Frame {
  const badge = h("span", { class: "badge", hidden: true });
  const links = NAV.map(([page, label, path]) =>
    h("a", { href: urls.page(path), "aria-current": page === current ? "page" : undefined },
      label, page === "people" ? badge : null),
  );
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const requests = h("section", { class: "requests", "aria-label": "Requests to join", "aria-live": "polite", hidden: true });
  const main = h("main", { id: "main", class: "page" });
  document.body.replaceChildren(
    h("a", { class: "skip", href: "#main" }, "Skip to content"),
    h("header", { class: "topbar" },
      h("a", { class: "brand", href: urls.page("") }, "Tandem"),
      h("nav", { "aria-label": "Owner pages" }, links),
    ),
    requests,
    status,
    main,
  );
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    main,
    requests,
    badge,
    say(message, kind = "info") {
      status.textContent = message;
      status.className = `status ${kind}`;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => { status.textContent = ""; status.className = "status"; }, kind === "error" ? 10000 : 4000);
    },
  };
}
