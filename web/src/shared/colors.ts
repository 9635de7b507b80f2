/** Colours of people: validated (they end up in styles) and readable. */

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
export const FALLBACK_COLOR = "#7f7f7f";

/** A `#rgb`/`#rrggbb` colour, or the fallback for anything else. */
export function safeColor(value: unknown): string {
  return typeof value === "string" && HEX.test(value.trim()) ? value.trim().toLowerCase() : FALLBACK_COLOR;
}

function channels(color: string): [number, number, number] {
  let hex = safeColor(color).slice(1);
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
}

/** WCAG relative luminance. */
export function luminance(color: string): number {
  const [r, g, b] = channels(color).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever reads better on `background`. */
export function textColorOn(background: string): "#000000" | "#ffffff" {
  return contrastRatio(background, "#ffffff") >= contrastRatio(background, "#000000") ? "#ffffff" : "#000000";
}

/** The colour with an alpha channel, for selection backgrounds. */
export function translucent(color: string, alpha: number): string {
  const [r, g, b] = channels(color).map((c) => Math.round(c * 255));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Initials for an avatar: first letters of the first two words. */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => [...word][0] ?? "");
  return (letters.join("") || "?").toUpperCase();
}
