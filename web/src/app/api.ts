// The dashboard's API client: typed from the generated schema, same-origin
// with the `sb_session` cookie, and the CSRF token echoed on every unsafe
// method (the server compares it in constant time).

import createClient, { type Middleware } from "openapi-fetch";
import { ApiError, errorOf, type ResponseOf, type paths } from "../api";
import { readSse, type SseEvent } from "../shared/sse";

export type Me = ResponseOf<"/v1/me", "get">;
export type Login = ResponseOf<"/v1/auth/login", "post">;

let csrf: string | undefined;
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string | null | undefined): void {
  csrf = token ?? undefined;
}

export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function csrfHeaders(method: string): Record<string, string> {
  return UNSAFE.has(method.toUpperCase()) && csrf ? { "X-CSRF-Token": csrf } : {};
}

const session: Middleware = {
  onRequest({ request }) {
    for (const [k, v] of Object.entries(csrfHeaders(request.method))) request.headers.set(k, v);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/v1/auth/login")) onUnauthorized();
    return response;
  },
};

/** The typed client. `baseUrl` is empty: the dashboard is served by the API's own origin. */
export function makeClient(baseUrl = "", fetchImpl?: typeof fetch) {
  const c = createClient<paths>({ baseUrl, credentials: "same-origin", ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  c.use(session);
  return c;
}

export const api = makeClient();

/** The data of an openapi-fetch result, or an ApiError carrying the problem. */
export function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok) return r.data as T;
  const p = (r.error && typeof r.error === "object" ? r.error : {}) as Record<string, unknown>;
  throw new ApiError(r.response.status, { status: r.response.status, title: r.response.statusText, ...p });
}

/** A raw same-origin request with the session's CSRF header (uploads, streams). */
export async function raw(path: string, init: RequestInit = {}): Promise<Response> {
  const method = init.method ?? "GET";
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(csrfHeaders(method))) headers.set(k, v);
  const res = await fetch(path, { ...init, method, headers, credentials: "same-origin" });
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await errorOf(res);
  return res;
}

/**
 * Follows a server-sent event stream until it ends or `signal` aborts,
 * reconnecting (after `retryMs`) when it drops, while `again()` says so.
 */
export async function follow(
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  again: () => boolean = () => false,
  retryMs = 2000,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await raw(path, { headers: { Accept: "text/event-stream" }, signal });
      if (res.body) await readSse(res.body, onEvent, signal);
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status < 500 && e.status !== 429) throw e;
    }
    if (!again() || signal.aborted) return;
    await new Promise((r) => setTimeout(r, retryMs));
  }
}

/** A human-readable message for an error. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
