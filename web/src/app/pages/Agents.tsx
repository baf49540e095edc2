// Agents: the list, a new agent, and one agent's page with its editor
// (AgentEditor.tsx) and its versions, which are diffed, released and rolled
// back here.

import { useEffect, useState } from "preact/hooks";
import type { ResponseOf } from "../../api";
import { api, ok } from "../api";
import { Link, navigate } from "../router";
import { Badge, Empty, ErrorNote, Field, Loading, Page, Tabs, Time, useAction, useLoad } from "../ui";
import { CollectionPicker, Editor, useCollections } from "./AgentEditor";

type Agent = ResponseOf<"/v1/agents/{id}", "get">;
type Version = ResponseOf<"/v1/agents/{id}/versions/{version}", "get">;

export function Agents() {
  const list = useLoad(async () => ok(await api.GET("/v1/agents", { params: { query: { limit: 100 } } })), []);
  const collections = useCollections();
  const [name, setName] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const a = useAction();
  return (
    <Page title="Agents" sub="Each change is a draft version until you release it.">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void a
            .run(async () => ok(await api.POST("/v1/agents", { body: { name, collection_ids: picked } })))
            .then((r) => r && navigate(`/agents/${r.id}`));
        }}
      >
        <h2>New agent</h2>
        <Field label="Name">
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <CollectionPicker all={collections.data ?? []} picked={picked} onChange={setPicked} />
        <ErrorNote error={a.error} />
        <button type="submit" disabled={a.busy}>
          Create agent
        </button>
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.agents.length === 0 ? (
        <Empty>No agents yet.</Empty>
      ) : (
        <table class="list" aria-label="Agents">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Live version</th>
              <th scope="col">Latest version</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.agents.map((ag) => (
              <tr>
                <td>
                  <Link href={`/agents/${ag.id}`}>{ag.name}</Link>
                </td>
                <td>{ag.version ?? <span class="muted">not released</span>}</td>
                <td>{ag.latest_version}</td>
                <td>
                  <Time iso={ag.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

export function AgentView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const agent = useLoad(async () => ok(await api.GET("/v1/agents/{id}", { params: { path: { id } } })), [id]);
  const versions = useLoad(async () => ok(await api.GET("/v1/agents/{id}/versions", { params: { path: { id }, query: { limit: 100 } } })), [id]);
  const [tab, setTab] = useState("Configuration");
  const reload = () => {
    agent.reload();
    versions.reload();
  };
  if (agent.error) return <Page title="Agent"><ErrorNote error={agent.error} /></Page>;
  if (!agent.data) return <Loading />;
  const latest = versions.data?.versions.reduce<Version | undefined>((a, v) => (!a || v.version > a.version ? v : a), undefined);
  return (
    <Page title={agent.data.name} sub={<>Live version {agent.data.version ?? "none"} · latest {agent.data.latest_version}</>}>
      <p>
        <Link href="/agents">← All agents</Link>
      </p>
      <Tabs tabs={["Configuration", "Versions"]} active={tab} onChange={setTab} />
      {tab === "Configuration" && latest && <Editor agent={agent.data} base={latest} onSaved={reload} />}
      {tab === "Configuration" && !latest && <Loading />}
      {tab === "Versions" && <Versions agent={agent.data} versions={versions.data?.versions ?? []} onChanged={reload} />}
    </Page>
  );
}

function Versions({ agent, versions, onChanged }: { agent: Agent; versions: Version[]; onChanged: () => void }) {
  const a = useAction();
  const sorted = [...versions].sort((x, y) => y.version - x.version);
  const [from, setFrom] = useState<number>();
  const [to, setTo] = useState<number>();
  const diff = useLoad(async () => {
    if (from === undefined || to === undefined) return undefined;
    return ok(await api.GET("/v1/agents/{id}/diff", { params: { path: { id: agent.id }, query: { from, to } } }));
  }, [agent.id, from, to]);
  useEffect(() => {
    if (sorted.length >= 2 && from === undefined) {
      setFrom(sorted[1]!.version);
      setTo(sorted[0]!.version);
    }
  }, [versions.length]);

  const release = (v: number) =>
    a.run(async () => ok(await api.POST("/v1/agents/{id}/versions/{version}/release", { params: { path: { id: agent.id, version: v } } }))).then(onChanged);
  const rollback = () => a.run(async () => ok(await api.POST("/v1/agents/{id}/rollback", { params: { path: { id: agent.id } }, body: {} }))).then(onChanged);

  return (
    <div>
      <ErrorNote error={a.error} />
      <div class="row">
        <button type="button" class="secondary" onClick={() => void rollback()} disabled={a.busy || agent.version == null}>
          Roll back to the previous release
        </button>
      </div>
      <table class="list" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Released</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((v) => (
            <tr>
              <td>{v.version}</td>
              <td>
                <Badge value={v.live ? "live" : v.state} />
              </td>
              <td>
                <Time iso={v.created_at} />
              </td>
              <td>
                <Time iso={v.released_at} />
              </td>
              <td>
                {!v.live && (
                  <button type="button" class="secondary" onClick={() => void release(v.version)} disabled={a.busy}>
                    Release
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Compare versions</h2>
      <div class="inline-form">
        <Field label="From">
          <select value={from} onChange={(e) => setFrom(Number(e.currentTarget.value))}>
            {sorted.map((v) => (
              <option value={v.version}>{v.version}</option>
            ))}
          </select>
        </Field>
        <Field label="To">
          <select value={to} onChange={(e) => setTo(Number(e.currentTarget.value))}>
            {sorted.map((v) => (
              <option value={v.version}>{v.version}</option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorNote error={diff.error} />
      {diff.data &&
        (diff.data.changes.length === 0 ? (
          <Empty>No differences.</Empty>
        ) : (
          <table class="list diff" aria-label="Differences">
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Version {diff.data.from}</th>
                <th scope="col">Version {diff.data.to}</th>
              </tr>
            </thead>
            <tbody>
              {diff.data.changes.map((ch) => (
                <tr>
                  <td>
                    <code>{ch.path}</code>
                  </td>
                  <td class="del">
                    <pre>{show(ch.from)}</pre>
                  </td>
                  <td class="ins">
                    <pre>{show(ch.to)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </div>
  );
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}
