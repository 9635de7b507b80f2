// Requests to Tandem's JSON APIs from its own pages: same origin, the login cookie, and
// the X-XSRFToken header (the `_xsrf` cookie) on every request (JupyterHub's single-user
// server wants it on cookie-authenticated GETs too).

import { errorOf, xsrfToken } from "../shared/api";

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly reason = "") {
    super(message);
  }
}

/** The server's base URL (ends with "/"), from the page's `data-base-url`. */
export function baseUrl(): string {
  return document.body.dataset.baseUrl || "/";
}


export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const xsrf = xsrfToken();
  if (xsrf) headers["X-XSRFToken"] = xsrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(baseUrl() + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (!response.ok) {
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      // not JSON: the status text stands in
    }
    const failure = errorOf(response.status, data, response.statusText);
    throw new ApiError(failure.status, failure.message, failure.reason);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Page URLs the pages link to. */
export const urls = {
  editor: (path: string) => `${baseUrl()}tandem/notebook/${encodePath(path)}`,
  folder: (path: string) => `${baseUrl()}tandem/${path ? `?path=${encodePath(path)}` : ""}`,
  page: (name: string) => `${baseUrl()}tandem/${name}`,
};

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
