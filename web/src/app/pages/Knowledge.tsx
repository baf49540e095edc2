// Knowledge: collections, their documents (drag-and-drop upload with live
// progress, crawl a URL, plain text, an FAQ editor), and a search playground
// showing each result's text, heading path and per-signal scores.

import { useEffect, useRef, useState } from "preact/hooks";
import type { BodyOf, ResponseOf } from "../../api";
import { api, csrfHeaders, follow, ok } from "../api";
import { jsonData } from "../../shared/sse";
import { Link, navigate } from "../router";
import { Badge, Empty, ErrorNote, Field, Loading, Page, Tabs, Time, useAction, useLoad } from "../ui";
import { EmbeddingPanel } from "./CollectionEmbedding";

type Collection = ResponseOf<"/v1/collections/{id}", "get">;
type Doc = ResponseOf<"/v1/documents/{id}", "get">;
type Accepted = ResponseOf<"/v1/collections/{id}/documents", "post">;
type CrawlSource = ResponseOf<"/v1/crawl-sources/{id}", "get">;
type SearchResponse = ResponseOf<"/v1/collections/{id}/search", "post">;
type SearchMode = NonNullable<BodyOf<"/v1/collections/{id}/search", "post">["mode"]>;

export function Knowledge() {
  const list = useLoad(async () => ok(await api.GET("/v1/collections", { params: { query: { limit: 100 } } })), []);
  const [name, setName] = useState("");
  const create = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const c = await create.run(async () => ok(await api.POST("/v1/collections", { body: { name } })));
    if (c) navigate(`/knowledge/${c.id}`);
  };
  return (
    <Page title="Knowledge" sub="Collections of documents your agents answer from.">
      <form class="inline-form" onSubmit={(e) => void submit(e)}>
        <Field label="New collection">
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Help center" />
        </Field>
        <button type="submit" disabled={create.busy}>
          Create
        </button>
      </form>
      <ErrorNote error={create.error ?? list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.collections.length === 0 ? (
        <Empty>No collections yet. Create one, then upload documents to it.</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.collections.map((c) => (
              <tr>
                <td>
                  <Link href={`/knowledge/${c.id}`}>{c.name}</Link>
                </td>
                <td>{c.description}</td>
                <td>
                  <Time iso={c.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

export function CollectionView({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const coll = useLoad(async () => ok(await api.GET("/v1/collections/{id}", { params: { path: { id } } })), [id]);
  const [tab, setTab] = useState("Documents");
  if (coll.error) return <Page title="Collection"><ErrorNote error={coll.error} /></Page>;
  if (!coll.data) return <Loading />;
  return (
    <Page title={coll.data.name} sub={coll.data.description || `Embedding model ${coll.data.embedding_model}`}>
      <Tabs tabs={["Documents", "FAQ", "Search", "Embedding"]} active={tab} onChange={setTab} />
      {tab === "Documents" && <Documents collection={coll.data} />}
      {tab === "FAQ" && <FaqEditor collection={coll.data} />}
      {tab === "Search" && <SearchPlayground collection={coll.data} />}
      {tab === "Embedding" && <EmbeddingPanel collection={coll.data} onChanged={coll.set} />}
    </Page>
  );
}

interface Upload {
  name: string;
  sent: number;
  total: number;
  error?: string;
  done: boolean;
}

/** Uploads with XMLHttpRequest, which (unlike fetch) reports upload progress. */
function upload(collectionId: string, files: File[], onProgress: (sent: number, total: number) => void): Promise<Accepted> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append("file", f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/collections/${encodeURIComponent(collectionId)}/documents`);
    for (const [k, v] of Object.entries(csrfHeaders("POST"))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as Accepted);
      else reject(new Error((body as { detail?: string } | undefined)?.detail ?? `upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(form);
  });
}

/** Documents followed live at once (event streams); more unfinished ones are polled. */
const MAX_FOLLOWED = 2;
const POLL_MS = 2000;

function Documents({ collection }: { collection: Collection }) {
  const docs = useLoad(
    async () => ok(await api.GET("/v1/collections/{id}/documents", { params: { path: { id: collection.id }, query: { limit: 100 } } })),
    [collection.id],
  );
  const [live, setLive] = useState<Record<string, Doc>>({});
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [drag, setDrag] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const followed = useRef(new Map<string, AbortController>());

  useEffect(() => () => followed.current.forEach((a) => a.abort()), []);

  // Follow documents that are not finished yet, a few at a time: each stream
  // holds one of the browser's six connections to the server, and a page that
  // held them all would leave every other request (search, saving) waiting.
  // The rest are polled with the list until a stream is free.
  const watch = (docId: string) => {
    if (followed.current.has(docId) || followed.current.size >= MAX_FOLLOWED) return;
    const abort = new AbortController();
    followed.current.set(docId, abort);
    void follow(
      `/v1/documents/${encodeURIComponent(docId)}/events`,
      (e) => {
        const d = e.event === "status" ? jsonData<Doc>(e) : undefined;
        if (d) setLive((l) => ({ ...l, [d.id]: d }));
      },
      abort.signal,
    )
      .catch(() => undefined)
      .finally(() => {
        followed.current.delete(docId);
        docs.reload();
      });
  };

  useEffect(() => {
    const unfinished = (docs.data?.documents ?? []).filter((d) => d.status !== "ready" && d.status !== "failed");
    for (const d of unfinished) watch(d.id);
    if (unfinished.every((d) => followed.current.has(d.id))) return;
    const t = setTimeout(() => docs.reload(), POLL_MS);
    return () => clearTimeout(t);
  }, [docs.data]);

  const send = async (files: File[]) => {
    if (files.length === 0) return;
    const name = files.length === 1 ? files[0]!.name : `${files.length} files`;
    const total = files.reduce((n, f) => n + f.size, 0);
    const index = uploads.length;
    setUploads((u) => [...u, { name, sent: 0, total, done: false }]);
    const patch = (p: Partial<Upload>) => setUploads((u) => u.map((x, i) => (i === index ? { ...x, ...p } : x)));
    try {
      const accepted = await upload(collection.id, files, (sent, t) => patch({ sent, total: t }));
      patch({ done: true, sent: total });
      for (const d of accepted.documents) watch(d.id);
      docs.reload();
    } catch (e) {
      patch({ error: e instanceof Error ? e.message : String(e), done: true });
    }
  };

  const rows = (docs.data?.documents ?? []).map((d) => live[d.id] ?? d);
  return (
    <div>
      <div
        class={`dropzone${drag ? " over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDrag(true);
        }}
        onDragLeave={() => setDrag(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDrag(false);
          void send([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <p>
          Drop files here (PDF, DOCX, HTML, Markdown, text, CSV FAQ) or{" "}
          <button type="button" class="linklike" onClick={() => fileInput.current?.click()}>
            choose files
          </button>
          .
        </p>
        <input
          ref={fileInput}
          type="file"
          multiple
          class="sr-only"
          aria-label="Upload documents"
          data-testid="upload-input"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = "";
            void send(files);
          }}
        />
      </div>
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li>
              <span>{u.name}</span>
              <progress max={u.total || 1} value={u.sent} aria-label={`Uploading ${u.name}`} />
              <span class={u.error ? "error-text" : "muted"}>{u.error ?? (u.done ? "uploaded" : `${Math.round((100 * u.sent) / (u.total || 1))}%`)}</span>
            </li>
          ))}
        </ul>
      )}
      <div class="two-col">
        <AddUrl
          collection={collection}
          onAdded={(id) => {
            if (id) watch(id);
            docs.reload();
          }}
        />
        <AddText collection={collection} onAdded={(id) => { watch(id); docs.reload(); }} />
      </div>
      <ErrorNote error={docs.error} />
      <h2>Documents</h2>
      {docs.loading && !docs.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <Empty>No documents yet.</Empty>
      ) : (
        <table class="list" aria-label="Documents">
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Status</th>
              <th scope="col">Chunks</th>
              <th scope="col">Version</th>
              <th scope="col">Updated</th>
              <th scope="col"><span class="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr data-document={d.id}>
                <td>
                  <span class="doc-title">{d.title}</span>
                  {d.url && <div class="muted small">{d.url}</div>}
                  {d.error && <div class="error-text small">{d.error}</div>}
                </td>
                <td>
                  <Badge value={d.status} />
                </td>
                <td>{d.chunk_count}</td>
                <td>{d.version}</td>
                <td>
                  <Time iso={d.updated_at} />
                </td>
                <td>
                  <DeleteDoc doc={d} onDeleted={docs.reload} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function DeleteDoc({ doc, onDeleted }: { doc: Doc; onDeleted: () => void }) {
  const a = useAction();
  return (
    <button
      type="button"
      class="ghost danger"
      aria-label={`Delete ${doc.title}`}
      disabled={a.busy}
      onClick={() => {
        if (!confirm(`Delete “${doc.title}” and all its versions?`)) return;
        void a.run(async () => ok(await api.DELETE("/v1/documents/{id}", { params: { path: { id: doc.id } } }))).then(onDeleted);
      }}
    >
      Delete
    </button>
  );
}

/** A crawl's progress, polled until it is idle again. */
function CrawlStatus({ id, onProgress }: { id: string; onProgress: () => void }) {
  const [src, setSrc] = useState<CrawlSource>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stop = false;
    let t: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const s = ok(await api.GET("/v1/crawl-sources/{id}", { params: { path: { id } } }));
        if (stop) return;
        setSrc(s);
        onProgress();
        if (s.status !== "idle") t = setTimeout(() => void tick(), 2000);
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(t);
    };
  }, [id]);
  if (error) return <ErrorNote error={error} />;
  if (!src) return null;
  const p = src.pages;
  return (
    <p role="status" class="small">
      Crawl of {src.start_url}: <Badge value={src.status} /> {p.indexed} indexed, {p.unchanged} unchanged, {p.pending} pending, {p.skipped}{" "}
      skipped, {p.failed} failed{src.truncated && ` (stopped at ${src.max_pages} pages)`}
      {src.last_error && <span class="error-text"> · {src.last_error}</span>}
    </p>
  );
}

function AddUrl({ collection, onAdded }: { collection: Collection; onAdded: (id: string) => void }) {
  const [url, setUrl] = useState("");
  const [crawlId, setCrawlId] = useState<string>();
  const [crawl, setCrawl] = useState(true);
  const [maxPages, setMaxPages] = useState(50);
  const a = useAction();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void a
          .run(async () =>
            ok(
              await api.POST("/v1/collections/{id}/documents", {
                params: { path: { id: collection.id } },
                body: crawl ? { url, crawl: { max_pages: maxPages } } : { url },
              }),
            ),
          )
          .then((r) => {
            if (!r) return;
            setUrl("");
            if (r.crawl_source_id) setCrawlId(r.crawl_source_id);
            for (const d of r.documents) onAdded(d.id);
          });
      }}
    >
      <h2>Add a web page</h2>
      {crawlId && <CrawlStatus id={crawlId} onProgress={() => onAdded("")} />}
      <Field label="URL">
        <input type="url" required placeholder="https://help.example.com/" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </Field>
      <label class="check">
        <input type="checkbox" checked={crawl} onChange={(e) => setCrawl(e.currentTarget.checked)} /> Crawl the site from here
      </label>
      {crawl && (
        <Field label="At most this many pages">
          <input type="number" min={1} max={10000} value={maxPages} onInput={(e) => setMaxPages(Number(e.currentTarget.value))} />
        </Field>
      )}
      <ErrorNote error={a.error} />
      <button type="submit" disabled={a.busy}>
        {crawl ? "Crawl" : "Add page"}
      </button>
    </form>
  );
}

function AddText({ collection, onAdded }: { collection: Collection; onAdded: (id: string) => void }) {
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const a = useAction();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void a
          .run(async () =>
            ok(await api.POST("/v1/collections/{id}/documents", { params: { path: { id: collection.id } }, body: { title, text } })),
          )
          .then((r) => {
            if (!r) return;
            setTitle("");
            setText("");
            for (const d of r.documents) onAdded(d.id);
          });
      }}
    >
      <h2>Write a document</h2>
      <Field label="Title">
        <input required maxLength={300} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </Field>
      <Field label="Text (Markdown)">
        <textarea required rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </Field>
      <ErrorNote error={a.error} />
      <button type="submit" disabled={a.busy}>
        Add
      </button>
    </form>
  );
}

function FaqEditor({ collection }: { collection: Collection }) {
  const [title, setTitle] = useState("FAQ");
  const [items, setItems] = useState([{ question: "", answer: "" }]);
  const [saved, setSaved] = useState<string>();
  const a = useAction();
  const update = (i: number, p: Partial<{ question: string; answer: string }>) =>
    setItems(items.map((x, j) => (j === i ? { ...x, ...p } : x)));
  return (
    <form
      class="faq"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(undefined);
        const faq = items.filter((x) => x.question.trim() && x.answer.trim());
        void a
          .run(async () => ok(await api.POST("/v1/collections/{id}/documents", { params: { path: { id: collection.id } }, body: { title, faq } })))
          .then((r) => r && setSaved(`Saved ${faq.length} questions; the document is ${r.documents[0]?.status ?? "queued"}.`));
      }}
    >
      <p class="muted">
        Each FAQ is one document: saving the same title again replaces its previous version.
      </p>
      <Field label="FAQ title">
        <input required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </Field>
      {items.map((x, i) => (
        <fieldset class="faq-item">
          <legend>Question {i + 1}</legend>
          <Field label="Question">
            <input value={x.question} onInput={(e) => update(i, { question: e.currentTarget.value })} />
          </Field>
          <Field label="Answer">
            <textarea rows={3} value={x.answer} onInput={(e) => update(i, { answer: e.currentTarget.value })} />
          </Field>
          <button type="button" class="ghost danger" onClick={() => setItems(items.filter((_, j) => j !== i))} disabled={items.length === 1}>
            Remove
          </button>
        </fieldset>
      ))}
      <div class="row">
        <button type="button" class="secondary" onClick={() => setItems([...items, { question: "", answer: "" }])}>
          Add a question
        </button>
        <button type="submit" disabled={a.busy}>
          Save FAQ
        </button>
      </div>
      <ErrorNote error={a.error} />
      {saved && <p role="status">{saved}</p>}
    </form>
  );
}

function SearchPlayground({ collection }: { collection: Collection }) {
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<SearchMode>("hybrid");
  const [result, setResult] = useState<SearchResponse>();
  const a = useAction();
  return (
    <div>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void a
            .run(async () =>
              ok(await api.POST("/v1/collections/{id}/search", { params: { path: { id: collection.id } }, body: { query, top_k: 10, mode } })),
            )
            .then((r) => r && setResult(r));
        }}
      >
        <Field label="Query">
          <input required value={query} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="How long do I have to return an item?" />
        </Field>
        <Field label="Mode">
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value as SearchMode)}>
            <option value="hybrid">hybrid</option>
            <option value="bm25">full text (BM25)</option>
            <option value="dense">vectors</option>
          </select>
        </Field>
        <button type="submit" disabled={a.busy}>
          Search
        </button>
      </form>
      <ErrorNote error={a.error} />
      {result && (
        <div>
          <p class="muted">
            {result.results.length} results · mode {result.mode}
            {!result.dense_available && " · vectors unavailable (no embedding model): full text only"}
          </p>
          <ol class="results">
            {result.results.map((r) => (
              <li class="card">
                <div class="result-head">
                  <strong>{r.title}</strong>
                  {r.heading_path && <span class="muted"> › {r.heading_path}</span>}
                  {r.page != null && <span class="muted"> · page {r.page}</span>}
                </div>
                <p class="result-text">{r.text}</p>
                <dl class="scores">
                  <dt>fused</dt>
                  <dd>{r.score.toFixed(4)}</dd>
                  {Object.entries(r.scores).map(([signal, s]) => (
                    <>
                      <dt>{signal}</dt>
                      <dd>{s ? `#${s.rank} · ${s.score.toFixed(4)}` : "—"}</dd>
                    </>
                  ))}
                </dl>
              </li>
            ))}
          </ol>
        </div>
      )}
    </div>
  );
}
