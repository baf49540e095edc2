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
export type Citation = VisitorMessage["citations"][number];
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

  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }
}

function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  const p = (r.error && typeof r.error === "object" ? r.error : {}) as Record<string, unknown>;
  throw new ApiError(r.response.status, { status: r.response.status, title: r.response.statusText, ...p });
}
