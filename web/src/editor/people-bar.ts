/** Avatars of everyone in the notebook (name, colour, role). Clicking one follows them:
 * their cursor stays in view until you move yourself. */

import { textColorOn } from "../shared/colors";
import { clear, h } from "../shared/dom";
import type { Person } from "./presence";

const ROLE_NAMES: Record<string, string> = { owner: "owner", view: "viewer", edit: "editor", run: "can run" };

export class PeopleBar {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private signature = "";

  constructor(
    private readonly me: Person,
    private readonly onFollow: (person: Person | null) => void,
  ) {
    this.list = h("ul", { class: "tc-people-list" });
    this.element = h("nav", { class: "tc-people", "aria-label": "People in this notebook" }, this.list);
  }

  /** `viewers`: how many viewers the server counts when it does not show them one by one. */
  render(people: Person[], following: number | null, viewers: number | null = null): void {
    // Awareness changes with every remote keystroke; rebuild only when the people change
    // (a rebuild would also take the keyboard focus away from an avatar).
    const signature = JSON.stringify([following, viewers, people.map((p) => [p.clientId, p.username, p.name, p.color, p.role])]);
    if (signature === this.signature) return;
    this.signature = signature;
    const focused = this.list.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.client : undefined;
    clear(this.list);
    this.list.appendChild(this.avatar(this.me, false));
    for (const person of people) this.list.appendChild(this.avatar(person, person.clientId === following));
    if (viewers !== null && viewers > 0) {
      const text = `${viewers} ${viewers === 1 ? "viewer" : "viewers"}`;
      this.list.appendChild(h("li", { class: "tc-viewer-count", title: `${text} watching` }, text));
    }
    if (focused !== undefined) this.list.querySelector<HTMLElement>(`[data-client="${CSS.escape(focused)}"]`)?.focus();
  }

  private avatar(person: Person, following: boolean): HTMLElement {
    const role = ROLE_NAMES[person.role] ?? person.role;
    const label = person.isMe
      ? `You (${person.name}, ${role})`
      : following
        ? `Stop following ${person.name} (${role})`
        : `Follow ${person.name} (${role})`;
    const button = h(
      "button",
      {
        type: "button",
        class: `tc-avatar${person.isMe ? " tc-avatar--me" : ""}${following ? " tc-avatar--following" : ""}`,
        title: label,
        "aria-label": label,
        "aria-pressed": person.isMe ? null : following ? "true" : "false",
        disabled: person.isMe,
        "data-username": person.username,
        "data-client": person.clientId,
        "data-role": person.role,
      },
      h("span", { class: "tc-avatar-initials", "aria-hidden": "true" }, person.initials),
      h("span", { class: "tc-avatar-role", "aria-hidden": "true" }, role),
    );
    button.style.setProperty("--tc-user", person.color);
    button.style.setProperty("--tc-user-text", textColorOn(person.color));
    if (!person.isMe) button.addEventListener("click", () => this.onFollow(following ? null : person));
    return h("li", {}, button, h("span", { class: "tc-avatar-name" }, person.isMe ? "You" : person.name));
  }
}
