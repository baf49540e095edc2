// @vitest-environment jsdom
// A collection's Embedding tab against a loopback server: switching to an
// OpenAI-compatible endpoint sends the settings the API expects, shows how
// many chunks are being embedded again and follows that count down to zero;
// the API's refusal is shown as it was given.
import { render } from "preact";
import { useState } from "preact/hooks";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, loopback } from "./fixtures/loopback";

const target = vi.hoisted(() => ({ base: "" }));
vi.mock("../src/app/api", async (importOriginal) =>
  (await import("./fixtures/dashboard")).forwardingApi(await importOriginal(), target),
);

const { EmbeddingPanel, embeddingBody } = await import("../src/app/pages/CollectionEmbedding");
type Collection = Parameters<typeof EmbeddingPanel>[0]["collection"];

const local: Collection = {
  id: "c1",
  name: "Help",
  description: "",
  embedding_model: "local:all-MiniLM-L6-v2",
  embedding_dim: 384,
  embedding: { provider: "local", model: "all-MiniLM-L6-v2", dimensions: 384 },
  vectors_pending: 0,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
};
const remote: Collection = {
  ...local,
  embedding_model: "openai:text-embedding-3-small",
  embedding_dim: 512,
  embedding: {
    provider: "openai",
    model: "text-embedding-3-small",
    dimensions: 512,
    base_url: "https://api.openai.com/v1",
    api_key_secret: "openai",
  },
};

let server: Awaited<ReturnType<typeof loopback>>;
let root: HTMLDivElement;
let pending: number[];

beforeEach(async () => {
  pending = [];
  server = await loopback((req, res) => {
    if (req.method === "GET" && req.url.startsWith("/v1/secrets")) {
      return json(res, 200, { secrets: [{ id: "s1", name: "openai", created_at: "2026-01-01T00:00:00Z" }], next_cursor: null });
    }
    if (req.method === "PATCH" && req.url === "/v1/collections/c1") {
      const body = JSON.parse(req.body);
      if (body.embedding.model === "nope") {
        return json(res, 422, { type: "urn:switchboard:problem:invalid-request", title: "Invalid request", status: 422,
          detail: "the embeddings endpoint https://api.openai.com/v1/embeddings did not embed a test sentence: provider answered 401" },
          "application/problem+json");
      }
      pending = [3, 1, 0];
      return json(res, 200, { ...remote, vectors_pending: 3 });
    }
    if (req.method === "GET" && req.url === "/v1/collections/c1") {
      return json(res, 200, { ...remote, vectors_pending: pending.shift() ?? 0 });
    }
    json(res, 404, {});
  });
  target.base = server.base;
  root = document.createElement("div");
  document.body.appendChild(root);
});

afterEach(async () => {
  render(null, root);
  root.remove();
  await server.close();
});

function Holder() {
  const [c, setC] = useState(local);
  return <EmbeddingPanel collection={c} onChanged={setC} pollMs={20} />;
}

const field = <T extends HTMLElement>(label: string) => {
  const l = [...root.querySelectorAll("label")].find((x) => x.textContent?.startsWith(label));
  return l!.querySelector<T>("input, select")!;
};
const type = async (el: HTMLInputElement | HTMLSelectElement, value: string) => {
  el.value = value;
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  await act(async () => {});
};

describe("Embedding tab", () => {
  it("switches to an endpoint, then follows the re-embedding down to zero", async () => {
    render(<Holder />, root);
    expect(root.textContent).toContain("local:all-MiniLM-L6-v2");
    expect(root.textContent).toContain("Every chunk has its vector.");
    await type(field<HTMLSelectElement>("Provider"), "openai");
    await type(field<HTMLInputElement>("Base URL"), "https://api.openai.com/v1");
    await type(field<HTMLInputElement>("Model"), "text-embedding-3-small");
    await vi.waitFor(() => expect(field<HTMLSelectElement>("API key").querySelectorAll("option").length).toBeGreaterThan(1));
    await type(field<HTMLSelectElement>("API key"), "openai");
    await type(field<HTMLInputElement>("Dimensions"), "512");
    await act(async () => root.querySelector<HTMLButtonElement>("button[type=submit]")!.click());

    await vi.waitFor(() => expect(root.textContent).toContain("3 chunks are being embedded again with openai:text-embedding-3-small"));
    const patch = server.seen.find((s) => s.method === "PATCH")!;
    expect(JSON.parse(patch.body)).toEqual({
      embedding: {
        provider: "openai",
        base_url: "https://api.openai.com/v1",
        model: "text-embedding-3-small",
        api_key_secret: "openai",
        dimensions: 512,
      },
    });
    await vi.waitFor(() => expect(root.textContent).toContain("Every chunk has its vector."));
    expect(server.seen.filter((s) => s.method === "GET" && s.url === "/v1/collections/c1").length).toBeGreaterThanOrEqual(2);
  });

  it("shows the API's refusal and changes nothing", async () => {
    render(<Holder />, root);
    await type(field<HTMLSelectElement>("Provider"), "openai");
    await type(field<HTMLInputElement>("Base URL"), "https://api.openai.com/v1");
    await type(field<HTMLInputElement>("Model"), "nope");
    await act(async () => root.querySelector<HTMLButtonElement>("button[type=submit]")!.click());
    await vi.waitFor(() => expect(root.textContent).toContain("did not embed a test sentence: provider answered 401"));
    expect(root.textContent).toContain("local:all-MiniLM-L6-v2");
  });

  it("asks the local model with nothing else, and leaves empty optional fields out", () => {
    const form = { provider: "local" as const, base_url: "x", model: "y", api_key_secret: "z", dimensions: "3" };
    expect(embeddingBody(form)).toEqual({ provider: "local" });
    expect(embeddingBody({ ...form, provider: "openai", api_key_secret: "", dimensions: " " })).toEqual({
      provider: "openai",
      base_url: "x",
      model: "y",
    });
  });
});
