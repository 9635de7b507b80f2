/** A tiny element builder: `h("button", { class: "x", onclick }, "Label", [more, children])`.
 * Text always goes in as text nodes: nothing a guest or a file name contains is ever
 * parsed as HTML. */

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

/** Append children (nested lists flattened; null, undefined and false skipped). */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, ...child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child of `element`. */
export function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

/** Replace everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  clear(parent);
  append(parent, ...children);
}
