import { afterEach, describe, expect, it } from "vitest";
import { Backoff } from "../src/shared/backoff";
import { Realtime, type LiveEvent } from "../src/widget/realtime";
import { loopback } from "./fixtures/loopback";

let server: Awaited<ReturnType<typeof loopback>> | undefined;
let rt: Realtime | undefined;
afterEach(async () => {
  rt?.stop();
  await server?.close();
  server = undefined;
});

/** A WebSocket whose upgrade is always refused (closes without opening). */
function refusingWebSocket(log: string[]) {
  return class {
    onopen: (() => void) | null = null;
    onmessage: ((m: { data: unknown }) => void) | null = null;
    onclose: (() => void) | null = null;
    constructor(url: string) {
      log.push(`ws ${new URL(url).pathname}?${new URL(url).search.includes("token=tok") ? "token" : "none"}`);
      setTimeout(() => this.onclose?.(), 1);
    }
    close() {}
  } as unknown as typeof WebSocket;
}

/** A WebSocket that opens and delivers the given frames. */
function workingWebSocket(frames: string[]) {
  return class {
    onopen: (() => void) | null = null;
    onmessage: ((m: { data: unknown }) => void) | null = null;
    onclose: (() => void) | null = null;
    constructor() {
      setTimeout(() => {
        this.onopen?.();
        for (const f of frames) this.onmessage?.({ data: f });
      }, 1);
    }
    close() {}
  } as unknown as typeof WebSocket;
}

const waitFor = async (cond: () => boolean, ms = 3000) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("Realtime", () => {
  it("uses the WebSocket when it opens and passes its frames on", async () => {
    const events: LiveEvent[] = [];
    const opened: string[] = [];
    rt = new Realtime({
      base: "http://127.0.0.1:9",
      token: () => "tok",
      WebSocketImpl: workingWebSocket([JSON.stringify({ type: "status", data: { status: "human" } }), "not json", "{\"nope\":1}"]),
      onEvent: (e) => events.push(e),
      onOpen: (t) => opened.push(t),
      onDown: () => {},
    });
    rt.start();
    await waitFor(() => events.length === 1);
    expect(opened).toEqual(["ws"]);
    expect(events).toEqual([{ type: "status", data: { status: "human" } }]);
  });

  it("falls back to SSE after refused upgrades, and reconnects with backoff when the stream drops", async () => {
    let connections = 0;
    server = await loopback((req, res) => {
      expect(req.url).toBe("/widget/v1/events");
      expect(req.headers.authorization).toBe("Bearer tok");
      connections++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`: heartbeat\n\nevent: message\ndata: ${JSON.stringify({ id: `m${connections}`, role: "human", text: "hi" })}\n\n`);
    });
    const log: string[] = [];
    const events: LiveEvent[] = [];
    const opened: string[] = [];
    let downs = 0;
    const delays: number[] = [];
    const backoff = new Backoff({ baseMs: 10, capMs: 40, stableMs: 60_000 }, () => 0.5);
    const next = backoff.next.bind(backoff);
    backoff.next = () => {
      const d = next();
      delays.push(d);
      return d;
    };
    rt = new Realtime({
      base: server.base,
      token: () => "tok",
      WebSocketImpl: refusingWebSocket(log),
      onEvent: (e) => events.push(e),
      onOpen: (t) => opened.push(t),
      onDown: () => downs++,
      backoff,
    });
    rt.start();
    await waitFor(() => events.length >= 3);
    rt.stop();
    expect(log).toEqual(["ws /widget/v1/ws?token", "ws /widget/v1/ws?token"]);
    expect(opened.slice(0, 3)).toEqual(["sse", "sse", "sse"]);
    expect(events.slice(0, 3).map((e) => (e.data as { id: string }).id)).toEqual(["m1", "m2", "m3"]);
    expect(downs).toBeGreaterThanOrEqual(4);
    // Growing delays, capped: 2 refused upgrades, then dropped streams (never stable).
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 20, 20]);
  });

  it("does not connect without a visitor token, and stops for good", async () => {
    let calls = 0;
    server = await loopback((_req, res) => {
      calls++;
      res.writeHead(500).end();
    });
    rt = new Realtime({ base: server.base, token: () => undefined, onEvent: () => {}, onOpen: () => {}, onDown: () => {} });
    rt.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(0);
  });
});
