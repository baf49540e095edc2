// The agent editor's "AI model" section: off (the built-in extractive
// answerer) or an OpenAI-compatible Chat Completions endpoint, with an
// optional fallback endpoint. The form keeps every number as the text typed,
// so an empty box means "the server's default" rather than 0.

import type { ResponseOf } from "../../api";
import { SecretPicker, type SecretList } from "./Secrets";
import { Field } from "../ui";

type Config = ResponseOf<"/v1/agents/{id}/versions/{version}", "get">["config"];
export type LlmSettings = NonNullable<Config["llm"]>;
type LlmEndpoint = NonNullable<LlmSettings["fallback"]>;

export interface EndpointForm {
  provider: string;
  base_url: string;
  model: string;
  /** The name of the organization's secret with the API key; "" for none. */
  api_key_secret: string;
  temperature: string;
  max_tokens: string;
}

export interface LlmForm {
  enabled: boolean;
  primary: EndpointForm;
  token_budget: string;
  /** Kept while switched off, so switching back restores what was typed. */
  fallback_enabled: boolean;
  fallback: EndpointForm;
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));

function endpointForm(e: Partial<LlmEndpoint> | null | undefined): EndpointForm {
  return {
    provider: e?.provider ?? "openai",
    base_url: e?.base_url ?? "",
    model: e?.model ?? "",
    api_key_secret: e?.api_key_secret ?? "",
    temperature: num(e?.temperature),
    max_tokens: num(e?.max_tokens),
  };
}

/** The form's state for an agent's settings (none: the extractive answerer). */
export function llmForm(s: LlmSettings | null | undefined): LlmForm {
  return {
    enabled: !!s,
    primary: endpointForm(s),
    token_budget: num(s?.token_budget),
    fallback_enabled: !!s?.fallback,
    fallback: endpointForm(s?.fallback),
  };
}

/** A number typed in a box, or undefined (left out of the JSON) when empty. */
function parsed(v: string): number | undefined {
  return v.trim() === "" ? undefined : Number(v);
}

function endpoint(f: EndpointForm): LlmEndpoint {
  const e: LlmEndpoint = { provider: f.provider || "openai", base_url: f.base_url.trim(), model: f.model.trim() };
  if (f.api_key_secret) e.api_key_secret = f.api_key_secret;
  const temperature = parsed(f.temperature);
  if (temperature !== undefined) e.temperature = temperature;
  const maxTokens = parsed(f.max_tokens);
  if (maxTokens !== undefined) e.max_tokens = maxTokens;
  return e;
}

/** What the form means for `llm` in the agent's configuration: null turns the model off. */
export function llmSettings(f: LlmForm): LlmSettings | null {
  if (!f.enabled) return null;
  const s: LlmSettings = endpoint(f.primary);
  const budget = parsed(f.token_budget);
  if (budget !== undefined) s.token_budget = budget;
  if (f.fallback_enabled) s.fallback = endpoint(f.fallback);
  return s;
}

/**
 * The field a server message names first, e.g. "llm.base_url" for
 * "`llm.base_url` must be an http(s) URL ..." or "tools.http[0].url", so the
 * section can show the message next to the box it is about.
 */
export function fieldOf(message: string | undefined): string | undefined {
  return message?.match(/`([a-z_]+(?:\[\d+\]|\.[a-z_0-9]+)*)`/)?.[1];
}

interface Props {
  value: LlmForm;
  /** Changes are given as functions of the current state, so quick successive edits all count. */
  onChange: (change: (f: LlmForm) => LlmForm) => void;
  secrets: SecretList;
  /** A server message about a field under `llm`, shown in this section. */
  error?: string | undefined;
}

export function ModelSection({ value: f, onChange, secrets, error }: Props) {
  const field = fieldOf(error);
  return (
    <fieldset aria-describedby="llm-about">
      <legend>AI model</legend>
      <p id="llm-about" class="muted small">
        Without a model the built-in answerer replies with sentences quoted from the knowledge. A model writes answers in
        its own words from the same passages, with citations.
      </p>
      <div class="choices" role="radiogroup" aria-label="Who writes the answers">
        <label class="check">
          <input type="radio" name="llm-mode" checked={!f.enabled} onChange={() => onChange((f) => ({ ...f, enabled: false }))} /> Built-in
          answerer (no model)
        </label>
        <label class="check">
          <input type="radio" name="llm-mode" checked={f.enabled} onChange={() => onChange((f) => ({ ...f, enabled: true }))} /> An
          OpenAI-compatible endpoint
        </label>
      </div>
      {f.enabled && (
        <>
          <EndpointFields
            at="llm"
            value={f.primary}
            onChange={(change) => onChange((f) => ({ ...f, primary: change(f.primary) }))}
            secrets={secrets}
            invalid={field}
            errorId="llm-error"
          />
          <Field label="Token budget" hint="The most prompt tokens a turn may send, 500 to 2000000; empty: the model's context window.">
            <input
              type="number"
              min={500}
              max={2000000}
              step={1}
              inputMode="numeric"
              value={f.token_budget}
              aria-invalid={field === "llm.token_budget" || undefined}
              aria-describedby={field === "llm.token_budget" ? "llm-error" : undefined}
              onInput={(e) => {
                const token_budget = e.currentTarget.value;
                onChange((f) => ({ ...f, token_budget }));
              }}
            />
          </Field>
          <label class="check">
            <input
              type="checkbox"
              checked={f.fallback_enabled}
              onChange={(e) => {
                const fallback_enabled = e.currentTarget.checked;
                onChange((f) => ({ ...f, fallback_enabled }));
              }}
            />{" "}
            Use a fallback endpoint when this one fails
          </label>
          {f.fallback_enabled && (
            <fieldset>
              <legend>Fallback endpoint</legend>
              <EndpointFields
                at="llm.fallback"
                value={f.fallback}
                onChange={(change) => onChange((f) => ({ ...f, fallback: change(f.fallback) }))}
                secrets={secrets}
                invalid={field}
                errorId="llm-error"
              />
            </fieldset>
          )}
        </>
      )}
      {error && (
        <p id="llm-error" class="error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

function EndpointFields(props: {
  at: string;
  value: EndpointForm;
  onChange: (change: (e: EndpointForm) => EndpointForm) => void;
  secrets: SecretList;
  invalid: string | undefined;
  errorId: string;
}) {
  const { at, value: e } = props;
  const put = (patch: Partial<EndpointForm>) => props.onChange((old) => ({ ...old, ...patch }));
  const fallback = at !== "llm";
  const mark = (name: string) =>
    props.invalid === `${at}.${name}` ? { "aria-invalid": true, "aria-describedby": props.errorId } : {};
  return (
    <>
      <div class="grid2">
        <Field
          label={fallback ? "Fallback base URL" : "Base URL"}
          hint="Scheme, host and path prefix, e.g. https://api.openai.com/v1"
        >
          <input
            type="url"
            required
            maxLength={2048}
            placeholder="https://api.openai.com/v1"
            value={e.base_url}
            {...mark("base_url")}
            onInput={(ev) => put({ base_url: ev.currentTarget.value })}
          />
        </Field>
        <Field label={fallback ? "Fallback model" : "Model"} hint="As the endpoint names it, e.g. gpt-4o-mini.">
          <input
            required
            maxLength={200}
            value={e.model}
            {...mark("model")}
            onInput={(ev) => put({ model: ev.currentTarget.value })}
          />
        </Field>
      </div>
      <SecretPicker
        label={fallback ? "Fallback API key" : "API key"}
        value={e.api_key_secret}
        onChange={(name) => put({ api_key_secret: name })}
        secrets={props.secrets}
        none="No key (the server needs none)"
        invalid={props.invalid === `${at}.api_key_secret`}
        errorId={props.errorId}
      />
      <div class="grid2">
        <Field label={fallback ? "Fallback temperature" : "Temperature"} hint="0 to 2; empty: the provider's default.">
          <input
            type="number"
            min={0}
            max={2}
            step={0.1}
            inputMode="decimal"
            value={e.temperature}
            {...mark("temperature")}
            onInput={(ev) => put({ temperature: ev.currentTarget.value })}
          />
        </Field>
        <Field label={fallback ? "Fallback max tokens" : "Max tokens"} hint="The longest reply, 1 to 100000; empty: 1024.">
          <input
            type="number"
            min={1}
            max={100000}
            step={1}
            inputMode="numeric"
            value={e.max_tokens}
            {...mark("max_tokens")}
            onInput={(ev) => put({ max_tokens: ev.currentTarget.value })}
          />
        </Field>
      </div>
    </>
  );
}
