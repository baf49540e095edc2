// The visitor side of the API (/widget/v1), typed from the generated schema.
// The widget talks to the origin it was loaded from; the visitor token rides
// in `Authorization: Bearer` (never a cookie, so the host page's cookies and
// CSRF never come into it).

import createClient, { type Middleware } from "openapi-fetch";
import { ApiError, errorOf, type BodyOf, type ResponseOf, type paths } from "../api";
import { jsonData, readSse } from "../shared/sse";

export type WidgetConfig = ResponseOf<"/widget/v1/deployments/{id}/config", "get">;
export type Appearance = WidgetConfig["appearance"];
export type Session = ResponseOf<"/widget/v1/deployments/{id}/sessions", "post">;
export type SessionRequest = BodyOf<"/widget/v1/deployments/{id}/sessions", "post">;
export type VisitorConversation = ResponseOf<"/widget/v1/conversation", "get">;
export type VisitorMessage = VisitorConversation["messages"][number];

/** A source an answer cites. */
export interface Citation {
  number: number;
  title: string;
  url?: string | null;
  heading_path?: string;
}

/** A file the visitor attached; `url` downloads it with the visitor token. */
export interface AttachmentInfo {
  name: string;
  size: number;
  content_type: string;
  url: string;
}

const str = (v: unknown): v is string => typeof v === "string";

/** The citations of a message, checked field by field (the transcript's are free-form JSON). */
export function citationsOf(raw: unknown): Citation[] {
  if (!Array.isArray(raw)) return [];
  const out: Citation[] = [];
  for (const c of raw as Record<string, unknown>[]) {
    if (!c || typeof c !== "object" || typeof c.number !== "number" || !str(c.title)) continue;
    out.push({
      number: c.number,
      title: c.title,
      url: str(c.url) ? c.url : null,
      heading_path: str(c.heading_path) ? c.heading_path : "",
    });
  }
  return out;
}

/** A message's attachment, when it has one. */
export function attachmentOf(m: unknown): AttachmentInfo | undefined {
  const a = (m as { attachment?: Record<string, unknown> } | null)?.attachment;
  if (!a || !str(a.name) || !str(a.url) || typeof a.size !== "number") return undefined;
  return { name: a.name, size: a.size, content_type: str(a.content_type) ? a.content_type : "", url: a.url };
}
export type Turn = ResponseOf<"/widget/v1/messages", "post">;
export type Attachment = ResponseOf<"/widget/v1/attachments", "post">;

export interface StreamHandlers {
  onDelta(text: string): void;
}

export class WidgetApi {
  private readonly client;
  token: string | undefined;

  constructor(
    readonly base: string,
    readonly deployment: string,
  ) {
    this.client = createClient<paths>({ baseUrl: base });
    const auth: Middleware = {
      onRequest: ({ request }) => {
        if (this.token) request.headers.set("Authorization", `Bearer ${this.token}`);
        return request;
      },
    };
    this.client.use(auth);
  }

  async config(): Promise<WidgetConfig> {
    const r = await this.client.GET("/widget/v1/deployments/{id}/config", {
      params: { path: { id: this.deployment } },
    });
    return ok(r);
  }

  async session(body: SessionRequest): Promise<Session> {
    const r = await this.client.POST("/widget/v1/deployments/{id}/sessions", {
      params: { path: { id: this.deployment } },
      body,
    });
    return ok(r);
  }

  async conversation(): Promise<VisitorConversation> {
    return ok(await this.client.GET("/widget/v1/conversation"));
  }

  async handoff(): Promise<string> {
    return ok(await this.client.POST("/widget/v1/handoff")).status;
  }

  async csat(rating: number, comment?: string): Promise<void> {
    const r = await this.client.POST("/widget/v1/csat", { body: comment ? { rating, comment } : { rating } });
    if (!r.response.ok) throw await errorOf(r.response);
  }

  async attach(file: File): Promise<Attachment> {
    const form = new FormData();
    form.append("file", file, file.name);
    const res = await fetch(`${this.base}/widget/v1/attachments`, {
      method: "POST",
      headers: this.authHeaders(),
      body: form,
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as Attachment;
  }

  /**
   * Sends a message and streams the reply: `delta` events as they come, the
   * turn (the same object as the JSON answer) at the end.
   */
  async send(text: string, h: StreamHandlers, signal?: AbortSignal): Promise<Turn> {
    const body: BodyOf<"/widget/v1/messages", "post"> = { text };
    const res = await fetch(`${this.base}/widget/v1/messages`, {
      method: "POST",
      headers: { ...this.authHeaders(), "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw await errorOf(res);
    if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream") || !res.body) {
      return (await res.json()) as Turn;
    }
    let turn: Turn | undefined;
    let failure: ApiError | undefined;
    await readSse(
      res.body,
      (e) => {
        if (e.event === "delta") {
          const d = jsonData<{ text?: unknown }>(e);
          if (d && typeof d.text === "string") h.onDelta(d.text);
        } else if (e.event === "message") {
          turn = jsonData<Turn>(e);
        } else if (e.event === "error") {
          const p = jsonData<Record<string, unknown>>(e) ?? {};
          failure = new ApiError(typeof p.status === "number" ? p.status : 500, p);
        }
      },
      signal,
    );
    if (failure) throw failure;
    if (!turn) throw new ApiError(502, { title: "the reply was cut off" });
    return turn;
  }

  /** Fetches one of the visitor's attachments (the download needs the visitor token). */
  async download(url: string): Promise<Blob> {
    const res = await fetch(new URL(url, this.base).href, { headers: this.authHeaders() });
    if (!res.ok) throw await errorOf(res);
    return await res.blob();
  }

  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }
}

function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  const p = (r.error && typeof r.error === "object" ? r.error : {}) as Record<string, unknown>;
  throw new ApiError(r.response.status, { status: r.response.status, title: r.response.statusText, ...p });
}
