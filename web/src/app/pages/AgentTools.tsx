// The agent editor's "Tools" section: whether the model may open tickets,
// and the organization's own HTTP tools. Each tool's parameters are a JSON
// schema typed as text; it is checked as JSON here, before saving, and the
// server checks the rest.

import { useEffect, useRef } from "preact/hooks";
import { Field } from "../ui";
import { fieldOf } from "./AgentModel";
import { SecretPicker, type SecretList } from "./Secrets";

import type { ResponseOf } from "../../api";

type Config = ResponseOf<"/v1/agents/{id}/versions/{version}", "get">["config"];
export type ToolsSetting = NonNullable<Config["tools"]>;
export type HttpToolSetting = NonNullable<ToolsSetting["http"]>[number];

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];

export interface HeaderForm {
  name: string;
  value: string;
  secret: string;
}

export interface HttpToolForm {
  /** Stable across edits, so removing a tool keeps focus and state with the others. */
  key: number;
  name: string;
  description: string;
  parameters: string;
  method: Method;
  url: string;
  headers: HeaderForm[];
  side_effects: boolean;
  /** Whether a person chose side_effects; until then it follows the method (every method but GET). */
  side_effects_chosen: boolean;
  timeout_secs: string;
}

export interface ToolsForm {
  create_ticket: boolean;
  http: HttpToolForm[];
}

let nextKey = 1;

const EMPTY_SCHEMA = `{
  "type": "object",
  "properties": {},
  "required": []
}`;

export function newTool(): HttpToolForm {
  return {
    key: nextKey++,
    name: "",
    description: "",
    parameters: EMPTY_SCHEMA,
    method: "GET",
    url: "",
    headers: [],
    side_effects: false,
    side_effects_chosen: false,
    timeout_secs: "",
  };
}

export function toolsForm(t: ToolsSetting | null | undefined): ToolsForm {
  return {
    create_ticket: t?.create_ticket ?? true,
    http: (t?.http ?? []).map((h) => {
      const method = (h.method ?? "GET").toUpperCase();
      return {
        key: nextKey++,
        name: h.name,
        description: h.description,
        parameters: JSON.stringify(h.parameters ?? { type: "object" }, null, 2),
        method: method as Method,
        url: h.url,
        headers: (h.headers ?? []).map((x) => ({ name: x.name, value: x.value ?? "{secret}", secret: x.secret ?? "" })),
        side_effects: h.side_effects ?? method !== "GET",
        side_effects_chosen: h.side_effects !== null && h.side_effects !== undefined,
        timeout_secs: h.timeout_secs === null || h.timeout_secs === undefined ? "" : String(h.timeout_secs),
      };
    }),
  };
}

/** Why a tool's parameters cannot be sent, or undefined when they are a JSON object. */
export function schemaError(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `Not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return "The parameters must be a JSON object (a JSON schema).";
  return undefined;
}

/** The `{name}` placeholders of a URL template that the parameters do not define. */
export function unknownPlaceholders(url: string, parameters: string): string[] {
  if (schemaError(parameters)) return [];
  const props = (JSON.parse(parameters) as { properties?: unknown }).properties;
  const known = props && typeof props === "object" ? Object.keys(props) : [];
  const used = [...url.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
  return [...new Set(used.filter((p) => !known.includes(p)))];
}

/** What the form means for `tools`; call only when no tool has a schemaError. */
export function toolsSettings(f: ToolsForm): ToolsSetting {
  return {
    create_ticket: f.create_ticket,
    http: f.http.map((h) => {
      const t: HttpToolSetting = {
        name: h.name.trim(),
        description: h.description.trim(),
        // The generated type says only "an object"; the schema's own keys are the author's.
        parameters: JSON.parse(h.parameters) as HttpToolSetting["parameters"],
        method: h.method,
        url: h.url.trim(),
        headers: h.headers.map((x) => (x.secret ? { name: x.name.trim(), value: x.value, secret: x.secret } : { name: x.name.trim(), value: x.value })),
      };
      // Not chosen: left to the server, whose default (every method but GET) is what the box shows.
      if (h.side_effects_chosen) t.side_effects = h.side_effects;
      if (h.timeout_secs.trim() !== "") t.timeout_secs = Number(h.timeout_secs);
      return t;
    }),
  };
}

interface Props {
  value: ToolsForm;
  onChange: (change: (f: ToolsForm) => ToolsForm) => void;
  secrets: SecretList;
  /** A server message about a field under `tools`, shown in this section. */
  error?: string | undefined;
}

export function ToolsSection({ value: f, onChange, secrets, error }: Props) {
  const lastAdded = useRef<number>();
  const edit = (key: number, patch: Partial<HttpToolForm>) =>
    onChange((f) => ({ ...f, http: f.http.map((t) => (t.key === key ? { ...t, ...patch } : t)) }));
  const field = fieldOf(error);
  return (
    <fieldset aria-describedby="tools-about">
      <legend>Tools</legend>
      <p id="tools-about" class="muted small">
        Actions the AI model may take while answering. They are offered only when the agent has an AI model.
      </p>
      <label class="check">
        <input
          type="checkbox"
          checked={f.create_ticket}
          onChange={(e) => {
            const create_ticket = e.currentTarget.checked;
            onChange((f) => ({ ...f, create_ticket }));
          }}
        />{" "}
        Let it open a support ticket for the customer
      </label>
      <h3>HTTP tools</h3>
      {f.http.length === 0 && <p class="muted">No HTTP tools yet.</p>}
      {f.http.map((t, i) => (
        <ToolFields
          key={t.key}
          index={i}
          tool={t}
          edit={(patch) => edit(t.key, patch)}
          editHeaders={(change) => onChange((f) => ({ ...f, http: f.http.map((x) => (x.key === t.key ? { ...x, headers: change(x.headers) } : x)) }))}
          remove={() => onChange((f) => ({ ...f, http: f.http.filter((x) => x.key !== t.key) }))}
          secrets={secrets}
          autoFocus={lastAdded.current === t.key}
          invalid={field?.startsWith("tools.http") ? field : undefined}
        />
      ))}
      <button
        type="button"
        class="secondary"
        onClick={() => {
          const t = newTool();
          lastAdded.current = t.key;
          onChange((f) => ({ ...f, http: [...f.http, t] }));
        }}
      >
        Add HTTP tool
      </button>
      {error && (
        <p id="tools-error" class="error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

function ToolFields(props: {
  index: number;
  tool: HttpToolForm;
  edit: (patch: Partial<HttpToolForm>) => void;
  editHeaders: (change: (h: HeaderForm[]) => HeaderForm[]) => void;
  remove: () => void;
  secrets: SecretList;
  autoFocus: boolean;
  invalid: string | undefined;
}) {
  const { tool: t, edit } = props;
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (props.autoFocus) nameRef.current?.focus();
  }, []);
  const id = `tool-${t.key}`;
  // A server refusal naming one of this tool's fields marks that box and points at the message.
  const refused = (name: string) =>
    props.invalid === `tools.http[${props.index}].${name}` ? { "aria-invalid": true, "aria-describedby": "tools-error" } : {};
  const bad = schemaError(t.parameters);
  const unknown = unknownPlaceholders(t.url, t.parameters);
  const title = t.name.trim() || `Tool ${props.index + 1}`;
  return (
    <fieldset class="tool">
      <legend>{title}</legend>
      <div class="grid2">
        <Field label="Tool name" hint="What the model calls it: a-z, 0-9 and _, starting with a letter, e.g. order_status.">
          <input
            ref={nameRef}
            required
            maxLength={64}
            pattern="[a-z][a-z0-9_]*"
            value={t.name}
            {...refused("name")}
            onInput={(e) => edit({ name: e.currentTarget.value })}
          />
        </Field>
        <Field label="Timeout (seconds)" hint="1 to 30; empty: 10.">
          <input
            type="number"
            min={1}
            max={30}
            step={1}
            inputMode="numeric"
            value={t.timeout_secs}
            {...refused("timeout_secs")}
            onInput={(e) => edit({ timeout_secs: e.currentTarget.value })}
          />
        </Field>
      </div>
      <Field label="Description" hint="When the model should use it and what it returns; the model reads this." wide>
        <textarea rows={2} required value={t.description} {...refused("description")} onInput={(e) => edit({ description: e.currentTarget.value })} />
      </Field>
      <div class="url-row">
        <Field label="Method">
          <select
            value={t.method}
            onChange={(e) => {
              const method = e.currentTarget.value as Method;
              edit(t.side_effects_chosen ? { method } : { method, side_effects: method !== "GET" });
            }}
          >
            {METHODS.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </Field>
        <Field label="URL" hint="{name} is replaced by that argument, in the path or the query, e.g. https://shop.example/api/orders/{order_id}" wide>
          <input
            required
            maxLength={2048}
            placeholder="https://shop.example/api/orders/{order_id}"
            value={t.url}
            aria-invalid={unknown.length > 0 || undefined}
            aria-describedby={unknown.length > 0 ? `${id}-url-note` : undefined}
            {...refused("url")}
            onInput={(e) => edit({ url: e.currentTarget.value })}
          />
        </Field>
      </div>
      {unknown.length > 0 && (
        <p id={`${id}-url-note`} class="error-text small">
          The parameters do not define {unknown.map((p) => `{${p}}`).join(", ")}.
        </p>
      )}
      <Field label="Parameters (JSON schema)" hint="The arguments the model must give, as a JSON schema object." wide>
        <textarea
          id={`${id}-parameters`}
          class="code"
          rows={6}
          spellcheck={false}
          value={t.parameters}
          aria-invalid={bad ? true : undefined}
          aria-describedby={bad ? `${id}-schema-error` : undefined}
          {...refused("parameters")}
          onInput={(e) => edit({ parameters: e.currentTarget.value })}
        />
      </Field>
      {bad && (
        <p id={`${id}-schema-error`} class="error-text small">
          {bad}
        </p>
      )}
      <Headers tool={t} editHeaders={props.editHeaders} secrets={props.secrets} />
      <label class="check">
        <input type="checkbox" checked={t.side_effects} onChange={(e) => edit({ side_effects: e.currentTarget.checked, side_effects_chosen: true })} aria-describedby={`${id}-side`} />{" "}
        It changes something (each call waits for a person's approval)
      </label>
      <p id={`${id}-side`} class="hint muted small">
        Tick this for calls that change data, such as refunds, cancellations or bookings: the call is held until someone approves it
        under Approvals. Calls that only look things up run at once.
      </p>
      <button type="button" class="ghost danger" onClick={props.remove}>
        Remove {title}
      </button>
    </fieldset>
  );
}

function Headers(props: { tool: HttpToolForm; editHeaders: (change: (h: HeaderForm[]) => HeaderForm[]) => void; secrets: SecretList }) {
  const { tool: t } = props;
  const put = (i: number, patch: Partial<HeaderForm>) => props.editHeaders((hs) => hs.map((h, j) => (j === i ? { ...h, ...patch } : h)));
  return (
    <div class="headers">
      <h4>Headers</h4>
      {t.headers.length === 0 && <p class="muted small">None.</p>}
      {t.headers.map((h, i) => (
        <div class="header-row" role="group" aria-label={`Header ${i + 1}`}>
          <Field label="Header name">
            <input required maxLength={200} value={h.name} placeholder="Authorization" onInput={(e) => put(i, { name: e.currentTarget.value })} />
          </Field>
          <Field label="Header value" hint={h.secret ? "{secret} is replaced by the secret's value." : undefined}>
            <input
              required
              maxLength={2048}
              value={h.value}
              placeholder={h.secret ? "Bearer {secret}" : ""}
              onInput={(e) => put(i, { value: e.currentTarget.value })}
            />
          </Field>
          <SecretPicker
            label="Header secret"
            value={h.secret}
            none="No secret"
            secrets={props.secrets}
            onChange={(secret) =>
              put(i, secret && !h.value.includes("{secret}") && h.value.trim() === "" ? { secret, value: "{secret}" } : { secret })
            }
          />
          <button type="button" class="ghost danger" onClick={() => props.editHeaders((hs) => hs.filter((_, j) => j !== i))}>
            Remove header {i + 1}
          </button>
        </div>
      ))}
      {t.headers.some((h) => h.secret && !h.value.includes("{secret}")) && (
        <p class="error-text small">A header with a secret needs {"{secret}"} in its value, where the secret goes.</p>
      )}
      <button type="button" class="secondary" onClick={() => props.editHeaders((hs) => [...hs, { name: "", value: "", secret: "" }])}>
        Add header
      </button>
    </div>
  );
}
