// The owner pages build their DOM with the shared builder, plus the avatar dot.

import { initialsOf, safeColor, textColorOn } from "../shared/colors";
import { h } from "../shared/dom";

export { append, h, replace, type Child } from "../shared/dom";

/** A coloured circle with someone's initials, decorative next to their name. */
export function avatar(person: { name: string; color: string; initials?: string; role?: string }): HTMLElement {
  const label = person.role ? `${person.name} (${person.role})` : person.name;
  const dot = h("span", { class: "avatar", title: label, "aria-hidden": "true" },
    person.initials || initialsOf(person.name));
  const color = safeColor(person.color);
  dot.style.backgroundColor = color;
  dot.style.color = textColorOn(color);
  return dot;
}
