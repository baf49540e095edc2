// The widget's state rules against a loopback server speaking the contract.
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { WidgetApi } from "../src/widget/api";
import { Chat } from "../src/widget/chat";
import { json, loopback } from "./fixtures/loopback";

let server: Awaited<ReturnType<typeof loopback>> | undefined;
let chat: Chat | undefined;
afterEach(async () => {
  chat?.stop();
  await server?.close();
  server = undefined;
});

const config = { id: "dep1", appearance: { color: "#ffcc00", position: "right", greeting: "Hi!" }, identity_verification: false };
const cite = { number: 1, title: "Returns", url: "https://shop.example/returns", heading_path: "Returns", snippet: "", document_id: "d", chunk_id: "c" };

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("Chat", () => {
  it("opens a session on the first message, streams the reply, keeps the token, and dedupes live copies", async () => {
    let events: ServerResponse | undefined;
    server = await loopback(async (req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      if (req.url.endsWith("/sessions")) return json(res, 201, { visitor_token: "tok1", conversation_id: "c1", status: "ai" });
      if (req.url === "/widget/v1/conversation") return json(res, 200, { id: "c1", status: "ai", messages: [] });
      if (req.url === "/widget/v1/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": hello\n\n");
        events = res;
        return;
      }
      if (req.url === "/widget/v1/messages") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        // The live channel announces the same messages before the turn ends.
        events?.write(`event: message\ndata: ${JSON.stringify({ id: "m1", role: "customer", text: "returns?", created_at: "", citations: [] })}\n\n`);
        for (const t of ["Within ", "30 days ", "[1]."]) res.write(`event: delta\ndata: ${JSON.stringify({ text: t })}\n\n`);
        events?.write(`event: message\ndata: ${JSON.stringify({ id: "r1", role: "assistant", text: "Within 30 days [1].", created_at: "", citations: [cite] })}\n\n`);
        await new Promise((r) => setTimeout(r, 30));
        res.end(`event: message\ndata: ${JSON.stringify({ message_id: "m1", reply: { id: "r1", text: "Within 30 days [1].", citations: [cite] }, outcome: "answered", confidence: 0.9, status: "ai" })}\n\n`);
        return;
      }
      if (req.url === "/widget/v1/handoff") return json(res, 200, { status: "pending_human" });
      json(res, 404, {});
    });
    const storage = memoryStorage();
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage, identity: { name: "Ann" } });
    await chat.start();
    expect(chat.state.config?.appearance.greeting).toBe("Hi!");
    expect(server.seen.some((s) => s.url.endsWith("/sessions"))).toBe(false);

    const drafts: string[] = [];
    // Each distinct text the streaming bubble showed, in order.
    const unsub = chat.subscribe(() => {
      const d = chat!.state.draft;
      if (d && d !== drafts[drafts.length - 1]) drafts.push(d);
    });
    await chat.send("  returns?  ");
    unsub();
    expect(storage.m.get("switchboard:dep1:visitor")).toBe("tok1");
    expect(JSON.parse(server.seen.find((s) => s.url.endsWith("/sessions"))!.body)).toEqual({ name: "Ann" });
    expect(drafts).toEqual(["Within ", "Within 30 days ", "Within 30 days [1]."]);
    expect(chat.state.draft).toBeUndefined();
    expect(chat.state.messages.map((m) => [m.role, m.id, m.text])).toEqual([
      ["customer", "m1", "returns?"],
      ["assistant", "r1", "Within 30 days [1]."],
    ]);
    expect(chat.state.messages[1]!.citations).toEqual([{ number: 1, title: "Returns", url: "https://shop.example/returns", heading_path: "Returns" }]);

    // A person joins: a status line and their reply.
    await until(() => !!events);
    events!.write(`event: status\ndata: ${JSON.stringify({ status: "human", assignee_name: "Sam" })}\n\n`);
    events!.write(`event: message\ndata: ${JSON.stringify({ id: "h1", role: "human", text: "Hello, Sam here", created_at: "", citations: [], author_name: "Sam" })}\n\n`);
    await until(() => chat!.state.messages.some((m) => m.id === "h1"));
    expect(chat.state.messages.map((m) => m.text)).toContain("Sam joined the conversation.");
    // One unread message (the status line is not a message).
    expect(chat.state.unread).toBe(1);

    // Resolved: the rating is asked for.
    events!.write(`event: status\ndata: ${JSON.stringify({ status: "resolved" })}\n\n`);
    await until(() => chat!.state.csat === "asking");
  });

  it("drops the streamed words when the final reply says a check replaced them", async () => {
    const streamed = Array.from({ length: 200 }, (_, i) => `word${i} `);
    server = await loopback(async (req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      if (req.url.endsWith("/sessions")) return json(res, 201, { visitor_token: "tok1", conversation_id: "c1", status: "ai" });
      if (req.url === "/widget/v1/conversation") return json(res, 200, { id: "c1", status: "ai", messages: [] });
      if (req.url === "/widget/v1/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        return;
      }
      if (req.url === "/widget/v1/messages") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const t of streamed) res.write(`event: delta\ndata: ${JSON.stringify({ text: t })}\n\n`);
        const final = { message_id: "m1", reply: { id: "r1", text: "I could not find that in our help articles.", citations: [] }, outcome: "abstained", confidence: 0.2, status: "ai", deltas_replaced: true };
        res.end(`event: message\ndata: ${JSON.stringify(final)}\n\n`);
        return;
      }
      json(res, 404, {});
    });
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage: memoryStorage(), identity: {} });
    await chat.start();
    let longest = "";
    const unsub = chat.subscribe(() => {
      const d = chat!.state.draft ?? "";
      if (d.length > longest.length) longest = d;
    });
    await chat.send("what about it?");
    unsub();
    // Revealing all 200 pieces takes 20 ticks of 40 ms; the final event
    // arrives long before, and nothing more of the stream is shown.
    expect(longest.length).toBeLessThan(streamed.join("").length);
    expect(chat.state.draft).toBeUndefined();
    expect(chat.state.messages.map((m) => [m.role, m.text])).toEqual([
      ["customer", "what about it?"],
      ["assistant", "I could not find that in our help articles."],
    ]);
  });

  it("resumes a returning visitor's conversation with the stored token", async () => {
    server = await loopback((req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      if (req.url.endsWith("/sessions")) return json(res, 201, { visitor_token: "tok2", conversation_id: "c1", status: "human" });
      if (req.url === "/widget/v1/conversation")
        return json(res, 200, { id: "c1", status: "human", messages: [{ id: "a", role: "customer", text: "earlier", created_at: "", citations: [] }] });
      res.writeHead(200, { "content-type": "text/event-stream" });
    });
    const storage = memoryStorage();
    storage.setItem("switchboard:dep1:visitor", "old-token");
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage, identity: {} });
    await chat.start();
    expect(JSON.parse(server.seen.find((s) => s.url.endsWith("/sessions"))!.body)).toEqual({ visitor_token: "old-token" });
    expect(chat.state.messages.map((m) => m.text)).toEqual(["earlier"]);
    expect(chat.state.status).toBe("human");
    expect(storage.m.get("switchboard:dep1:visitor")).toBe("tok2");
  });

  it("renews the session when the server says the visitor token expired, keeping the token through a failed start", async () => {
    const expired = { type: "urn:switchboard:problem:visitor-token-expired", title: "Visitor token expired", status: 401, detail: "start a new session" };
    const valid = new Set(["tok-new"]);
    let sessions = 0;
    server = await loopback((req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (req.url.endsWith("/sessions")) {
        sessions++;
        // The first start fails on our side: the stored token must survive it.
        if (sessions === 1) return json(res, 503, { status: 503, title: "Service unavailable" }, "application/problem+json");
        const body = JSON.parse(req.body) as { visitor_token?: string };
        if (body.visitor_token === "tok-new") return json(res, 201, { visitor_token: "tok-new", conversation_id: "c2", status: "ai" });
        if (body.visitor_token) return json(res, 401, expired, "application/problem+json");
        return json(res, 201, { visitor_token: sessions > 3 ? "tok-newer" : "tok-new", conversation_id: "c2", status: "ai" });
      }
      if (!valid.has(bearer)) return json(res, 401, expired, "application/problem+json");
      if (req.url === "/widget/v1/conversation") return json(res, 200, { id: "c2", status: "ai", messages: [] });
      if (req.url === "/widget/v1/messages") {
        const reply = { id: `r${sessions}`, text: "Within 30 days [1].", citations: [cite] };
        return json(res, 200, { message_id: `m${sessions}`, reply, outcome: "answered", confidence: 0.9, status: "ai" });
      }
      if (req.url === "/widget/v1/handoff") return json(res, 200, { status: "pending_human" });
      res.writeHead(200, { "content-type": "text/event-stream" });
    });
    const storage = memoryStorage();
    storage.setItem("switchboard:dep1:visitor", "tok-old");
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage, identity: {} });
    await chat.start();
    expect(storage.m.get("switchboard:dep1:visitor")).toBe("tok-old");
    expect(chat.hasSession()).toBe(false);

    // The first message tries the stored token again; the server says it expired, so a new session takes over.
    await chat.send("returns?");
    const bodies = server.seen.filter((s) => s.url.endsWith("/sessions")).map((s) => JSON.parse(s.body) as unknown);
    expect(bodies).toEqual([{ visitor_token: "tok-old" }, { visitor_token: "tok-old" }, {}]);
    expect(storage.m.get("switchboard:dep1:visitor")).toBe("tok-new");
    expect(chat.state.notice).toBeUndefined();
    expect(chat.state.messages.map((m) => [m.role, m.text])).toEqual([
      ["customer", "returns?"],
      ["assistant", "Within 30 days [1]."],
    ]);

    // The token expires while the page is open: the next call renews the session and goes through.
    valid.clear();
    valid.add("tok-newer");
    await chat.handoff();
    expect(chat.state.notice).toBeUndefined();
    expect(chat.state.status).toBe("pending_human");
    expect(storage.m.get("switchboard:dep1:visitor")).toBe("tok-newer");
    const handoffs = server.seen.filter((s) => s.url === "/widget/v1/handoff").map((s) => s.headers.authorization);
    expect(handoffs).toEqual(["Bearer tok-new", "Bearer tok-newer"]);
  });

  it("shows a readable notice and marks the message when sending fails", async () => {
    server = await loopback((req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      if (req.url.endsWith("/sessions")) return json(res, 201, { visitor_token: "t", conversation_id: "c", status: "ai" });
      if (req.url === "/widget/v1/messages") return json(res, 429, { status: 429, title: "Too Many Requests" }, "application/problem+json");
      if (req.url === "/widget/v1/conversation") return json(res, 200, { id: "c", status: "ai", messages: [] });
      res.writeHead(200, { "content-type": "text/event-stream" });
    });
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage: undefined, identity: {} });
    await chat.start();
    await chat.send("hello");
    expect(chat.state.notice).toMatch(/too fast/);
    expect(chat.state.messages[0]!.failed).toBe(true);
    expect(chat.state.busy).toBe(false);
  });

  it("sends an attachment as the visitor's message and shows it from the conversation, ignoring malformed citations", async () => {
    const attached = { id: "a1", name: "receipt.pdf", size: 2048, content_type: "application/pdf", url: "/widget/v1/attachments/a1" };
    let uploaded = false;
    server = await loopback((req, res) => {
      if (req.url.endsWith("/config")) return json(res, 200, config);
      if (req.url.endsWith("/sessions")) return json(res, 201, { visitor_token: "t", conversation_id: "c", status: "ai" });
      if (req.url === "/widget/v1/attachments") {
        expect(req.headers["content-type"]).toMatch(/^multipart\/form-data/);
        expect(req.body).toContain('name="file"; filename="receipt.pdf"');
        uploaded = true;
        return json(res, 201, attached);
      }
      if (req.url === "/widget/v1/conversation") {
        const messages = uploaded
          ? [
              { id: "m1", role: "customer", text: "📎 receipt.pdf", created_at: "", citations: [], attachment: attached },
              { id: "m2", role: "assistant", text: "ok", created_at: "", citations: [{ number: "x" }, null, { number: 2, title: "FAQ" }] },
            ]
          : [];
        return json(res, 200, { id: "c", status: "ai", messages });
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
    });
    chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage: undefined, identity: {} });
    await chat.start();
    await chat.attach(new File([new Uint8Array([37, 80, 68, 70])], "receipt.pdf", { type: "application/pdf" }));
    expect(chat.state.messages[0]!.attachment).toEqual({ name: "receipt.pdf", size: 2048, content_type: "application/pdf", url: "/widget/v1/attachments/a1" });
    expect(chat.state.messages[1]!.citations).toEqual([{ number: 2, title: "FAQ", url: null, heading_path: "" }]);
    expect(chat.state.busy).toBe(false);
  });
});
