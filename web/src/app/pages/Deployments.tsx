// Deployments: where an agent is installed as the website widget. Appearance
// with a live preview (drawn with the widget's own styles in a shadow root),
// allowed origins, identity verification and its secret, the snippet.

import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { BodyOf, ResponseOf } from "../../api";
import { api, ok } from "../api";
import { readableOn, themeColor } from "../../shared/color";
import { safeHref } from "../../shared/markdown";
import { CSS as WIDGET_CSS } from "../../widget/styles";
import { Link, navigate } from "../router";
import { CopyButton, Empty, ErrorNote, Field, Loading, Page, Time, useAction, useLoad } from "../ui";

type Deployment = ResponseOf<"/v1/deployments/{id}", "get">;
type Appearance = Deployment["appearance"];
type NewDeployment = BodyOf<"/v1/deployments", "post">;

const DEFAULT_APPEARANCE: Appearance = {
  color: "#1f6feb",
  position: "right",
  greeting: "Hi! How can we help?",
  launcher_text: "Chat with us",
  logo_url: null,
  proactive: null,
};

const originsOf = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((o) => o.trim())
    .filter(Boolean);

export function Deployments() {
  const list = useLoad(async () => ok(await api.GET("/v1/deployments", { params: { query: { limit: 100 } } })), []);
  const agents = useLoad(async () => ok(await api.GET("/v1/agents", { params: { query: { limit: 100 } } })).agents, []);
  const [name, setName] = useState("Website");
  const [agentId, setAgentId] = useState("");
  const [origins, setOrigins] = useState("");
  const [secret, setSecret] = useState<{ id: string; secret: string }>();
  const a = useAction();
  useEffect(() => {
    if (!agentId && agents.data?.[0]) setAgentId(agents.data[0].id);
  }, [agents.data]);
  const create = async (e: Event) => {
    e.preventDefault();
    const body: NewDeployment = { name, agent_id: agentId, allowed_origins: originsOf(origins), appearance: DEFAULT_APPEARANCE };
    const d = await a.run(async () => ok(await api.POST("/v1/deployments", { body })));
    if (d) {
      setSecret({ id: d.id, secret: d.identity_secret });
      list.reload();
    }
  };
  return (
    <Page title="Deployments" sub="Put an agent on your website with one script tag.">
      <form class="card" onSubmit={(e) => void create(e)}>
        <h2>New deployment</h2>
        <div class="grid2">
          <Field label="Name">
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Agent">
            <select required value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
              {(agents.data ?? []).map((ag) => (
                <option value={ag.id}>{ag.name}</option>
              ))}
            </select>
          </Field>
        </div>
        <Field label="Allowed origins" hint="The sites that may embed the widget, e.g. https://shop.example (one per line)." wide>
          <textarea rows={2} value={origins} onInput={(e) => setOrigins(e.currentTarget.value)} />
        </Field>
        <ErrorNote error={a.error} />
        <button type="submit" disabled={a.busy || !agentId}>
          Create deployment
        </button>
      </form>
      {secret && <SecretOnce secret={secret.secret} onDone={() => navigate(`/deployments/${secret.id}`)} />}
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.deployments.length === 0 ? (
        <Empty>No deployments yet.</Empty>
      ) : (
        <table class="list" aria-label="Deployments">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Allowed origins</th>
              <th scope="col">Identity verification</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.deployments.map((d) => (
              <tr>
                <td>
                  <Link href={`/deployments/${d.id}`}>{d.name}</Link>
                </td>
                <td>{d.allowed_origins.join(", ") || <span class="muted">none</span>}</td>
                <td>{d.identity_verification ? "on" : "off"}</td>
                <td>
                  <Time iso={d.created_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

function SecretOnce({ secret, onDone }: { secret: string; onDone?: () => void }) {
  return (
    <div class="card secret" role="status">
      <h2>Identity verification secret</h2>
      <p>
        Shown once. Your server signs each signed-in visitor's id with it: <code>user_hash = hex(HMAC-SHA256(secret, user_id))</code>. Never
        put it in a web page.
      </p>
      <div class="row">
        <code class="secret-value">{secret}</code>
        <CopyButton text={secret} />
      </div>
      {onDone && (
        <button type="button" onClick={onDone}>
          Continue
        </button>
      )}
    </div>
  );
}

export function DeploymentView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const dep = useLoad(async () => ok(await api.GET("/v1/deployments/{id}", { params: { path: { id } } })), [id]);
  const snippet = useLoad(async () => ok(await api.GET("/v1/deployments/{id}/snippet", { params: { path: { id } } })), [id]);
  if (dep.error) return <Page title="Deployment"><ErrorNote error={dep.error} /></Page>;
  if (!dep.data) return <Loading />;
  return (
    <Page title={dep.data.name}>
      <p>
        <Link href="/deployments">← All deployments</Link>
      </p>
      <section class="card">
        <h2>Install</h2>
        <p>Paste this before the closing &lt;/body&gt; tag of every page that should show the widget.</p>
        <ErrorNote error={snippet.error} />
        {snippet.data && (
          <div class="row">
            <pre class="snippet">
              <code>{snippet.data.html}</code>
            </pre>
            <CopyButton text={snippet.data.html} label="Copy snippet" />
          </div>
        )}
      </section>
      <Settings d={dep.data} onSaved={(d) => dep.set(d)} />
    </Page>
  );
}

function Settings({ d, onSaved }: { d: Deployment; onSaved: (d: Deployment) => void }) {
  const [name, setName] = useState(d.name);
  const [origins, setOrigins] = useState(d.allowed_origins.join("\n"));
  const [verify, setVerify] = useState(d.identity_verification);
  const [ap, setAp] = useState<Appearance>({ ...DEFAULT_APPEARANCE, ...d.appearance });
  const [secret, setSecret] = useState<string>();
  const a = useAction();
  const [saved, setSaved] = useState(false);
  const setA = (p: Partial<Appearance>) => {
    setSaved(false);
    setAp({ ...ap, ...p });
  };
  const proactive = ap.proactive ?? null;

  const save = async (e: Event) => {
    e.preventDefault();
    const r = await a.run(async () =>
      ok(
        await api.PATCH("/v1/deployments/{id}", {
          params: { path: { id: d.id } },
          body: { name, allowed_origins: originsOf(origins), identity_verification: verify, appearance: ap },
        }),
      ),
    );
    if (r) {
      onSaved(r);
      setSaved(true);
    }
  };
  const rotate = async () => {
    if (!confirm("Rotate the secret? Hashes signed with the old one stop working at once.")) return;
    const r = await a.run(async () => ok(await api.POST("/v1/deployments/{id}/rotate-secret", { params: { path: { id: d.id } } })));
    if (r) setSecret(r.identity_secret);
  };
  const remove = async () => {
    if (!confirm(`Delete the deployment “${d.name}”? The widget stops working on every site that has it.`)) return;
    const r = await a.run(async () => {
      const res = await api.DELETE("/v1/deployments/{id}", { params: { path: { id: d.id } } });
      return ok(res) ?? true;
    });
    if (r !== undefined) navigate("/deployments");
  };

  return (
    <div class="deployment">
      <form class="card" onSubmit={(e) => void save(e)}>
        <h2>Settings</h2>
        <Field label="Name">
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Allowed origins" hint="One per line, like https://shop.example. Other sites get 403." wide>
          <textarea rows={3} value={origins} onInput={(e) => setOrigins(e.currentTarget.value)} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={verify} onChange={(e) => setVerify(e.currentTarget.checked)} /> Require identity verification for
          signed-in visitors
        </label>
        <fieldset>
          <legend>Appearance</legend>
          <div class="grid2">
            <Field label="Colour">
              <input type="color" value={ap.color} onInput={(e) => setA({ color: e.currentTarget.value })} />
            </Field>
            <Field label="Position">
              <select value={ap.position} onChange={(e) => setA({ position: e.currentTarget.value === "left" ? "left" : "right" })}>
                <option value="right">bottom right</option>
                <option value="left">bottom left</option>
              </select>
            </Field>
          </div>
          <Field label="Launcher text">
            <input maxLength={40} value={ap.launcher_text ?? ""} onInput={(e) => setA({ launcher_text: e.currentTarget.value || null })} />
          </Field>
          <Field label="Greeting" wide>
            <textarea rows={2} maxLength={500} value={ap.greeting ?? ""} onInput={(e) => setA({ greeting: e.currentTarget.value || null })} />
          </Field>
          <Field label="Logo URL" hint="https only.">
            <input type="url" value={ap.logo_url ?? ""} onInput={(e) => setA({ logo_url: e.currentTarget.value || null })} />
          </Field>
          <label class="check">
            <input
              type="checkbox"
              checked={!!proactive}
              onChange={(e) => setA({ proactive: e.currentTarget.checked ? { after_seconds: 10, url_patterns: [] } : null })}
            />{" "}
            Greet visitors proactively
          </label>
          {proactive && (
            <div class="grid2">
              <Field label="After seconds on the page">
                <input
                  type="number"
                  min={0}
                  max={3600}
                  value={proactive.after_seconds ?? 0}
                  onInput={(e) => setA({ proactive: { ...proactive, after_seconds: Number(e.currentTarget.value) } })}
                />
              </Field>
              <Field label="Only on pages matching" hint="One pattern per line, * matches anything; empty: every page.">
                <textarea
                  rows={2}
                  value={(proactive.url_patterns ?? []).join("\n")}
                  onInput={(e) => setA({ proactive: { ...proactive, url_patterns: originsOf(e.currentTarget.value) } })}
                />
              </Field>
            </div>
          )}
        </fieldset>
        <ErrorNote error={a.error} />
        {saved && <p role="status">Saved.</p>}
        <div class="row">
          <button type="submit" disabled={a.busy}>
            Save
          </button>
          <button type="button" class="secondary" onClick={() => void rotate()} disabled={a.busy}>
            Rotate identity secret
          </button>
          <button type="button" class="ghost danger" onClick={() => void remove()} disabled={a.busy}>
            Delete deployment
          </button>
        </div>
        {secret && <SecretOnce secret={secret} />}
      </form>
      <div class="card">
        <h2>Preview</h2>
        <WidgetPreview appearance={ap} />
      </div>
    </div>
  );
}

/** The widget's look, drawn with its own stylesheet inside a shadow root. */
export function WidgetPreview({ appearance }: { appearance: Appearance }) {
  const host = useRef<HTMLDivElement>(null);
  const root = useRef<ShadowRoot>();
  useEffect(() => {
    const el = host.current;
    if (!el || root.current) return;
    root.current = el.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(`${WIDGET_CSS}\n.root{position:absolute}\n.panel{height:360px;width:300px}`);
    root.current.adoptedStyleSheets = [sheet];
    root.current.appendChild(document.createElement("div"));
  }, []);
  useEffect(() => {
    const mount = root.current?.lastElementChild;
    if (!mount) return;
    const accent = themeColor(appearance.color);
    const title = appearance.launcher_text || "Chat with us";
    const logo = safeHref(appearance.logo_url);
    render(
      <div class={`root ${appearance.position === "left" ? "left" : "right"}`} style={{ "--sb-accent": accent, "--sb-on-accent": readableOn(accent) }}>
        <div class="panel" aria-hidden="true">
          <header>
            {logo && <img src={logo} alt="" referrerpolicy="no-referrer" />}
            <div class="title">
              {title}
              <div class="sub">We usually answer right away</div>
            </div>
          </header>
          <div class="log">
            {appearance.greeting && <div class="msg assistant">{appearance.greeting}</div>}
            <div class="msg customer">Where is my order?</div>
          </div>
          <form class="composer">
            <textarea placeholder="Write a message…" disabled />
          </form>
        </div>
        <button class="launcher" type="button" tabIndex={-1} aria-hidden="true">
          <span>{title}</span>
        </button>
      </div>,
      mount,
    );
  }, [appearance]);
  return <div class="preview" ref={host} role="img" aria-label="Preview of the widget with these settings" />;
}
