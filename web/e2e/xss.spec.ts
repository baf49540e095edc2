// W2 (shared/RELIABILITY.md §5): the XSS corpus (about 200 payloads, each
// calling __xss(N) if it ever runs) stored through the API and rendered in
// the widget (on a customer page with no CSP, so the renderer is the only
// defence) and in the dashboard (with its CSP bypassed, for the same reason):
//   - visitors' messages and a person's replies (widget and transcript);
//   - document titles and text: the documents table, the search playground,
//     and the assistant's answers, which cite the documents by title and
//     quote their text (markdown);
//   - contacts' names, email addresses and ids (the conversation list, page
//     by page, and the transcript's heading);
//   - team members' names; the names of a collection, an agent, a deployment
//     and an API key; the widget's greeting (markdown) and launcher text.
// The widget shows a conversation's latest 100 messages, so the corpus is
// spread over several conversations, each opened whole.
//
// The detector: `__xss` is a binding into the test process in every frame of
// every page (a payload that runs in an iframe, or on a page the test has
// already left, is still counted), and any dialog counts too. Pass: zero
// executions and no dialogs, the payloads visibly rendered as text, and a
// control payload known to execute (markup set with innerHTML, in the
// widget's shadow root and in the dashboard) caught by the same detector.

import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { join } from "node:path";
import { XSS_CORPUS, type Payload } from "../tests/xss-corpus";
import { apiCall, state, WEB_DIR } from "./state";

const SHOTS = join(WEB_DIR, "test-results", "screens");

/** Names and titles are one line of at most 200 characters. */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 200);

/** The widget shows a conversation's latest 100 messages: 45 payloads make at most 95 (visitor, assistant, person). */
const CHUNK = 45;
/** The first payloads of each conversation the assistant answers (their route and guard verdicts quote them). */
const ANSWERED = 5;
/** Questions per conversation that the assistant answers from the documents (100 messages), two documents each. */
const QUESTIONS = 50;
/** A page of the documents list. */
const PER_COLLECTION = 100;
/** The control payload's number (the corpus counts from 1). */
const CONTROL = 0;

const started = Date.now();
const mark = (m: string) => console.log(`  [xss +${((Date.now() - started) / 1000).toFixed(1)} s] ${m}`);

/** Runs `f` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, f: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await f(items[i]!, i);
      }
    }),
  );
}

interface Detector {
  /** The payload numbers that ran, with the page they ran on. */
  hits: { n: unknown; url: string }[];
  dialogs: string[];
}

/** A browser context whose pages report every `__xss(N)` call and every dialog to the test. */
async function detecting(ctx: BrowserContext): Promise<Detector> {
  const d: Detector = { hits: [], dialogs: [] };
  await ctx.exposeBinding("__xss", ({ frame }, n: unknown) => {
    d.hits.push({ n, url: frame.url() });
  });
  ctx.on("dialog", (dialog) => {
    d.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return d;
}

/**
 * Waits until every image on the page (shadow roots included) has loaded or
 * failed and every audio or video element has stopped loading, then for two
 * animation frames: an image's error or load event is fired in the same task
 * that marks it complete, and events queued by the page's last changes (a
 * toggle, a media error) run before the frames after them. So a payload
 * that would run from such a late handler has run when this returns.
 */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const all = (root: Document | ShadowRoot): Element[] =>
      [...root.querySelectorAll("*")].flatMap((el) => (el.shadowRoot ? [el, ...all(el.shadowRoot)] : [el]));
    const els = all(document);
    const images = els.filter((el): el is HTMLImageElement => el instanceof HTMLImageElement);
    const media = els.filter((el): el is HTMLMediaElement => el instanceof HTMLMediaElement);
    return images.every((img) => img.complete) && media.every((m) => m.networkState !== HTMLMediaElement.NETWORK_LOADING);
  });
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/** Lets the page's late handlers (a failed image's onerror) fire, then expects that nothing ran. */
async function inert(page: Page, d: Detector, where: string): Promise<void> {
  await settled(page);
  expect(d.hits, `payloads that ran in ${where}`).toEqual([]);
  expect(d.dialogs, `dialogs opened by payloads in ${where}`).toEqual([]);
}

/** Markup that runs when set with innerHTML: the control that proves the detector sees an execution on this page. */
async function control(page: Page, d: Detector, where: "document" | "widget"): Promise<void> {
  const before = d.hits.length;
  await page.evaluate(
    ([n, inWidget]) => {
      const root = inWidget ? document.querySelector("#switchboard-widget")?.shadowRoot : document.body;
      if (!root) throw new Error("no place to put the control payload");
      const el = document.createElement("div");
      el.innerHTML = `<img src="data:," onerror="__xss(${n})">`;
      root.appendChild(el);
    },
    [CONTROL, where === "widget"] as const,
  );
  await expect.poll(() => d.hits.length, { message: `the control payload ran in the ${where} and was counted` }).toBe(before + 1);
  expect(d.hits.pop()!.n).toBe(CONTROL);
}

test.describe.configure({ mode: "serial" });

/** A conversation of payloads (the visitor's messages and a person's replies), or of questions the assistant answers citing payload-titled documents. */
type Kind = "messages" | "questions";

const created = {
  deployment: "",
  collections: [] as string[],
  conversations: [] as { id: string; token: string; kind: Kind; payloads: Payload[] }[],
};

test("the corpus is stored as titles, names, visitors' messages and a person's replies", async () => {
  test.setTimeout(240_000);
  const s = state();
  expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(200);
  mark("setup starts");

  // Knowledge whose titles are the payloads, in collections of a page each.
  const chunks: Payload[][] = [];
  for (let i = 0; i < XSS_CORPUS.length; i += PER_COLLECTION) chunks.push(XSS_CORPUS.slice(i, i + PER_COLLECTION));
  for (const [n, chunk] of chunks.entries()) {
    const name = n === 0 ? oneLine(XSS_CORPUS[0]!.text) : `XSS titles ${n + 1}`;
    const c = await apiCall<{ id: string }>("POST", "/v1/collections", { name, description: oneLine(XSS_CORPUS[1]!.text) });
    created.collections.push(c.id);
    await pool(chunk, 4, (p) =>
      apiCall("POST", `/v1/collections/${c.id}/documents`, {
        title: oneLine(p.text),
        // The answers quote the text: payloads in it reach the assistant's replies (rendered as markdown).
        text: `Refund policy ${p.id}: you can return an item within 30 days of delivery for a full refund.\n\n${p.text}`,
      }),
    );
  }
  mark(`${XSS_CORPUS.length} documents added`);

  const agent = await apiCall<{ id: string }>("POST", "/v1/agents", { name: oneLine(XSS_CORPUS[2]!.text), collection_ids: created.collections });
  const dep = await apiCall<{ id: string }>("POST", "/v1/deployments", {
    name: oneLine(XSS_CORPUS[3]!.text),
    agent_id: agent.id,
    allowed_origins: [s.host],
    // The widget shows both on the customer's page (the greeting as markdown).
    appearance: {
      greeting: `${XSS_CORPUS.find((p) => p.text.startsWith("[click](javascript:"))!.text} ${XSS_CORPUS[3]!.text}`,
      launcher_text: XSS_CORPUS[10]!.text.slice(0, 60),
    },
  });
  created.deployment = dep.id;
  await apiCall("POST", "/v1/api-keys", { name: oneLine(XSS_CORPUS[4]!.text), role: "analyst" });

  // Team members named by the payloads.
  await pool(XSS_CORPUS, 4, (p) =>
    apiCall("POST", "/v1/users", {
      email: `xss${p.id}@e2e.test`,
      name: oneLine(p.text),
      password: `xss-password-${p.id}-long`,
      role: "analyst",
    }),
  );
  mark(`${XSS_CORPUS.length} team members added`);

  // The answers should cite the documents (their titles are payloads too): wait until they are searchable.
  await expect
    .poll(
      async () => {
        let ready = 0;
        for (const c of created.collections) {
          const page = await apiCall<{ documents: { status: string }[] }>("GET", `/v1/collections/${c}/documents?limit=100`);
          ready += page.documents.filter((d) => d.status === "ready").length;
        }
        return ready;
      },
      { timeout: 180_000, intervals: [500, 1000, 2000], message: "every document is ready" },
    )
    .toBe(XSS_CORPUS.length);
  mark("documents ready");

  // Visitors' conversations: every payload as the visitor's message (the
  // assistant answers the first few) and as a person's reply; and questions the
  // assistant answers from the documents, citing them by their titles and
  // quoting their text. The conversations are filled side by side.
  const session = async (who: Payload) => {
    const res = await fetch(`${s.base}/widget/v1/deployments/${dep.id}/sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: s.host },
      // The visitor says who they are: a contact, shown to operators.
      body: JSON.stringify({ name: oneLine(who.text), email: oneLine(who.text) }),
    });
    expect(res.ok, `a visitor session: HTTP ${res.status}`).toBe(true);
    return (await res.json()) as { visitor_token: string; conversation_id: string };
  };
  const work: { kind: Kind; payloads: Payload[] }[] = [];
  for (let i = 0; i < XSS_CORPUS.length; i += CHUNK) work.push({ kind: "messages", payloads: XSS_CORPUS.slice(i, i + CHUNK) });
  for (let i = 0; i < XSS_CORPUS.length; i += 2 * QUESTIONS) work.push({ kind: "questions", payloads: XSS_CORPUS.slice(i, i + 2 * QUESTIONS) });
  await pool(work, 3, async ({ kind, payloads }) => {
    const v = await session(payloads[0]!);
    const conv = v.conversation_id;
    created.conversations.push({ id: conv, token: v.visitor_token, kind, payloads });
    if (kind === "messages") {
      // The assistant answers the first few; then a person has the conversation and the rest are only stored.
      for (const [i, p] of payloads.entries()) {
        if (i === ANSWERED) await apiCall("POST", `/v1/conversations/${conv}/takeover`, {});
        await apiCall("POST", `/v1/conversations/${conv}/messages`, { text: `${p.text} how do returns work?` });
      }
      for (const p of payloads) await apiCall("POST", `/v1/conversations/${conv}/replies`, { text: p.text });
    } else {
      // Two documents a question, found by their policy numbers.
      for (let i = 0; i < payloads.length; i += 2) {
        const ids = payloads.slice(i, i + 2).map((p) => p.id);
        await apiCall("POST", `/v1/conversations/${conv}/messages`, { text: `What do refund policy ${ids.join(" and refund policy ")} say?` });
      }
    }
    mark(`conversation …${conv.slice(-6)}: ${payloads.length} payloads as ${kind}`);
  });
  // Contacts named by the payloads (name, email and your id), each with a conversation.
  await pool(XSS_CORPUS, 4, (p) =>
    apiCall("POST", "/v1/conversations", {
      agent_id: agent.id,
      contact: { external_id: oneLine(p.text), name: oneLine(p.text), email: oneLine(p.text) },
    }),
  );
  mark(`${XSS_CORPUS.length} contacts added`);

  // How many payload titles the answers cite.
  const cited = new Set<string>();
  for (const c of created.conversations.filter((c) => c.kind === "questions")) {
    const page = await apiCall<{ messages: { citations: { title: string }[] }[] }>("GET", `/v1/conversations/${c.id}/messages?limit=100`);
    for (const m of page.messages) for (const x of m.citations) cited.add(x.title);
  }
  mark(`the answers cite ${cited.size} documents`);
  // An answer cites the better match of its two documents: about one title in two (91 to 99 of 200 seen).
  expect(cited.size, "documents the answers cite (by their payload titles)").toBeGreaterThanOrEqual(0.35 * XSS_CORPUS.length);
  created.conversations.sort((a, b) => a.kind.localeCompare(b.kind) || a.payloads[0]!.id - b.payloads[0]!.id);
  mark("setup done");
});

test("the widget renders the corpus inert", async ({ browser }) => {
  test.setTimeout(180_000);
  const s = state();
  expect(created.conversations.length, "the setup test ran").toBeGreaterThan(0);
  for (const [n, conv] of created.conversations.entries()) {
    // The widget, on a page with no CSP, with this visitor's token: their whole history.
    const ctx = await browser.newContext();
    const d = await detecting(ctx);
    await ctx.addInitScript(([key, token]) => localStorage.setItem(key!, token!), [`switchboard:${created.deployment}:visitor`, conv.token]);
    const page = await ctx.newPage();
    await page.goto(`${s.host}/?deployment=${created.deployment}`);
    await page.getByRole("button", { name: /Open chat/ }).click();
    const panel = page.getByRole("dialog");
    // Every payload shown (an unsafe link is reduced to its label, so count rather than read).
    const asked = conv.kind === "messages" ? conv.payloads.length : Math.ceil(conv.payloads.length / 2);
    await expect(panel.locator(".msg.customer")).toHaveCount(asked, { timeout: 30_000 });
    if (conv.kind === "messages") await expect(panel.locator(".msg.human")).toHaveCount(conv.payloads.length);
    else await expect(panel.locator(".msg.assistant .citation").first()).toContainText("__xss(");
    await expect(panel).toContainText("__xss(");
    await panel.locator(".log").evaluate((el) => el.scrollTo(0, 0));
    await expect.poll(() => panel.locator(".log").evaluate((el) => el.scrollTop)).toBe(0);
    await settled(page);
    if (n === 0) await page.screenshot({ path: join(SHOTS, "20-xss-widget.png") });
    if (n === created.conversations.length - 1) await page.screenshot({ path: join(SHOTS, "21-xss-widget-citations.png") });
    const ids = `${conv.payloads[0]!.id}-${conv.payloads[conv.payloads.length - 1]!.id}`;
    expect(d.hits, `payloads ${ids} that ran in the widget`).toEqual([]);
    expect(d.dialogs, `dialogs opened by payloads ${ids}`).toEqual([]);
    // The detector sees an execution inside the widget's shadow root.
    await control(page, d, "widget");
    await ctx.close();
    expect(d.hits).toEqual([]);
    mark(`widget: conversation ${n + 1} of ${created.conversations.length} inert`);
  }
});

test("the dashboard renders the corpus inert", async ({ browser }) => {
  test.setTimeout(180_000);
  const s = state();
  expect(created.conversations.length, "the setup test ran").toBeGreaterThan(0);
  // The dashboard's CSP would block inline handlers; bypass it so the renderer is the only defence.
  const ctx = await browser.newContext({ bypassCSP: true });
  const d = await detecting(ctx);
  const op = await ctx.newPage();
  await op.goto(`${s.base}/app/`);
  await op.getByLabel("Email").fill(s.email);
  await op.getByLabel("Password").fill(s.password);
  await op.getByRole("button", { name: "Log in" }).click();
  await expect(op.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
  // The control first: with the CSP bypassed, markup that runs is counted here.
  await control(op, d, "document");

  // Transcripts: the visitor's messages, the answers with their citations (payload titles), the person's replies,
  // and a few turns' details (route and guard verdicts quote the visitor's text).
  for (const [n, conv] of created.conversations.entries()) {
    await op.goto(`${s.base}/app/conversations/${conv.id}`);
    const transcript = op.getByRole("list", { name: "Transcript" });
    const asked = conv.kind === "messages" ? conv.payloads.length : Math.ceil(conv.payloads.length / 2);
    await expect(transcript.locator(".turn.customer")).toHaveCount(asked, { timeout: 30_000 });
    if (conv.kind === "messages") await expect(transcript.locator(".turn.human")).toHaveCount(conv.payloads.length);
    else await expect(transcript.locator(".citations").first()).toContainText("__xss(");
    await expect(op.locator(".page-head .contact-name")).toContainText("__xss(");
    await inert(op, d, `the dashboard's transcript ${n + 1}`);
    const details = op.getByRole("button", { name: /Show route, guard verdicts/ });
    for (let i = 0; i < Math.min(4, await details.count()); i++) await details.first().click();
    if (n === 0) await op.screenshot({ path: join(SHOTS, "22-xss-transcript.png") });
    if (n === created.conversations.length - 1) await op.screenshot({ path: join(SHOTS, "23-xss-transcript-citations.png") });
    mark(`dashboard: transcript ${n + 1} of ${created.conversations.length}`);
  }

  // The conversation list, page by page: every contact's name.
  await op.goto(`${s.base}/app/conversations`);
  const table = op.getByRole("table", { name: "Conversations" });
  const rows = created.conversations.map((c) => `tr[data-conversation="${c.id}"]`).join(", ");
  let named = 0;
  let listed = 0;
  for (let page = 1; ; page++) {
    await expect(table.locator("tbody tr").first()).toBeVisible();
    named += await table.locator(".contact-name", { hasText: "__xss(" }).count();
    listed += await table.locator(rows).count();
    await inert(op, d, `the dashboard's conversation list, page ${page}`);
    if (page === 1) await op.screenshot({ path: join(SHOTS, "24-xss-conversations.png") });
    const older = op.getByRole("button", { name: "Older" });
    if ((await older.count()) === 0) break;
    const first = await table.locator("tbody tr").first().getAttribute("data-conversation");
    await older.click();
    await expect(table.locator("tbody tr").first()).not.toHaveAttribute("data-conversation", first!);
  }
  mark(`dashboard: ${named} contacts named by payloads in the conversation list`);
  expect(listed, "the visitors' conversations in the list").toBe(created.conversations.length);
  expect(named, "contacts listed by their payload names").toBe(XSS_CORPUS.length + created.conversations.length);

  // Documents (titles) and the search playground (titles, text, heading paths).
  for (const [n, c] of created.collections.entries()) {
    await op.goto(`${s.base}/app/knowledge/${c}`);
    const docs = op.getByRole("table", { name: "Documents" });
    await expect(docs).toContainText("__xss(");
    await expect(docs.getByRole("row")).toHaveCount(Math.min(PER_COLLECTION, XSS_CORPUS.length - n * PER_COLLECTION) + 1);
    await op.getByRole("tab", { name: "Search" }).click();
    await op.getByLabel("Query").fill("how do returns and refunds work");
    await op.getByRole("button", { name: "Search" }).click();
    await expect(op.locator("ol.results li").first()).toContainText("__xss(");
    await inert(op, d, `the dashboard's collection ${n + 1}`);
    mark(`dashboard: collection ${n + 1} of ${created.collections.length}`);
  }
  await op.screenshot({ path: join(SHOTS, "25-xss-search.png") });

  // Collections, agents, deployments and API keys listed by name; the agent's editor lists its collections.
  for (const [link, heading] of [
    ["Knowledge", "Knowledge"],
    ["Agents", "Agents"],
    ["Deployments", "Deployments"],
    ["API keys", "API keys"],
  ] as const) {
    await op.getByRole("link", { name: link, exact: true }).click();
    await expect(op.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await expect(op.locator("main")).toContainText("__xss(");
  }
  // The agent's and the deployment's own pages (titled by their names; the agent's lists the collections).
  for (const [link, table] of [
    ["Agents", "Agents"],
    ["Deployments", "Deployments"],
  ] as const) {
    await op.getByRole("link", { name: link, exact: true }).click();
    await op.getByRole("table", { name: table }).getByRole("link").filter({ hasText: "__xss(" }).first().click();
    await expect(op.getByRole("heading", { level: 1 })).toContainText("__xss(");
  }
  mark("dashboard: names of collections, agents, deployments, keys");

  // Team (every member's name) and the audit log with every entry's details open.
  await op.getByRole("link", { name: "Team" }).click();
  const members = op.getByRole("table", { name: "Members" });
  await expect(members.getByRole("row")).toHaveCount(XSS_CORPUS.length + 2);
  await expect(members).toContainText("__xss(");
  await op.getByRole("link", { name: "Audit log" }).click();
  await expect(op.getByRole("table", { name: "Audit log" })).toBeVisible();
  await op.locator("details").evaluateAll((all) => all.forEach((el) => ((el as HTMLDetailsElement).open = true)));
  await op.screenshot({ path: join(SHOTS, "26-xss-team-audit.png") });
  mark("dashboard: team and audit log");

  await ctx.close();
  expect(d.hits, "payloads that ran in the dashboard").toEqual([]);
  expect(d.dialogs, "dialogs opened by payloads in the dashboard").toEqual([]);
});
