// A tiny DOM builder. Text always goes in as text nodes: nothing a guest or a file name
// contains is ever parsed as HTML.

export type Child = Node | string | number | null | undefined | false | Child[];
import { initialsOf, safeColor, textColorOn } from "../shared/colors";

type Props = Record<string, string | number | boolean | EventListener | undefined | null>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === "class") {
      element.className = String(value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside ``parent``. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

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
