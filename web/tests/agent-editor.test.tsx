// @vitest-environment jsdom
// The agent editor's AI model section, rendered with Preact into jsdom and
// talking to a loopback server in the API's wire format: what it sends on
// save, and how it shows the server's refusal.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ResponseOf } from "../src/api";
import { json, loopback, problem, type Handler } from "./fixtures/loopback";

// The dashboard's client talks to its own origin; here that origin is the loopback server.
const target = vi.hoisted(() => ({ base: "" }));
vi.mock("../src/app/api", async (importOriginal) =>
  (await import("./fixtures/dashboard")).forwardingApi(await importOriginal(), target),
);

const { Editor } = await import("../src/app/pages/AgentEditor");
const { llmForm, llmSettings } = await import("../src/app/pages/AgentModel");
const { schemaError, toolsForm, toolsSettings, unknownPlaceholders } = await import("../src/app/pages/AgentTools");

type Version = ResponseOf<"/v1/agents/{id}/versions/{version}", "get">;
type Agent = ResponseOf<"/v1/agents/{id}", "get">;

const agent = { id: "a1", name: "Helper", version: 1, latest_version: 1, config: null, created_at: "", updated_at: "" } as unknown as Agent;
const config: Version["config"] = {
  name: "Helper",
  collection_ids: ["c1"],
  persona: "Friendly",
  instructions: "",
  language: { reply: "customer", default: "en" },
  guardrails: { forbidden_strings: [], blocked_topics: [], min_confidence: null },
  escalation: { on_request: true, on_abstain: false, priority: "normal" },
  intents: [],
  autonomy: { default: "auto", topics: {} },
  knowledge: { pin_to_release: false, top_k: 6 },
};
const version = (c: Version["config"]): Version =>
  ({ agent_id: "a1", version: 1, live: true, state: "released", config: c, created_at: "", released_at: "" }) as Version;

let server: Awaited<ReturnType<typeof loopback>>;
let root: HTMLDivElement;
let secrets: string[];
let onPatch: Handler;

beforeEach(async () => {
  secrets = ["openai-key", "backup-key"];
  onPatch = (req, res) => json(res, 200, { ...version(JSON.parse(req.body) as Version["config"]), version: 2, live: false, state: "draft" });
  server = await loopback((req, res) => {
    if (req.url.startsWith("/v1/collections")) return json(res, 200, { collections: [{ id: "c1", name: "Help" }], next_cursor: null });
    if (req.url.startsWith("/v1/secrets") && req.method === "GET") {
      const list = secrets.map((name, i) => ({ id: `s${i}`, name, created_by: null, created_at: "", updated_at: "" }));
      return json(res, 200, { secrets: list, next_cursor: null });
    }
    if (req.url === "/v1/secrets" && req.method === "POST") {
      const { name } = JSON.parse(req.body) as { name: string };
      secrets.push(name);
      return json(res, 201, { id: "s9", name, created_by: null, created_at: "", updated_at: "" });
    }
    if (req.url === "/v1/agents/a1" && req.method === "PATCH") return onPatch(req, res);
    json(res, 404, {});
  });
  target.base = server.base;
  // jsdom has no modal dialogs; open them as plain dialogs.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false;
  };
  root = document.createElement("div");
  document.body.appendChild(root);
});

afterEach(async () => {
  render(null, root);
  root.remove();
  await server.close();
});

/** The form control labelled `label` (the labels wrap their controls). */
function control<T extends HTMLElement = HTMLInputElement>(label: string, within: ParentNode = root): T {
  for (const l of within.querySelectorAll("label")) {
    const text = (l.querySelector(".label")?.textContent ?? l.textContent ?? "").trim();
    if (text === label) return l.querySelector("input, select, textarea") as T;
  }
  throw new Error(`no control labelled ${label}`);
}

function type(label: string, value: string, within?: ParentNode) {
  const el = control(label, within);
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

async function choose(label: string, value: string) {
  const el = control<HTMLSelectElement>(label);
  // The options come from the server (the organization's secrets): wait until this one is there.
  await vi.waitFor(() => expect([...el.options].map((o) => o.value)).toContain(value));
  el.value = value;
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

// Flushes Preact's pending renders and effects after an event.
const settle = () => act(async () => {});

async function mount(c: Version["config"]) {
  render(<Editor agent={agent} base={version(c)} onSaved={() => {}} />, root);
  // The collections and the secrets are listed before anything is picked.
  await vi.waitFor(() => expect(root.textContent).toContain("Help"));
  await vi.waitFor(() => expect(server.seen.some((s) => s.url.startsWith("/v1/secrets"))).toBe(true));
}

const aiModel = () => [...root.querySelectorAll("fieldset")].find((f) => f.querySelector("legend")?.textContent === "AI model")!;

async function save() {
  root.querySelector<HTMLFormElement>("form.editor")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await vi.waitFor(() => expect(server.seen.some((s) => s.method === "PATCH")).toBe(true));
  return JSON.parse(server.seen.find((s) => s.method === "PATCH")!.body) as Record<string, unknown>;
}

describe("the agent editor's AI model", () => {
  it("is off by default: the built-in answerer, and saving sends llm null", async () => {
    await mount(config);
    const [builtIn, endpoint] = aiModel().querySelectorAll<HTMLInputElement>("input[type=radio]");
    expect(builtIn!.checked).toBe(true);
    expect(endpoint!.checked).toBe(false);
    expect(aiModel().querySelector("input[type=url]")).toBeNull();
    const body = await save();
    expect(body.llm).toBeNull();
    expect(body.persona).toBe("Friendly");
    expect(body.collection_ids).toEqual(["c1"]);
  });

  it("builds the endpoint, the fallback and the budget from the form", async () => {
    await mount(config);
    control("An OpenAI-compatible endpoint").click();
    await settle();
    type("Base URL", " https://api.openai.com/v1 ");
    type("Model", "gpt-4o-mini");
    await choose("API key", "openai-key");
    type("Temperature", "0.3");
    type("Max tokens", "500");
    type("Token budget", "4000");
    control("Use a fallback endpoint when this one fails").click();
    await settle();
    type("Fallback base URL", "http://ollama.internal:11434/v1");
    type("Fallback model", "llama3.1");
    await settle();
    const body = await save();
    expect(body.llm).toEqual({
      provider: "openai",
      base_url: "https://api.openai.com/v1",
      model: "gpt-4o-mini",
      api_key_secret: "openai-key",
      temperature: 0.3,
      max_tokens: 500,
      token_budget: 4000,
      fallback: { provider: "openai", base_url: "http://ollama.internal:11434/v1", model: "llama3.1" },
    });
    await vi.waitFor(() => expect(root.querySelector("[role=status]")?.textContent).toContain("draft version 2"));
  });

  it("shows the stored settings and turns the model off with llm null", async () => {
    await mount({ ...config, llm: { provider: "openai", base_url: "https://llm.example/v1", model: "m", api_key_secret: "backup-key" } });
    expect(control("Base URL").value).toBe("https://llm.example/v1");
    // The stored secret is selected once the organization's secrets have loaded.
    await vi.waitFor(() => expect(control<HTMLSelectElement>("API key").value).toBe("backup-key"));
    expect(control("Temperature").value).toBe("");
    control("Built-in answerer (no model)").click();
    await settle();
    expect((await save()).llm).toBeNull();
  });

  it("shows the server's refusal next to the field it names", async () => {
    onPatch = (_req, res) => problem(res, 422, "`llm.base_url` must be an http(s) URL without credentials, query or fragment");
    await mount({ ...config, llm: { provider: "openai", base_url: "https://user:pw@llm.example/v1", model: "m" } });
    await save();
    await vi.waitFor(() => expect(aiModel().querySelector("[role=alert]")?.textContent).toContain("`llm.base_url` must be an http(s) URL"));
    const url = control("Base URL");
    expect(url.getAttribute("aria-invalid")).toBe("true");
    expect(url.getAttribute("aria-describedby")).toBe("llm-error");
    expect(root.querySelector("#llm-error")?.textContent).toContain("without credentials");
    // Shown once, in the section, not again under the form.
    expect(root.querySelectorAll("[role=alert]")).toHaveLength(1);
  });

  it("shows other refusals under the form", async () => {
    onPatch = (_req, res) => problem(res, 409, "nothing changed: the newest version already has this configuration");
    await mount(config);
    await save();
    await vi.waitFor(() => expect(root.querySelector("form.editor > [role=alert]")?.textContent).toContain("nothing changed"));
    expect(aiModel().querySelector("[role=alert]")).toBeNull();
  });

  it("adds a secret without leaving the form and picks it", async () => {
    await mount(config);
    control("An OpenAI-compatible endpoint").click();
    await settle();
    type("Model", "typed before");
    const picker = control<HTMLSelectElement>("API key").closest(".secret-picker")!;
    [...picker.querySelectorAll("button")].find((b) => b.textContent?.startsWith("New secret"))!.click();
    const dialog = picker.querySelector("dialog")!;
    await vi.waitFor(() => expect(dialog.open).toBe(true));
    type("Secret name", "new-key", dialog);
    type("Secret value", "sk-test", dialog);
    await settle();
    dialog.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await vi.waitFor(() => expect(control<HTMLSelectElement>("API key").value).toBe("new-key"));
    const post = server.seen.find((s) => s.method === "POST" && s.url === "/v1/secrets")!;
    expect(JSON.parse(post.body)).toEqual({ name: "new-key", value: "sk-test" });
    // The editor's own form was not submitted, and what was typed is still there.
    expect(server.seen.some((s) => s.method === "PATCH")).toBe(false);
    expect(control("Model").value).toBe("typed before");
  });
});

describe("llmForm and llmSettings", () => {
  it("round-trip every field", () => {
    const s = {
      provider: "openai",
      base_url: "https://a.example/v1",
      model: "m",
      api_key_secret: "k",
      temperature: 0,
      max_tokens: 1,
      token_budget: 500,
      fallback: { provider: "openai", base_url: "https://b.example/v1", model: "n", temperature: 2, max_tokens: 100000 },
    };
    expect(llmSettings(llmForm(s))).toEqual(s);
    expect(llmSettings(llmForm(null))).toBeNull();
  });

  it("leaves empty numbers out and keeps a switched-off fallback out of the JSON", () => {
    const f = llmForm({ provider: "openai", base_url: "https://a.example/v1", model: "m", fallback: { provider: "openai", base_url: "https://b.example/v1", model: "n" } });
    expect(llmSettings({ ...f, fallback_enabled: false })).toEqual({ provider: "openai", base_url: "https://a.example/v1", model: "m" });
  });
});

const tools = () => [...root.querySelectorAll("fieldset")].find((f) => f.querySelector("legend")?.textContent === "Tools")!;
const button = (name: string, within: ParentNode = root) =>
  [...within.querySelectorAll("button")].find((b) => b.textContent?.trim() === name) ?? (() => { throw new Error(`no button ${name}`); })();

describe("the agent editor's tools", () => {
  const orderStatus = {
    name: "order_status",
    description: "Looks up an order",
    parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
    method: "GET" as const,
    url: "https://shop.example/api/orders/{order_id}",
    headers: [{ name: "Authorization", value: "Bearer {secret}", secret: "openai-key" }],
    side_effects: false,
    timeout_secs: 10,
  };

  it("sends create_ticket and the stored tools unchanged when nothing is edited", async () => {
    await mount({ ...config, tools: { create_ticket: false, http: [orderStatus] } } as unknown as Version["config"]);
    expect(control("Let it open a support ticket for the customer").checked).toBe(false);
    const body = await save();
    expect(body.tools).toEqual({ create_ticket: false, http: [orderStatus] });
  });

  it("adds an HTTP tool with a header that uses a secret, and removes another", async () => {
    await mount({ ...config, tools: { http: [orderStatus] } } as unknown as Version["config"]);
    expect(control("Let it open a support ticket for the customer").checked).toBe(true);
    button("Remove order_status").click();
    await settle();
    button("Add HTTP tool").click();
    await settle();
    const t = [...tools().querySelectorAll("fieldset.tool")].at(-1)!;
    // The new tool's name box has the focus, for the keyboard.
    await vi.waitFor(() => expect(document.activeElement).toBe(control("Tool name", t)));
    type("Tool name", "refund", t);
    type("Description", "Refunds an order", t);
    control<HTMLSelectElement>("Method", t).value = "POST";
    control<HTMLSelectElement>("Method", t).dispatchEvent(new Event("change", { bubbles: true }));
    type("URL", "https://shop.example/api/orders/{order_id}/refund", t);
    type("Parameters (JSON schema)", '{"type":"object","properties":{"order_id":{"type":"string"}}}', t);
    type("Timeout (seconds)", "5", t);
    await settle();
    // Until someone chooses, a call that is no GET waits for a person.
    expect(control("It changes something (each call waits for a person's approval)", t).checked).toBe(true);
    button("Add header", t).click();
    await settle();
    type("Header name", "X-Api-Key", t);
    const secret = control<HTMLSelectElement>("Header secret", t);
    await vi.waitFor(() => expect([...secret.options].map((o) => o.value)).toContain("backup-key"));
    secret.value = "backup-key";
    secret.dispatchEvent(new Event("change", { bubbles: true }));
    await settle();
    expect(control("Header value", t).value).toBe("{secret}");
    const body = await save();
    expect(body.tools).toEqual({
      create_ticket: true,
      http: [
        {
          name: "refund",
          description: "Refunds an order",
          parameters: { type: "object", properties: { order_id: { type: "string" } } },
          method: "POST",
          url: "https://shop.example/api/orders/{order_id}/refund",
          headers: [{ name: "X-Api-Key", value: "{secret}", secret: "backup-key" }],
          timeout_secs: 5,
        },
      ],
    });
  });

  it("does not save parameters that are not a JSON object, and says why at the box", async () => {
    await mount({ ...config, tools: { http: [orderStatus] } } as unknown as Version["config"]);
    const schema = control<HTMLTextAreaElement>("Parameters (JSON schema)", tools());
    type("Parameters (JSON schema)", '{"type": "object",', tools());
    await settle();
    expect(schema.getAttribute("aria-invalid")).toBe("true");
    const note = root.querySelector(`#${schema.getAttribute("aria-describedby")}`)!;
    expect(note.textContent).toContain("Not valid JSON");
    root.querySelector<HTMLFormElement>("form.editor")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await settle();
    expect(document.activeElement).toBe(schema);
    expect(server.seen.some((s) => s.method === "PATCH")).toBe(false);
    type("Parameters (JSON schema)", "[1, 2]", tools());
    await settle();
    expect(root.querySelector(`#${schema.getAttribute("aria-describedby")}`)?.textContent).toContain("must be a JSON object");
  });

  it("shows the server's refusal about a tool in the Tools section", async () => {
    onPatch = (_req, res) => problem(res, 422, "`tools.http[0].url` uses `{order}`, which `parameters` does not define");
    await mount({ ...config, tools: { http: [orderStatus] } } as unknown as Version["config"]);
    await save();
    await vi.waitFor(() => expect(tools().querySelector("[role=alert]")?.textContent).toContain("which `parameters` does not define"));
    expect(root.querySelectorAll("[role=alert]")).toHaveLength(1);
    const url = control("URL", tools());
    expect(url.getAttribute("aria-invalid")).toBe("true");
    expect(url.getAttribute("aria-describedby")).toBe("tools-error");
  });
});

describe("tool helpers", () => {
  it("check the parameters and the URL's placeholders", () => {
    expect(schemaError('{"type":"object"}')).toBeUndefined();
    expect(schemaError("null")).toContain("JSON object");
    expect(schemaError("{")).toContain("Not valid JSON");
    expect(unknownPlaceholders("https://x.example/{a}?q={b}", '{"properties":{"a":{}}}')).toEqual(["b"]);
  });

  it("round-trip the stored tools", () => {
    const t = { create_ticket: true, http: [{ name: "a", description: "d", parameters: { type: "object" }, method: "DELETE" as const, url: "https://x.example/{id}", headers: [], side_effects: true }] };
    expect(toolsSettings(toolsForm(t as unknown as Parameters<typeof toolsForm>[0]))).toEqual(t);
    expect(toolsSettings(toolsForm(undefined))).toEqual({ create_ticket: true, http: [] });
    // side_effects left unset stays unset (the server's default), unless someone ticks or unticks it.
    const unset = toolsForm({ http: [{ name: "b", description: "d", parameters: {}, method: "POST", url: "https://x.example/" }] });
    expect(unset.http[0]!.side_effects).toBe(true);
    expect(toolsSettings(unset).http![0]).not.toHaveProperty("side_effects");
    unset.http[0] = { ...unset.http[0]!, side_effects: false, side_effects_chosen: true };
    expect(toolsSettings(unset).http![0]!.side_effects).toBe(false);
  });
});

describe("the agent editor's link hosts", () => {
  it("keeps the stored hosts on save and sends the edited ones", async () => {
    await mount({ ...config, guardrails: { ...config.guardrails, link_hosts: ["shop.example"] } });
    expect(control<HTMLTextAreaElement>("Link hosts").value).toBe("shop.example");
    type("Link hosts", "shop.example\n*.shop.example\n");
    await settle();
    const body = await save();
    expect((body.guardrails as { link_hosts: string[] }).link_hosts).toEqual(["shop.example", "*.shop.example"]);
  });
});

describe("the agent editor's knowledge language", () => {
  it("shows English for a configuration that does not say, and sends the one typed", async () => {
    await mount(config);
    expect(control("Knowledge language").value).toBe("en");
    type("Knowledge language", "DE");
    await settle();
    const body = await save();
    expect(body.knowledge).toEqual({ pin_to_release: false, top_k: 6, language: "de" });
  });
});
