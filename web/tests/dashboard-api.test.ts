import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { makeClient, ok, setCsrf, whenUnauthorized } from "../src/app/api";
import { json, loopback, problem } from "./fixtures/loopback";

let server: Awaited<ReturnType<typeof loopback>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  setCsrf(undefined);
});

describe("the dashboard's client", () => {
  it("echoes the CSRF token on unsafe methods only", async () => {
    server = await loopback((req, res) => {
      if (req.method === "GET") return json(res, 200, { collections: [], next_cursor: null });
      json(res, 201, { id: "c1", name: "Help", description: "", embedding_model: "m", embedding_dim: 384, created_at: "", updated_at: "" });
    });
    setCsrf("csrf-123");
    const api = makeClient(server.base);
    ok(await api.GET("/v1/collections"));
    const created = ok(await api.POST("/v1/collections", { body: { name: "Help" } }));
    expect(created.id).toBe("c1");
    expect(server.seen[0]!.headers["x-csrf-token"]).toBeUndefined();
    expect(server.seen[1]!.headers["x-csrf-token"]).toBe("csrf-123");
    expect(JSON.parse(server.seen[1]!.body)).toEqual({ name: "Help" });
  });

  it("turns problem+json into ApiError and reports a lost session", async () => {
    server = await loopback((req, res) => {
      if (req.url.startsWith("/v1/me")) return problem(res, 401, "log in first");
      problem(res, 422, "`name` must not be empty");
    });
    let lost = 0;
    whenUnauthorized(() => lost++);
    const api = makeClient(server.base);
    const e = await api.POST("/v1/collections", { body: { name: "" } }).then(ok, (x: unknown) => x).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(422);
    expect((e as ApiError).message).toBe("`name` must not be empty");
    expect(lost).toBe(0);
    await api.GET("/v1/me").then(ok).catch(() => undefined);
    expect(lost).toBe(1);
  });
});
