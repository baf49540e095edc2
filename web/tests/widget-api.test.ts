import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { WidgetApi } from "../src/widget/api";
import { json, loopback, problem } from "./fixtures/loopback";

let server: Awaited<ReturnType<typeof loopback>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const turn = {
  message_id: "m1",
  reply: { id: "r1", text: "Returns take 30 days [1].", citations: [{ number: 1, title: "Returns", url: null, heading_path: "Returns", snippet: "", document_id: "d", chunk_id: "c" }] },
  outcome: "answered",
  confidence: 0.8,
  status: "ai",
};

describe("WidgetApi", () => {
  it("sends the visitor token as a Bearer header and the deployment in the path", async () => {
    server = await loopback((req, res) => {
      if (req.url === "/widget/v1/deployments/dep1/sessions") return json(res, 201, { visitor_token: "tok", conversation_id: "c1", status: "ai" });
      json(res, 200, { id: "c1", status: "ai", messages: [] });
    });
    const api = new WidgetApi(server.base, "dep1");
    const s = await api.session({ name: "Ann" });
    api.token = s.visitor_token;
    await api.conversation();
    expect(server.seen[0]!.headers.authorization).toBeUndefined();
    expect(JSON.parse(server.seen[0]!.body)).toEqual({ name: "Ann" });
    expect(server.seen[1]!.headers.authorization).toBe("Bearer tok");
  });

  it("streams deltas, then returns the turn from the message event", async () => {
    server = await loopback(async (req, res) => {
      expect(req.headers.accept).toBe("text/event-stream");
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const t of ["Returns ", "take ", "30 days [1]."]) {
        res.write(`event: delta\ndata: ${JSON.stringify({ text: t })}\n\n`);
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end(`event: message\ndata: ${JSON.stringify(turn)}\n\n`);
    });
    const api = new WidgetApi(server.base, "dep1");
    api.token = "tok";
    const deltas: string[] = [];
    const got = await api.send("how long for returns?", { onDelta: (d) => deltas.push(d) });
    expect(deltas).toEqual(["Returns ", "take ", "30 days [1]."]);
    expect(got).toEqual(turn);
    expect(JSON.parse(server.seen[0]!.body)).toEqual({ text: "how long for returns?" });
  });

  it("accepts a JSON answer when the server does not stream", async () => {
    server = await loopback((_req, res) => json(res, 200, turn));
    const api = new WidgetApi(server.base, "dep1");
    expect(await api.send("hi", { onDelta: () => {} })).toEqual(turn);
  });

  it("turns problem+json refusals and stream error events into ApiError", async () => {
    server = await loopback((req, res) => {
      if (req.url.endsWith("/config")) return problem(res, 403, "origin not allowed");
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`event: error\ndata: ${JSON.stringify({ status: 409, detail: "busy" })}\n\n`);
    });
    const api = new WidgetApi(server.base, "dep1");
    const refused = await api.config().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(403);
    expect((refused as ApiError).message).toBe("origin not allowed");
    const failed = await api.send("x", { onDelta: () => {} }).catch((e: unknown) => e);
    expect((failed as ApiError).status).toBe(409);
  });

  it("reports a stream cut before its message event", async () => {
    server = await loopback((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`event: delta\ndata: {"text":"half"}\n\n`);
    });
    const api = new WidgetApi(server.base, "dep1");
    const failed = await api.send("x", { onDelta: () => {} }).catch((e: unknown) => e);
    expect((failed as ApiError).status).toBe(502);
  });
});
