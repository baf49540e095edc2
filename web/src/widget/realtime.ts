// The visitor's live events (a person joined, their replies, typing,
// resolved): a WebSocket when it works, else server-sent events over fetch
// (some proxies and corporate networks refuse WebSocket upgrades). Either way
// a dropped connection comes back after a backoff delay, and `onOpen` lets the
// widget fetch what it missed meanwhile.

import { Backoff } from "../shared/backoff";
import { readSse } from "../shared/sse";

export interface LiveEvent {
  type: string;
  data: unknown;
}

export interface RealtimeOptions {
  base: string;
  token: () => string | undefined;
  onEvent(e: LiveEvent): void;
  onOpen(transport: "ws" | "sse"): void;
  onDown(): void;
  /** For tests: the WebSocket constructor (none: SSE only). */
  WebSocketImpl?: typeof WebSocket | undefined;
  fetchImpl?: typeof fetch;
  backoff?: Backoff;
}

/** After this many WebSocket attempts that never opened, stay on SSE. */
const WS_FAILURES_BEFORE_FALLBACK = 2;

export class Realtime {
  private stopped = true;
  private ws: WebSocket | undefined;
  private sseAbort: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wsFailures = 0;
  private readonly backoff: Backoff;
  transport: "ws" | "sse" | undefined;

  constructor(private readonly o: RealtimeOptions) {
    this.backoff = o.backoff ?? new Backoff();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.ws = undefined;
    this.sseAbort?.abort();
    this.sseAbort = undefined;
  }

  private useWs(): boolean {
    return !!this.o.WebSocketImpl && this.wsFailures < WS_FAILURES_BEFORE_FALLBACK;
  }

  private connect(): void {
    if (this.stopped || !this.o.token()) return;
    if (this.useWs()) this.connectWs();
    else void this.connectSse();
  }

  private retry(): void {
    if (this.stopped) return;
    this.o.onDown();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoff.next());
  }

  private connectWs(): void {
    const Impl = this.o.WebSocketImpl!;
    const url = new URL("/widget/v1/ws", this.o.base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", this.o.token() ?? "");
    let opened = false;
    let ws: WebSocket;
    try {
      ws = new Impl(url.href);
    } catch {
      this.wsFailures++;
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.wsFailures = 0;
      this.transport = "ws";
      this.backoff.connected();
      this.o.onOpen("ws");
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== "string") return;
      try {
        const e = JSON.parse(m.data) as LiveEvent;
        if (e && typeof e.type === "string") this.o.onEvent(e);
      } catch {
        // Not ours: ignore.
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (!opened) this.wsFailures++;
      this.retry();
    };
  }

  private async connectSse(): Promise<void> {
    const abort = new AbortController();
    this.sseAbort = abort;
    const doFetch = this.o.fetchImpl ?? fetch;
    try {
      const res = await doFetch(new URL("/widget/v1/events", this.o.base).href, {
        headers: { Authorization: `Bearer ${this.o.token() ?? ""}`, Accept: "text/event-stream" },
        signal: abort.signal,
      });
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      this.transport = "sse";
      this.backoff.connected();
      this.o.onOpen("sse");
      await readSse(
        res.body,
        (e) => {
          let data: unknown = e.data;
          try {
            data = JSON.parse(e.data);
          } catch {
            // Keep the text.
          }
          this.o.onEvent({ type: e.event, data });
        },
        abort.signal,
      );
    } catch {
      // Fall through to the retry below.
    }
    if (this.sseAbort === abort && !abort.signal.aborted) {
      this.sseAbort = undefined;
      this.retry();
    }
  }
}
