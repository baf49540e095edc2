// The story of issue 5, in a real browser against the real server: an
// operator logs in, uploads a document and waits until it is ready, sets up
// an agent and a deployment; a visitor on the customer's site asks through
// the widget and sees a streamed answer with a citation, asks for a human;
// the operator takes over and replies from the dashboard; the visitor sees
// the person join and their reply, and rates the conversation once resolved.
// Screenshots of the main screens go to test-results/screens/.

import { expect, test, type Page } from "@playwright/test";
import { join, resolve } from "node:path";
import { state, WEB_DIR } from "./state";

const SHOTS = join(WEB_DIR, "test-results", "screens");
const REPO = resolve(WEB_DIR, "..");
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test.describe.configure({ mode: "serial" });

let deploymentId = "";
const question = "How long do I have to return an item?";
const humanReply = "Hi, this is Sam from support. I have extended your return window by two weeks.";

async function login(page: Page) {
  const s = state();
  await page.goto(`${s.base}/app/`);
  await page.getByLabel("Email").fill(s.email);
  await page.getByLabel("Password").fill(s.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
}

test("an operator logs in, uploads a document and sees it become ready", async ({ page }) => {
  const s = state();
  await page.goto(`${s.base}/app/`);
  await expect(page.getByRole("heading", { name: "Log in to Switchboard" })).toBeVisible();
  await shot(page, "01-login");
  // A wrong password is refused with a readable message.
  await page.getByLabel("Email").fill(s.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText(/wrong email or password/i);
  await login(page);
  await shot(page, "02-overview");

  await page.getByRole("link", { name: "Knowledge" }).click();
  await page.getByLabel("New collection").fill("Help center");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("heading", { name: "Help center", level: 1 })).toBeVisible();

  await page.getByTestId("upload-input").setInputFiles(join(REPO, "samples/shop/kb/returns-and-refunds.md"));
  const row = page.getByRole("table", { name: "Documents" }).getByRole("row").nth(1);
  // Live progress: the status follows the document's event stream to ready.
  await expect(row.locator(".badge")).toHaveText("ready", { timeout: 120_000 });
  await expect(row.getByRole("cell").nth(2)).not.toHaveText("0");
  await shot(page, "03-knowledge-ready");

  // The search playground shows text, heading path and per-signal scores.
  await page.getByRole("tab", { name: "Search" }).click();
  await page.getByLabel("Query").fill(question);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("ol.results li").first()).toBeVisible();
  await expect(page.locator("dl.scores").first()).toContainText("fused");
  await shot(page, "04-search-playground");

  await page.getByRole("link", { name: "Agents" }).click();
  await page.getByLabel("Name").fill("Shop assistant");
  await page.getByLabel("Help center").check();
  await page.getByRole("button", { name: "Create agent" }).click();
  await expect(page.getByRole("heading", { name: "Shop assistant", level: 1 })).toBeVisible();
  await shot(page, "05-agent");

  // The AI model: an endpoint with an API key kept as a secret, added without
  // leaving the editor. A refused setting is shown in the section; the saved
  // one is a draft, so the live version keeps the built-in answerer.
  await page.getByLabel("An OpenAI-compatible endpoint").check();
  await page.getByLabel(/^Base URL/).fill("https://user:pw@llm.example.com/v1");
  await page.getByLabel(/^Model/).fill("gpt-4o-mini");
  await page.getByRole("button", { name: "New secret…" }).first().click();
  const dialog = page.getByRole("dialog", { name: "New secret" });
  await dialog.getByLabel("Secret name").fill("llm-key");
  await dialog.getByLabel("Secret value").fill("sk-e2e-not-a-real-key");
  await dialog.getByRole("button", { name: "Add secret" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByLabel(/^API key/)).toHaveValue("llm-key");
  await page.getByLabel(/^Temperature/).fill("0.2");
  await page.getByRole("button", { name: "Save as new version" }).click();
  const model = page.getByRole("group", { name: "AI model" });
  await expect(model.getByRole("alert")).toContainText("llm.base_url");
  await expect(page.getByLabel(/^Base URL/)).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel(/^Base URL/).fill("https://llm.example.com/v1");
  await page.getByRole("button", { name: "Save as new version" }).click();
  await expect(page.getByText("Saved as draft version 2")).toBeVisible();
  await expect(model.getByRole("alert")).toHaveCount(0);
  await shot(page, "05b-agent-model");

  // Tools: an HTTP tool whose header takes the secret; parameters that are not
  // JSON are caught before saving; a URL placeholder the parameters lack is
  // refused by the server and shown in the section.
  const tools = page.getByRole("group", { name: "Tools", exact: true });
  await tools.getByRole("button", { name: "Add HTTP tool" }).click();
  await expect(tools.getByLabel(/^Tool name/)).toBeFocused();
  await tools.getByLabel(/^Tool name/).fill("order_status");
  await tools.getByLabel(/^Description/).fill("Looks up an order's status by its number.");
  await tools.getByLabel(/^URL/).fill("https://shop.example.com/api/orders/{order}");
  await tools.getByLabel(/^Parameters/).fill('{"type": "object", "properties": {"order_id": ');
  await expect(tools.getByText(/Not valid JSON/)).toBeVisible();
  await tools.getByLabel(/^Parameters/).fill('{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}');
  await tools.getByRole("button", { name: "Add header" }).click();
  await tools.getByLabel(/^Header name/).fill("Authorization");
  await tools.getByLabel(/^Header secret/).selectOption("llm-key");
  await tools.getByLabel(/^Header value/).fill("Bearer {secret}");
  await page.getByRole("button", { name: "Save as new version" }).click();
  await expect(tools.getByRole("alert")).toContainText("`tools.http[0].url` uses `{order}`");
  await tools.getByLabel(/^URL/).fill("https://shop.example.com/api/orders/{order_id}");
  await page.getByRole("button", { name: "Save as new version" }).click();
  await expect(page.getByText("Saved as draft version 3")).toBeVisible();
  await expect(page.getByRole("group", { name: "order_status" })).toBeVisible();
  await shot(page, "05c-agent-tools");

  await page.getByRole("link", { name: "Deployments" }).click();
  await page.getByLabel("Allowed origins").fill(s.host);
  await page.getByRole("button", { name: "Create deployment" }).click();
  await expect(page.getByRole("heading", { name: "Identity verification secret" })).toBeVisible();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("pre.snippet")).toContainText("widget.js");
  deploymentId = new URL(page.url()).pathname.split("/").pop() ?? "";
  expect(deploymentId).toMatch(/^[0-9a-f-]{36}$/);
  await page.getByLabel("Greeting").fill("Hi! Ask me anything about your order.");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await shot(page, "06-deployment");
});

test("a visitor asks through the widget, gets a streamed answer with a citation, and a person takes over", async ({ browser }) => {
  const s = state();
  expect(deploymentId, "the first test creates the deployment").not.toBe("");
  const visitorCtx = await browser.newContext();
  const visitor = await visitorCtx.newPage();
  await visitor.goto(`${s.host}/?deployment=${deploymentId}`);
  await visitor.getByRole("button", { name: /Open chat/ }).click();
  const panel = visitor.getByRole("dialog");
  await expect(panel).toBeVisible();
  await expect(panel).toContainText("Ask me anything about your order.");
  await shot(visitor, "07-widget-open");

  // Record what the assistant's bubble shows while the reply streams.
  await visitor.evaluate(() => {
    const root = document.querySelector("#switchboard-widget")!.shadowRoot!;
    const seen: string[] = [];
    (window as unknown as { __drafts: string[] }).__drafts = seen;
    new MutationObserver(() => {
      const bubbles = root.querySelectorAll(".msg.assistant");
      const last = bubbles[bubbles.length - 1];
      if (last && bubbles.length > 1) seen.push(last.textContent ?? "");
    }).observe(root, { subtree: true, childList: true, characterData: true });
  });
  await panel.getByLabel("Your message").fill(question);
  await panel.getByLabel("Your message").press("Enter");
  const citation = panel.locator(".citation").first();
  await expect(citation).toBeVisible({ timeout: 60_000 });
  await expect(citation).toContainText(/return/i);
  const drafts = await visitor.evaluate(() => (window as unknown as { __drafts: string[] }).__drafts);
  const final = (await panel.locator(".msg.assistant").last().textContent()) ?? "";
  const partial = new Set(drafts.filter((d) => d.length > 0 && d.length < final.length));
  expect(partial.size, `the answer appeared in pieces: ${JSON.stringify([...partial].slice(0, 5))}`).toBeGreaterThanOrEqual(2);
  await shot(visitor, "08-widget-answer");

  await panel.getByRole("button", { name: "Talk to a human" }).click();
  await expect(panel).toContainText("finding a person");
  await shot(visitor, "09-widget-waiting");

  // The operator takes the conversation over and replies.
  const operator = await browser.newPage();
  await login(operator);
  await operator.getByRole("link", { name: "Conversations" }).click();
  await operator.getByLabel("Status").selectOption("pending_human");
  const link = operator.getByRole("table", { name: "Conversations" }).getByRole("link").first();
  await expect(link).toBeVisible();
  await shot(operator, "10-conversations");
  await link.click();
  const transcript = operator.getByRole("list", { name: "Transcript" });
  await expect(transcript).toContainText(question);
  await expect(transcript.locator(".citations").first()).toBeVisible();
  await operator.getByRole("button", { name: /Show route, guard verdicts/ }).first().click();
  await expect(operator.getByRole("heading", { name: /Timings/ }).first()).toBeVisible();
  await operator.getByRole("button", { name: "Take over" }).click();
  await operator.getByLabel("Reply as yourself").fill(humanReply);
  await operator.getByRole("button", { name: "Send reply" }).click();
  await expect(transcript).toContainText(humanReply);
  await shot(operator, "11-conversation-takeover");

  // The visitor sees the person join and their reply, live.
  await expect(panel).toContainText("joined the conversation", { timeout: 30_000 });
  await expect(panel.locator(".msg.human")).toContainText(humanReply, { timeout: 30_000 });
  await shot(visitor, "12-widget-human-reply");

  // Resolved: the visitor is asked for a rating.
  await operator.getByRole("button", { name: "Resolve" }).click();
  await expect(panel.getByRole("group", { name: "Rate this conversation" })).toBeVisible({ timeout: 30_000 });
  await panel.getByRole("button", { name: "5 of 5" }).click();
  await panel.getByRole("button", { name: "Send rating" }).click();
  await expect(panel).toContainText("Thank you for your feedback");
  await shot(visitor, "13-widget-csat");

  // A returning visitor gets their history back.
  await visitor.reload();
  await visitor.getByRole("button", { name: /Open chat/ }).click();
  await expect(visitor.getByRole("dialog")).toContainText(humanReply);
  await visitorCtx.close();
});

test("the other dashboard screens render", async ({ page }) => {
  await login(page);
  for (const [link, heading, file] of [
    ["Team", "Team", "14-team"],
    ["API keys", "API keys", "15-api-keys"],
    ["Secrets", "Secrets", "15b-secrets"],
    ["Approvals", "Approvals", "15c-approvals"],
    ["Audit log", "Audit log", "16-audit"],
    ["Overview", "Overview", "17-overview-after"],
  ] as const) {
    await page.getByRole("link", { name: link, exact: true }).click();
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await expect(page.getByRole("alert")).toHaveCount(0);
    await shot(page, file);
  }
  // Mobile layout of the widget.
  const s = state();
  const ctx = await page.context().browser()!.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
  const phone = await ctx.newPage();
  await phone.goto(`${s.host}/?deployment=${deploymentId}`);
  await phone.getByRole("button", { name: /Open chat/ }).click();
  const box = await phone.getByRole("dialog").boundingBox();
  expect(box?.width).toBeGreaterThanOrEqual(389);
  await shot(phone, "18-widget-mobile");
  await ctx.close();
});
