// The owner's pages: notebooks with who is in them and Share buttons (home), people with
// access (people), and the audit log (audit). Requests to join show on every page.

import "./style.css";
import { api } from "./api";
import { showAudit } from "./audit";
import { Feed } from "./feed";
import { showFolder } from "./files";
import { ownerFrame, type OwnerPage } from "./layout";
import { showPeople } from "./people";
import { showRequests } from "./requests";
import { openShareDialog } from "./share";
import type { Grant, Presence } from "./types";

function start(): void {
  const page = (document.body.dataset.page || "home") as OwnerPage;
  const frame = ownerFrame(page);
  const grants = new Feed(async () => (await api<{ grants: Grant[] }>("GET", "tandem/api/grants")).grants);
  let warned = false;
  grants.onError((error) => {
    if (!warned) frame.say(`Lost contact with the server: ${(error as Error).message}`, "error");
    warned = true;
  });
  showRequests(frame, grants);
  if (page === "people") {
    showPeople(frame, grants);
  } else if (page === "audit") {
    showAudit(frame, grants);
  } else {
    const presence = new Feed(() => api<Presence>("GET", "tandem/api/presence"));
    const path = new URLSearchParams(location.search).get("path") ?? "";
    void showFolder({
      main: frame.main,
      path,
      owner: true,
      presence,
      share: (target, isFolder) => openShareDialog(target, isFolder, (made) => {
        frame.say(made === "link" ? "Link created. It is listed on the People page." :
          "Shared. It is listed on the People page.");
      }),
    });
  }
}

start();
