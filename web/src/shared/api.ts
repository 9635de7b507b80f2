/** Same-origin JSON requests as a cookie-authenticated Jupyter client makes them. */

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

/** The `_xsrf` cookie, which Jupyter expects back in `X-XSRFToken` on every POST/PUT/DELETE
 * (and, under JupyterHub, on cookie-authenticated GETs too). */
export function xsrfToken(cookie: string = typeof document === "undefined" ? "" : document.cookie): string {
  for (const part of cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "_xsrf") return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** `base` ends with "/"; each path segment is URL-encoded, slashes kept. */
export function apiUrl(base: string, route: string, path = ""): string {
  const encoded = path
    .split("/")
    .filter((part) => part !== "")
    .map(encodeURIComponent)
    .join("/");
  return base + route + (encoded ? (route.endsWith("/") ? "" : "/") + encoded : "");
}

export async function requestJson<T = any>(
  method: string,
  url: string,
  body?: unknown,
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  // Sent on every method: JupyterHub's single-user server refuses cookie-authenticated
  // GETs without it; elsewhere it is harmless on a same-origin request.
  const xsrf = xsrfToken();
  if (xsrf) headers["X-XSRFToken"] = xsrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { message: text };
  }
  return { status: response.status, body: parsed as T };
}

/** A refusal from a Tandem JSON API. Every API answers errors as
 * `{"message": <text for a person>, "reason": <stable code>}` (plus fields such as
 * `cell_id` for some reasons); `errorOf` is the one place that reads it. */
export interface ApiFailure {
  status: number;
  /** Stable snake_case code to branch on ("source_changed", "forbidden", ...). */
  reason: string;
  /** What went wrong and what to do, for a person. */
  message: string;
}

export function errorOf(status: number, body: unknown, fallback = ""): ApiFailure {
  const data = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const reason = typeof data.reason === "string" && data.reason ? data.reason : "";
  const message = typeof data.message === "string" && data.message ? data.message : fallback || `HTTP ${status}`;
  return { status, reason, message };
}
