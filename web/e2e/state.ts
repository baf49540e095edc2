// What global-setup started, for the specs to use.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
export const STATE_FILE = join(WEB_DIR, "test-results", "e2e-state.json");

export interface E2EState {
  /** switchboard's URL (API, /app/, /widget.js). */
  base: string;
  /** The customer site embedding the widget (another origin). */
  host: string;
  email: string;
  password: string;
  apiKey: string;
  userId: string;
}

export function state(): E2EState {
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as E2EState;
}

/** A JSON request to the API with the owner's key. */
export async function apiCall<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
  const s = state();
  const res = await fetch(`${s.base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${s.apiKey}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
