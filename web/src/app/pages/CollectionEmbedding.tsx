// A collection's embedding model: the local all-MiniLM-L6-v2 or an
// OpenAI-compatible Embeddings endpoint (OpenAI, Azure, Ollama, vLLM, …).
// Changing the model re-embeds every chunk in the background; the panel shows
// how many are left and checks again until none is.

import { useEffect, useState } from "preact/hooks";
import type { BodyOf, ResponseOf } from "../../api";
import { api, ok } from "../api";
import { SecretPicker, useSecrets } from "./Secrets";
import { ErrorNote, Field, useAction } from "../ui";

type Collection = ResponseOf<"/v1/collections/{id}", "get">;
type EmbeddingBody = NonNullable<BodyOf<"/v1/collections/{id}", "patch">["embedding"]>;

export interface EmbeddingForm {
  provider: "local" | "openai";
  base_url: string;
  model: string;
  api_key_secret: string;
  /** Typed text; empty means "the model's own size". */
  dimensions: string;
}

export function embeddingForm(c: Collection): EmbeddingForm {
  const e = c.embedding;
  return e.provider === "openai"
    ? { provider: "openai", base_url: e.base_url ?? "", model: e.model, api_key_secret: e.api_key_secret ?? "", dimensions: "" }
    : { provider: "local", base_url: "", model: "", api_key_secret: "", dimensions: "" };
}

/** The request body for the form; a remote model's empty fields are left out. */
export function embeddingBody(f: EmbeddingForm): EmbeddingBody {
  if (f.provider === "local") return { provider: "local" };
  const body: EmbeddingBody = { provider: "openai", base_url: f.base_url.trim(), model: f.model.trim() };
  if (f.api_key_secret) body.api_key_secret = f.api_key_secret;
  if (f.dimensions.trim() !== "") body.dimensions = Number(f.dimensions);
  return body;
}

/** How often the panel looks again while vectors are being computed. */
const PENDING_POLL_MS = 3000;

export function EmbeddingPanel(props: { collection: Collection; onChanged: (c: Collection) => void; pollMs?: number }) {
  const c = props.collection;
  const [form, setForm] = useState<EmbeddingForm>(() => embeddingForm(c));
  const [saved, setSaved] = useState<string>();
  const secrets = useSecrets();
  const save = useAction();
  const set = (patch: Partial<EmbeddingForm>) => setForm((f) => ({ ...f, ...patch }));

  // While vectors are pending, look again now and then.
  useEffect(() => {
    if (c.vectors_pending === 0) return;
    const timer = setTimeout(() => {
      void api.GET("/v1/collections/{id}", { params: { path: { id: c.id } } }).then((r) => {
        if (r.data) props.onChanged(r.data);
      });
    }, props.pollMs ?? PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [c]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(undefined);
    const updated = await save.run(async () =>
      ok(await api.PATCH("/v1/collections/{id}", { params: { path: { id: c.id } }, body: { embedding: embeddingBody(form) } })),
    );
    if (updated) {
      props.onChanged(updated);
      setSaved(
        updated.vectors_pending > 0
          ? `Saved: ${updated.vectors_pending} chunks are being embedded again with ${updated.embedding_model}.`
          : `Saved: ${updated.embedding_model}.`,
      );
    }
  };

  return (
    <section class="embedding" aria-label="Embedding model">
      <p>
        Vectors come from <strong>{c.embedding_model}</strong> ({c.embedding_dim} dimensions)
        {c.embedding.base_url ? ` at ${c.embedding.base_url}` : ", run in the server"}.{" "}
        <span role="status">
          {c.vectors_pending > 0
            ? `${c.vectors_pending} chunks are waiting for their vectors; full-text search works meanwhile.`
            : "Every chunk has its vector."}
        </span>
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <Field label="Provider">
          <select value={form.provider} onChange={(e) => set({ provider: e.currentTarget.value as EmbeddingForm["provider"] })}>
            <option value="local">Local: all-MiniLM-L6-v2 (English)</option>
            <option value="openai">OpenAI-compatible endpoint</option>
          </select>
        </Field>
        {form.provider === "openai" && (
          <>
            <Field label="Base URL" hint="For example https://api.openai.com/v1 or http://localhost:11434/v1; /embeddings is added.">
              <input required type="url" value={form.base_url} onInput={(e) => set({ base_url: e.currentTarget.value })} />
            </Field>
            <Field label="Model" hint="As the endpoint names it, e.g. text-embedding-3-small.">
              <input required maxLength={200} value={form.model} onInput={(e) => set({ model: e.currentTarget.value })} />
            </Field>
            <SecretPicker
              label="API key"
              value={form.api_key_secret}
              onChange={(name) => set({ api_key_secret: name })}
              secrets={secrets}
              none="No key"
            />
            <Field label="Dimensions" hint="Only for models that can shorten their vectors; empty: the model's own size.">
              <input
                type="number"
                min={1}
                max={4096}
                value={form.dimensions}
                onInput={(e) => set({ dimensions: e.currentTarget.value })}
              />
            </Field>
          </>
        )}
        <p class="hint">
          A different model computes every chunk's vector again in the background. The endpoint is checked with one test
          sentence before anything changes.
        </p>
        <ErrorNote error={save.error} />
        {saved && <p role="status">{saved}</p>}
        <button type="submit" disabled={save.busy}>
          {save.busy ? "Checking…" : "Save embedding model"}
        </button>
      </form>
    </section>
  );
}
