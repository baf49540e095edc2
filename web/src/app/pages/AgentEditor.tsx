// The agent editor: persona, instructions, guardrails, escalation, intents and
// autonomy per topic, knowledge, and the AI model. Every save is a new draft
// version, made with PATCH /v1/agents/{id} from the newest version.

import { useEffect, useState } from "preact/hooks";
import type { BodyOf, ResponseOf } from "../../api";
import { api, ok } from "../api";
import { ErrorNote, Field, useAction, useLoad } from "../ui";
import { fieldOf, llmForm, llmSettings, ModelSection, type LlmForm } from "./AgentModel";
import { useSecrets } from "./Secrets";
import { schemaError, toolsForm, toolsSettings, ToolsSection, type ToolsForm } from "./AgentTools";

type Agent = ResponseOf<"/v1/agents/{id}", "get">;
type Version = ResponseOf<"/v1/agents/{id}/versions/{version}", "get">;
type Config = Version["config"];
export type UpdateBody = BodyOf<"/v1/agents/{id}", "patch">;

/** A configuration with every default filled in (the server omits nothing, but the schema allows it). */
interface Full {
  name: string;
  collection_ids: string[];
  persona: string;
  instructions: string;
  language: { reply: string; default: string };
  guardrails: {
    forbidden_strings: string[];
    blocked_topics: { name: string; keywords: string[] }[];
    min_confidence: number | null;
    link_hosts: string[];
  };
  escalation: { on_request: boolean; on_abstain: boolean; priority: string };
  intents: { name: string; examples: string[] }[];
  autonomy: { default: string; topics: Record<string, string> };
  knowledge: { pin_to_release: boolean; top_k: number; language: string };
  llm: LlmForm;
  tools: ToolsForm;
}

/** The editor's state for a stored configuration. */
export function full(c: Config): Full {
  return {
    name: c.name,
    collection_ids: c.collection_ids ?? [],
    persona: c.persona ?? "",
    instructions: c.instructions ?? "",
    language: { reply: c.language?.reply ?? "customer", default: c.language?.default ?? "en" },
    guardrails: {
      forbidden_strings: c.guardrails?.forbidden_strings ?? [],
      blocked_topics: c.guardrails?.blocked_topics ?? [],
      min_confidence: c.guardrails?.min_confidence ?? null,
      link_hosts: c.guardrails?.link_hosts ?? [],
    },
    escalation: {
      on_request: c.escalation?.on_request ?? true,
      on_abstain: c.escalation?.on_abstain ?? false,
      priority: c.escalation?.priority ?? "normal",
    },
    intents: c.intents ?? [],
    autonomy: { default: c.autonomy?.default ?? "auto", topics: { ...(c.autonomy?.topics ?? {}) } as Record<string, string> },
    knowledge: {
      pin_to_release: c.knowledge?.pin_to_release ?? false,
      top_k: c.knowledge?.top_k ?? 6,
      language: c.knowledge?.language ?? "en",
    },
    llm: llmForm(c.llm),
    tools: toolsForm(c.tools),
  };
}

/** The PATCH body a save sends: every section the editor shows (the server keeps the rest). */
export function updateBody(c: Full): UpdateBody {
  return {
    name: c.name,
    collection_ids: c.collection_ids,
    persona: c.persona,
    instructions: c.instructions,
    language: c.language,
    guardrails: c.guardrails,
    escalation: c.escalation,
    intents: c.intents,
    autonomy: c.autonomy,
    knowledge: c.knowledge,
    llm: llmSettings(c.llm),
    tools: toolsSettings(c.tools),
  };
}

const MODES = ["auto", "draft", "human_only"];

export function useCollections() {
  return useLoad(async () => ok(await api.GET("/v1/collections", { params: { query: { limit: 100 } } })).collections, []);
}

export function CollectionPicker(props: { all: { id: string; name: string }[]; picked: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset class="picker">
      <legend>Knowledge collections</legend>
      {props.all.length === 0 && <span class="muted">No collections yet.</span>}
      {props.all.map((c) => (
        <label class="check">
          <input
            type="checkbox"
            checked={props.picked.includes(c.id)}
            onChange={(e) =>
              props.onChange(e.currentTarget.checked ? [...props.picked, c.id] : props.picked.filter((x) => x !== c.id))
            }
          />{" "}
          {c.name}
        </label>
      ))}
    </fieldset>
  );
}

const lines = (s: string) =>
  s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

export function Editor({ agent, base, onSaved }: { agent: Agent; base: Version; onSaved: () => void }) {
  const [c, setC] = useState<Full>(full(base.config));
  useEffect(() => setC(full(base.config)), [base.version]);
  const collections = useCollections();
  const secrets = useSecrets();
  const a = useAction();
  const [saved, setSaved] = useState<string>();
  const set = (patch: Partial<Full>) => setC({ ...c, ...patch });

  const topics = c.guardrails.blocked_topics.map((t) => `${t.name}: ${t.keywords.join(", ")}`).join("\n");
  const intents = c.intents.map((t) => `${t.name}: ${t.examples.join(" | ")}`).join("\n");
  // A server message about the model's or the tools' settings is shown in that section, next to its boxes.
  const at = fieldOf(a.error);
  const llmError = at?.startsWith("llm") ? a.error : undefined;
  const toolsError = at?.startsWith("tools") ? a.error : undefined;
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(undefined);
    // Parameters that are not a JSON object are shown at their box; send nothing until they are.
    const bad = c.tools.http.find((t) => schemaError(t.parameters));
    if (bad) {
      document.getElementById(`tool-${bad.key}-parameters`)?.focus();
      return;
    }
    const v = await a.run(async () =>
      ok(
        await api.PATCH("/v1/agents/{id}", {
          params: { path: { id: agent.id } },
          body: updateBody(c),
        }),
      ),
    );
    if (v) {
      setSaved(`Saved as draft version ${v.version}. Release it from Versions to put it live.`);
      onSaved();
    }
  };

  return (
    <form class="editor" onSubmit={(e) => void save(e)}>
      <p class="muted">Editing from version {base.version} ({base.state}).</p>
      <div class="grid2">
        <Field label="Name">
          <input required value={c.name} onInput={(e) => set({ name: e.currentTarget.value })} />
        </Field>
        <Field label="Reply language">
          <select value={c.language.reply} onChange={(e) => set({ language: { ...c.language, reply: e.currentTarget.value } })}>
            <option value="customer">the customer's language</option>
            <option value="fixed">always the default</option>
          </select>
        </Field>
      </div>
      <Field label="Persona" hint="Who the assistant is, in a sentence or two." wide>
        <textarea rows={3} value={c.persona} onInput={(e) => set({ persona: e.currentTarget.value })} />
      </Field>
      <Field label="Instructions" hint="How it should answer." wide>
        <textarea rows={5} value={c.instructions} onInput={(e) => set({ instructions: e.currentTarget.value })} />
      </Field>
      <CollectionPicker all={collections.data ?? []} picked={c.collection_ids} onChange={(ids) => set({ collection_ids: ids })} />
      <fieldset>
        <legend>Guardrails</legend>
        <Field label="Forbidden strings" hint="One per line; a reply containing one is withheld." wide>
          <textarea
            rows={3}
            value={c.guardrails.forbidden_strings.join("\n")}
            onInput={(e) => set({ guardrails: { ...c.guardrails, forbidden_strings: lines(e.currentTarget.value) } })}
          />
        </Field>
        <Field label="Blocked topics" hint="One per line: name: keyword, keyword" wide>
          <textarea
            rows={3}
            value={topics}
            onInput={(e) =>
              set({
                guardrails: {
                  ...c.guardrails,
                  blocked_topics: lines(e.currentTarget.value).map((l) => {
                    const [name, kws = ""] = l.split(/:(.*)/s);
                    return { name: name!.trim(), keywords: kws.split(",").map((k) => k.trim()).filter(Boolean) };
                  }),
                },
              })
            }
          />
        </Field>
        <Field label="Minimum confidence" hint="0 to 1; empty: the calibrated default.">
          <input
            type="number"
            min={0}
            max={1}
            step={0.01}
            value={c.guardrails.min_confidence ?? ""}
            onInput={(e) =>
              set({ guardrails: { ...c.guardrails, min_confidence: e.currentTarget.value === "" ? null : Number(e.currentTarget.value) } })
            }
          />
        </Field>
        <Field
          label="Link hosts"
          hint="One per line, e.g. shop.example or *.shop.example; replies link nowhere else. Empty: the crawled sites and the widget's origins."
          wide
        >
          <textarea
            rows={2}
            value={c.guardrails.link_hosts.join("\n")}
            onInput={(e) => set({ guardrails: { ...c.guardrails, link_hosts: lines(e.currentTarget.value) } })}
          />
        </Field>
      </fieldset>
      <fieldset>
        <legend>Escalation</legend>
        <label class="check">
          <input type="checkbox" checked={c.escalation.on_request} onChange={(e) => set({ escalation: { ...c.escalation, on_request: e.currentTarget.checked } })} />{" "}
          When the customer asks for a person
        </label>
        <label class="check">
          <input type="checkbox" checked={c.escalation.on_abstain} onChange={(e) => set({ escalation: { ...c.escalation, on_abstain: e.currentTarget.checked } })} />{" "}
          When the knowledge has no answer
        </label>
        <Field label="Priority">
          <select value={c.escalation.priority} onChange={(e) => set({ escalation: { ...c.escalation, priority: e.currentTarget.value } })}>
            {["low", "normal", "high", "urgent"].map((p) => (
              <option>{p}</option>
            ))}
          </select>
        </Field>
      </fieldset>
      <fieldset>
        <legend>Topics and autonomy</legend>
        <Field label="Intents" hint="One per line: name: example | example" wide>
          <textarea
            rows={3}
            value={intents}
            onInput={(e) =>
              set({
                intents: lines(e.currentTarget.value).map((l) => {
                  const [name, ex = ""] = l.split(/:(.*)/s);
                  return { name: name!.trim(), examples: ex.split("|").map((k) => k.trim()).filter(Boolean) };
                }),
              })
            }
          />
        </Field>
        <table class="list compact" aria-label="Autonomy per topic">
          <thead>
            <tr>
              <th scope="col">Topic</th>
              <th scope="col">Autonomy</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>Everything else</td>
              <td>
                <ModeSelect label="Default autonomy" value={c.autonomy.default} onChange={(v) => set({ autonomy: { ...c.autonomy, default: v } })} />
              </td>
            </tr>
            {c.intents.map((i) => (
              <tr>
                <td>{i.name}</td>
                <td>
                  <ModeSelect
                    label={`Autonomy for ${i.name}`}
                    value={c.autonomy.topics[i.name] ?? c.autonomy.default}
                    onChange={(v) => set({ autonomy: { ...c.autonomy, topics: { ...c.autonomy.topics, [i.name]: v } } })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset>
        <legend>Knowledge</legend>
        <label class="check">
          <input
            type="checkbox"
            checked={c.knowledge.pin_to_release}
            onChange={(e) => set({ knowledge: { ...c.knowledge, pin_to_release: e.currentTarget.checked } })}
          />{" "}
          Answer from the knowledge as it was at release
        </label>
        <Field label="Passages per answer (1 to 20)">
          <input type="number" min={1} max={20} value={c.knowledge.top_k} onInput={(e) => set({ knowledge: { ...c.knowledge, top_k: Number(e.currentTarget.value) } })} />
        </Field>
        <Field label="Knowledge language" hint="ISO 639-1 code (en, de, fr, …). Questions in other languages are put into English words for English knowledge.">
          <input
            required
            pattern="[a-z]{2}"
            maxLength={2}
            value={c.knowledge.language}
            onInput={(e) => set({ knowledge: { ...c.knowledge, language: e.currentTarget.value.trim().toLowerCase() } })}
          />
        </Field>
      </fieldset>
      <ModelSection value={c.llm} onChange={(change) => setC((c) => ({ ...c, llm: change(c.llm) }))} secrets={secrets} error={llmError} />
      <ToolsSection
        value={c.tools}
        onChange={(change) => setC((c) => ({ ...c, tools: change(c.tools) }))}
        secrets={secrets}
        error={toolsError}
      />
      {!llmError && !toolsError && <ErrorNote error={a.error} />}
      {saved && <p role="status">{saved}</p>}
      <button type="submit" disabled={a.busy}>
        Save as new version
      </button>
    </form>
  );
}

function ModeSelect(props: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {MODES.map((m) => (
        <option value={m}>{m === "human_only" ? "hand to a person" : m === "draft" ? "draft for approval" : "answer"}</option>
      ))}
    </select>
  );
}

