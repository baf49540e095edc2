// Conversations: the list (filters by owner status, assignee and outcome)
// and one conversation's transcript with citations, guard verdicts, tool
// calls and per-stage timings; a person takes over, replies, hands back and
// resolves here. The transcript follows the conversation's event stream.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ResponseOf } from "../../api";
import { api, follow, ok, type Me } from "../api";
import { renderMarkdown, safeHref, LINK_REL } from "../../shared/markdown";
import { Link, navigate, useQuery } from "../router";
import { Badge, Empty, ErrorNote, Field, JsonView, Loading, Page, Time, useAction, useLoad } from "../ui";

type Conversation = ResponseOf<"/v1/conversations/{id}", "get">;
type Message = ResponseOf<"/v1/conversations/{id}/messages", "get">["messages"][number];

const STATUSES = ["", "ai", "pending_human", "human", "resolved"] as const;
type Status = Exclude<(typeof STATUSES)[number], "">;
const OUTCOMES = ["", "answered", "abstained", "escalated", "refused"];

export function Conversations({ me }: { me: Me }) {
  const q = useQuery();
  const status = (q.get("status") ?? "") as Status | "";
  const owner = q.get("owner") ?? "";
  const outcome = q.get("outcome") ?? "";
  // Pages of 100, newest first: the cursors of the pages before this one.
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setPages([undefined]), [status]);
  const after = pages[pages.length - 1];
  const list = useLoad(
    async () =>
      ok(
        await api.GET("/v1/conversations", {
          params: { query: { limit: 100, ...(status ? { status } : {}), ...(after ? { after } : {}) } },
        }),
      ),
    [status, after],
  );
  // Refresh the list while it is open, so new conversations show up.
  useEffect(() => {
    const t = setInterval(() => list.reload(), 5000);
    return () => clearInterval(t);
  }, [list.reload]);

  const setFilter = (k: string, v: string) => {
    const p = new URLSearchParams(location.search);
    if (v) p.set(k, v);
    else p.delete(k);
    const s = p.toString();
    navigate(`/conversations${s ? `?${s}` : ""}`, true);
  };
  const myId = me.user?.id;
  const rows = (list.data?.conversations ?? []).filter(
    (c) =>
      (!outcome || c.last_outcome === outcome) &&
      (!owner || (owner === "me" ? c.assignee_id === myId : owner === "unassigned" ? !c.assignee_id : true)),
  );
  return (
    <Page title="Conversations">
      <div class="filters" role="group" aria-label="Filters">
        <Field label="Status">
          <select value={status} onChange={(e) => setFilter("status", e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option value={s}>{s ? s.replace("_", " ") : "any"}</option>
            ))}
          </select>
        </Field>
        <Field label="Owner">
          <select value={owner} onChange={(e) => setFilter("owner", e.currentTarget.value)}>
            <option value="">anyone</option>
            <option value="me">me</option>
            <option value="unassigned">unassigned</option>
          </select>
        </Field>
        <Field label="Outcome">
          <select value={outcome} onChange={(e) => setFilter("outcome", e.currentTarget.value)}>
            {OUTCOMES.map((s) => (
              <option value={s}>{s || "any"}</option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <Empty>No conversations match.</Empty>
      ) : (
        <table class="list" aria-label="Conversations">
          <thead>
            <tr>
              <th scope="col">Conversation</th>
              <th scope="col">Contact</th>
              <th scope="col">Status</th>
              <th scope="col">Last outcome</th>
              <th scope="col">Language</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr data-conversation={c.id}>
                <td>
                  <Link href={`/conversations/${c.id}`}>{c.id.slice(0, 8)}</Link>
                  {c.assignee_id && <span class="muted small">{c.assignee_id === myId ? " · yours" : " · assigned"}</span>}
                </td>
                <td>
                  <ContactCell contact={c.contact} />
                </td>
                <td>
                  <Badge value={c.status} />
                </td>
                <td>
                  <Badge value={c.last_outcome} />
                </td>
                <td>{c.language ?? "—"}</td>
                <td>
                  <Time iso={c.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row">
        {pages.length > 1 && (
          <button type="button" class="secondary" onClick={() => setPages(pages.slice(0, -1))}>
            Newer
          </button>
        )}
        {list.data?.next_cursor && (
          <button type="button" class="secondary" onClick={() => setPages([...pages, list.data!.next_cursor ?? undefined])}>
            Older
          </button>
        )}
      </div>
    </Page>
  );
}

type Contact = NonNullable<Conversation["contact"]>;

/** Who a conversation is with: their name, else their email, else anonymous. */
export function contactName(contact: Contact | null | undefined): string | undefined {
  return contact?.name ?? contact?.email ?? undefined;
}

function ContactCell({ contact }: { contact: Contact | null | undefined }) {
  const name = contactName(contact);
  if (!name) return <span class="muted">anonymous</span>;
  return (
    <>
      <span class="contact-name">{name}</span>
      {contact?.name && contact.email && <div class="muted small">{contact.email}</div>}
    </>
  );
}

async function allMessages(id: string): Promise<Message[]> {
  const out: Message[] = [];
  let after: string | undefined;
  for (let i = 0; i < 50; i++) {
    const page = ok(
      await api.GET("/v1/conversations/{id}/messages", { params: { path: { id }, query: { limit: 100, ...(after ? { after } : {}) } } }),
    );
    out.push(...page.messages);
    if (!page.next_cursor) break;
    after = page.next_cursor;
  }
  return out;
}

export function ConversationView({ params, me }: { params: Record<string, string>; me: Me }) {
  const id = params.id!;
  const conv = useLoad(async () => ok(await api.GET("/v1/conversations/{id}", { params: { path: { id } } })), [id]);
  const msgs = useLoad(() => allMessages(id), [id]);
  const events = useLoad(async () => ok(await api.GET("/v1/conversations/{id}/events", { params: { path: { id }, query: { limit: 100 } } })), [id]);
  const action = useAction();
  const [reply, setReply] = useState("");
  const log = useRef<HTMLOListElement>(null);

  // Live: the operator stream when the server has it; polling otherwise.
  useEffect(() => {
    const abort = new AbortController();
    let poll: ReturnType<typeof setInterval> | undefined;
    const refresh = () => {
      conv.reload();
      msgs.reload();
      events.reload();
    };
    void follow(`/v1/conversations/${encodeURIComponent(id)}/stream`, refresh, abort.signal, () => true).catch(() => {
      if (!abort.signal.aborted) poll = setInterval(refresh, 2000);
    });
    return () => {
      abort.abort();
      clearInterval(poll);
    };
  }, [id]);

  useEffect(() => {
    const el = log.current?.lastElementChild;
    if (el && "scrollIntoView" in el) el.scrollIntoView({ block: "nearest" });
  }, [msgs.data?.length]);

  const c = conv.data;
  const act = async (f: () => Promise<Conversation>) => {
    const r = await action.run(f);
    if (r) conv.set(r);
    events.reload();
  };
  const post = (path: "/v1/conversations/{id}/takeover" | "/v1/conversations/{id}/handback" | "/v1/conversations/{id}/resolve") =>
    act(async () => ok(await api.POST(path, { params: { path: { id } }, body: {} })));

  const sendReply = async (e: Event) => {
    e.preventDefault();
    const text = reply.trim();
    if (!text) return;
    const m = await action.run(async () => ok(await api.POST("/v1/conversations/{id}/replies", { params: { path: { id } }, body: { text } })));
    if (m) {
      setReply("");
      msgs.set([...(msgs.data ?? []), m]);
    }
  };

  const mine = c?.status === "human" && c.assignee_id === me.user?.id;
  return (
    <Page
      title={`Conversation ${id.slice(0, 8)}`}
      sub={
        c && (
          <>
            With <span class="contact-name">{contactName(c.contact) ?? "an anonymous visitor"}</span>
            {c.contact?.name && c.contact.email && <> ({c.contact.email})</>}
            {c.contact?.external_id && <> · your id {c.contact.external_id}</>} · agent version {c.agent_version ?? "—"} · started{" "}
            <Time iso={c.created_at} /> · language {c.language ?? "—"}
          </>
        )
      }
      actions={
        c && (
          <>
            <Badge value={c.status} />
            {c.status !== "human" || !mine ? (
              <button type="button" onClick={() => void post("/v1/conversations/{id}/takeover")} disabled={action.busy}>
                Take over
              </button>
            ) : null}
            {(c.status === "human" || c.status === "pending_human") && (
              <button type="button" class="secondary" onClick={() => void post("/v1/conversations/{id}/handback")} disabled={action.busy}>
                Hand back to AI
              </button>
            )}
            {c.status !== "resolved" && (
              <button type="button" class="secondary" onClick={() => void post("/v1/conversations/{id}/resolve")} disabled={action.busy}>
                Resolve
              </button>
            )}
          </>
        )
      }
    >
      <p>
        <Link href="/conversations">← All conversations</Link>
      </p>
      <ErrorNote error={action.error ?? conv.error ?? msgs.error} />
      <div class="conversation">
        <div>
          {msgs.loading && !msgs.data ? (
            <Loading />
          ) : (
            <ol class="transcript" ref={log} aria-label="Transcript" aria-live="polite">
              {(msgs.data ?? []).map((m) => (
                <Turn m={m} who={contactName(c?.contact)} />
              ))}
            </ol>
          )}
          {mine ? (
            <form class="reply" onSubmit={(e) => void sendReply(e)}>
              <Field label="Reply as yourself" wide>
                <textarea
                  rows={3}
                  maxLength={4000}
                  value={reply}
                  onInput={(e) => setReply(e.currentTarget.value)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void sendReply(e);
                  }}
                />
              </Field>
              <button type="submit" disabled={action.busy || !reply.trim()}>
                Send reply
              </button>
              <span class="muted small">Ctrl+Enter sends</span>
            </form>
          ) : (
            c && <p class="muted">Take the conversation over to reply as a person; the AI stops replying while you have it.</p>
          )}
        </div>
        <aside class="card timeline" aria-label="Ownership changes">
          <h2>Ownership</h2>
          <ol>
            {(events.data?.events ?? []).map((e) => (
              <li>
                <Badge value={e.from ?? "new"} /> → <Badge value={e.to} />
                <div class="small">{e.reason}</div>
                <div class="muted small">
                  {e.actor_type} · <Time iso={e.created_at} />
                </div>
              </li>
            ))}
          </ol>
        </aside>
      </div>
    </Page>
  );
}

interface CitationLike {
  number?: number;
  title?: string;
  url?: string | null;
  heading_path?: string;
  snippet?: string;
}

function Turn({ m, who }: { m: Message; who?: string | undefined }) {
  const [open, setOpen] = useState(false);
  const citations = (m.citations as CitationLike[]).filter((c) => c && typeof c === "object");
  const details = (m.details ?? {}) as Record<string, unknown>;
  const timings = details.timings as Record<string, number> | undefined;
  const hasDetails = m.role === "assistant" && Object.keys(details).length > 0;
  const att = details.attachment as { id?: unknown; name?: unknown; size?: unknown } | undefined;
  const body = useMemo(() => {
    if (att && typeof att.id === "string" && typeof att.name === "string") {
      return (
        <p>
          <a href={`/v1/attachments/${encodeURIComponent(att.id)}`} download={att.name}>
            {`📎 ${att.name}`}
          </a>
          {typeof att.size === "number" && <span class="muted small"> {Math.ceil(att.size / 1024)} KB</span>}
        </p>
      );
    }
    return m.role === "customer" ? <p class="plain">{m.text}</p> : renderMarkdown(m.text);
  }, [m.text, m.role, att]);
  return (
    <li class={`turn ${m.role}`} data-role={m.role} data-message={m.id}>
      <div class="turn-head">
        <strong>{m.role === "human" ? "Agent" : m.role === "customer" && who ? who : m.role}</strong>
        {m.outcome && <Badge value={m.outcome} />}
        {m.confidence != null && <span class="muted small">confidence {m.confidence.toFixed(2)}</span>}
        <span class="muted small">
          <Time iso={m.created_at} />
        </span>
      </div>
      <div class="turn-body">{body}</div>
      {citations.length > 0 && (
        <ol class="citations">
          {citations.map((c) => {
            const href = safeHref(c.url);
            const label = `${c.title ?? "source"}${c.heading_path ? ` › ${c.heading_path}` : ""}`;
            return (
              <li value={c.number}>
                {href ? (
                  <a href={href} target="_blank" rel={LINK_REL}>
                    {label}
                  </a>
                ) : (
                  label
                )}
                {c.snippet && <div class="muted small">{c.snippet}</div>}
              </li>
            );
          })}
        </ol>
      )}
      {hasDetails && (
        <div class="details">
          <button type="button" class="linklike" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Hide" : "Show"} route, guard verdicts, tools and timings
          </button>
          {open && (
            <div class="details-body">
              {timings && <TimingBar timings={timings} />}
              {"route" in details && (
                <section>
                  <h3>Route</h3>
                  <JsonView value={details.route} />
                </section>
              )}
              {"guard" in details && (
                <section>
                  <h3>Guard verdicts</h3>
                  <JsonView value={details.guard} />
                </section>
              )}
              {("tool_calls" in details || "tools" in details) && (
                <section>
                  <h3>Tool calls</h3>
                  <JsonView value={details.tool_calls ?? details.tools} />
                </section>
              )}
              {"evidence" in details && (
                <section>
                  <h3>Evidence</h3>
                  <JsonView value={details.evidence} />
                </section>
              )}
            </div>
          )}
        </div>
      )}
    </li>
  );
}

const STAGES = ["inbound", "route", "retrieve", "generate", "guard", "persist"];

export function TimingBar({ timings }: { timings: Record<string, number> }) {
  const total = timings.total || STAGES.reduce((n, s) => n + (timings[s] ?? 0), 0) || 1;
  return (
    <section>
      <h3>Timings ({total.toFixed(1)} ms)</h3>
      <div class="timing" role="img" aria-label={STAGES.map((s) => `${s} ${(timings[s] ?? 0).toFixed(1)} ms`).join(", ")}>
        {STAGES.map((s, i) => (
          <span class={`stage s${i}`} style={{ width: `${Math.max(0.5, (100 * (timings[s] ?? 0)) / total)}%` }} title={`${s}: ${(timings[s] ?? 0).toFixed(1)} ms`} />
        ))}
      </div>
      <ul class="legend">
        {STAGES.map((s, i) => (
          <li>
            <span class={`swatch s${i}`} aria-hidden="true" />
            {s} {(timings[s] ?? 0).toFixed(1)} ms
          </li>
        ))}
      </ul>
    </section>
  );
}
