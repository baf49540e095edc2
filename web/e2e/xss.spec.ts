// W2 (shared/RELIABILITY.md §5): the XSS corpus (about 200 payloads, each
// calling window.__xss(N) if it ever runs) injected as visitor messages, as
// a person's replies, as document titles (which come back as citation titles
// in assistant replies and in the search playground) and as team members'
// names, then rendered in the widget on a page with no CSP at all (so the
// renderer is the only defence) and in the dashboard. Pass: zero executions,
// no dialogs, and the payloads visibly rendered as text.

import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { join } from "node:path";
import { XSS_CORPUS } from "../tests/xss-corpus";
import { apiCall, state, WEB_DIR } from "./state";

const SHOTS = join(WEB_DIR, "test-results", "screens");

/** Names and titles are one line of at most 200 characters. */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 200);

interface Hooked {
  hits: () => Promise<number[]>;
  dialogs: string[];
}

async function hook(ctx: BrowserContext, page: Page): Promise<Hooked> {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __xss: (n: unknown) => void; __xssHits: unknown[] };
    w.__xssHits = [];
    w.__xss = (n) => w.__xssHits.push(n);
  });
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return {
    dialogs,
    hits: () => page.evaluate(() => (window as unknown as { __xssHits: number[] }).__xssHits),
  };
}

test.describe.configure({ mode: "serial" });

test("the XSS corpus renders inert in the widget and the dashboard", async ({ browser }) => {
  test.setTimeout(1_800_000);
  const s = state();
  expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(200);

  // Knowledge whose titles are the payloads, in collections of at most 100 (a page of the list).
  const collections: string[] = [];
  for (let i = 0; i < XSS_CORPUS.length; i += 100) {
    const c = await apiCall<{ id: string }>("POST", "/v1/collections", { name: `XSS titles ${i / 100 + 1}` });
    collections.push(c.id);
    for (const p of XSS_CORPUS.slice(i, i + 100)) {
      await apiCall("POST", `/v1/collections/${c.id}/documents`, {
        title: oneLine(p.text),
        text: `Returns and refunds: you can return an item within 30 days of delivery for a full refund (policy ${p.id}).`,
      });
    }
  }
  const agent = await apiCall<{ id: string }>("POST", "/v1/agents", { name: "XSS agent", collection_ids: collections });
  const dep = await apiCall<{ id: string }>("POST", "/v1/deployments", { name: "XSS site", agent_id: agent.id, allowed_origins: [s.host] });

  // Team members named by the payloads.
  for (const p of XSS_CORPUS) {
    await apiCall("POST", "/v1/users", {
      email: `xss${p.id}@e2e.test`,
      name: oneLine(p.text),
      password: `xss-password-${p.id}-long`,
      role: "analyst",
    });
  }

  // Visitors' conversations: every payload as the visitor's message (the AI
  // answers each, citing documents titled by payloads), then as a person's
  // reply. The widget shows a conversation's latest 100 messages, so the
  // corpus is spread over conversations of 33 payloads (99 messages each).
  const conversations: string[] = [];
  const CHUNK = 33;
  for (let i = 0; i < XSS_CORPUS.length; i += CHUNK) {
    const chunk = XSS_CORPUS.slice(i, i + CHUNK);
    const session = (await (
      await fetch(`${s.base}/widget/v1/deployments/${dep.id}/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: s.host },
        body: JSON.stringify({}),
      })
    ).json()) as { visitor_token: string; conversation_id: string };
    expect(session.visitor_token).toBeTruthy();
    const conv = session.conversation_id;
    conversations.push(conv);
    for (const p of chunk) await apiCall("POST", `/v1/conversations/${conv}/messages`, { text: `${p.text} how do returns work?` });
    await apiCall("POST", `/v1/conversations/${conv}/takeover`, {});
    for (const p of chunk) await apiCall("POST", `/v1/conversations/${conv}/replies`, { text: p.text });

    // The widget, on a page with no CSP, with this visitor's token: their whole history.
    const visitorCtx = await browser.newContext();
    await visitorCtx.addInitScript(
      ([key, token]) => localStorage.setItem(key!, token!),
      [`switchboard:${dep.id}:visitor`, session.visitor_token],
    );
    const visitor = await visitorCtx.newPage();
    const vh = await hook(visitorCtx, visitor);
    await visitor.goto(`${s.host}/?deployment=${dep.id}`);
    await visitor.getByRole("button", { name: /Open chat/ }).click();
    const panel = visitor.getByRole("dialog");
    // Every payload shown (an unsafe link is reduced to its label, so count rather than read).
    await expect(panel.locator(".msg.human")).toHaveCount(chunk.length, { timeout: 60_000 });
    await expect(panel.locator(".msg.customer")).toHaveCount(chunk.length);
    await expect(panel).toContainText("__xss(");
    await panel.locator(".log").evaluate((el) => el.scrollTo(0, 0));
    await visitor.waitForTimeout(1000);
    if (i === 0) await visitor.screenshot({ path: join(SHOTS, "20-xss-widget.png") });
    expect(await vh.hits(), `payloads ${chunk[0]!.id}-${chunk[chunk.length - 1]!.id} that ran in the widget`).toEqual([]);
    expect(vh.dialogs).toEqual([]);
    await visitorCtx.close();
  }

  // The dashboard: transcript (messages, citations with payload titles), documents, search, team, audit.
  const opCtx = await browser.newContext();
  const op = await opCtx.newPage();
  const oh = await hook(opCtx, op);
  await op.goto(`${s.base}/app/`);
  await op.getByLabel("Email").fill(s.email);
  await op.getByLabel("Password").fill(s.password);
  await op.getByRole("button", { name: "Log in" }).click();
  await expect(op.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();

  for (const [n, conv] of conversations.entries()) {
    await op.goto(`${s.base}/app/conversations/${conv}`);
    const transcript = op.getByRole("list", { name: "Transcript" });
    const size = Math.min(CHUNK, XSS_CORPUS.length - n * CHUNK);
    await expect(transcript.locator(".turn.human")).toHaveCount(size, { timeout: 60_000 });
    await expect(transcript.locator(".turn.customer")).toHaveCount(size);
    // The details of a few turns (route and guard verdicts quote the visitor's text).
    for (const b of (await op.getByRole("button", { name: /Show route, guard verdicts/ }).all()).slice(0, 4)) await b.click();
    if (n === 0) await op.screenshot({ path: join(SHOTS, "21-xss-transcript.png") });
  }

  for (const c of collections) {
    await op.goto(`${s.base}/app/knowledge/${c}`);
    await expect(op.getByRole("table", { name: "Documents" })).toContainText("__xss(");
    await op.getByRole("tab", { name: "Search" }).click();
    await op.getByLabel("Query").fill("how do returns and refunds work");
    await op.getByRole("button", { name: "Search" }).click();
    await expect(op.locator("ol.results li").first()).toBeVisible();
  }
  await op.screenshot({ path: join(SHOTS, "22-xss-search.png") });

  await op.getByRole("link", { name: "Team" }).click();
  await expect(op.getByRole("table", { name: "Members" })).toContainText("__xss(");
  await op.getByRole("link", { name: "Audit log" }).click();
  await expect(op.getByRole("table", { name: "Audit log" })).toBeVisible();
  for (const d of await op.locator("details summary").all()) await d.click();
  await op.waitForTimeout(1500);
  await op.screenshot({ path: join(SHOTS, "23-xss-team-audit.png") });

  expect(await oh.hits(), "payloads that ran in the dashboard").toEqual([]);
  expect(oh.dialogs).toEqual([]);
  await opCtx.close();
});
