/** A tiny element builder: text children are always text nodes (never parsed as HTML). */

type Child = Node | string | null | undefined | false;

export function h(
  tag: string,
  attributes: Record<string, string | boolean | undefined | ((event: Event) => void)> = {},
  ...children: (Child | Child[])[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child);
  }
}

/** "in 3 hours", "2 days ago": a time relative to now. */
export function relative(seconds: number, now = Date.now() / 1000): string {
  const delta = seconds - now;
  const abs = Math.abs(delta);
  const [value, unit] =
    abs < 90 ? [Math.round(abs), 'second'] :
    abs < 5400 ? [Math.round(abs / 60), 'minute'] :
    abs < 129600 ? [Math.round(abs / 3600), 'hour'] : [Math.round(abs / 86400), 'day'];
  const phrase = `${value} ${unit}${value === 1 ? '' : 's'}`;
  return delta >= 0 ? `in ${phrase}` : `${phrase} ago`;
}
