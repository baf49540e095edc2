// @vitest-environment jsdom
// The widget's UI: labels, focus, keyboard, and what it shows for the
// conversation's states, rendered with Preact into jsdom.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WidgetApi } from "../src/widget/api";
import { Chat } from "../src/widget/chat";
import { Widget } from "../src/widget/Widget";
import { json, loopback } from "./fixtures/loopback";

let server: Awaited<ReturnType<typeof loopback>>;
let root: HTMLDivElement;
let chat: Chat;

const config = {
  id: "dep1",
  appearance: { color: "#0a58ca", position: "left", greeting: "Hello **there**", launcher_text: "Ask us", logo_url: "javascript:alert(1)" },
  identity_verification: false,
};

beforeEach(async () => {
  server = await loopback((req, res) => {
    if (req.url.endsWith("/config")) return json(res, 200, config);
    json(res, 404, {});
  });
  root = document.createElement("div");
  document.body.appendChild(root);
  chat = new Chat({ api: new WidgetApi(server.base, "dep1"), storage: undefined, identity: {} });
  await chat.start();
  await act(() => render(<Widget chat={chat} proactive={() => false} />, root));
});

afterEach(async () => {
  render(null, root);
  root.remove();
  chat.stop();
  await server.close();
});

const launcher = () => root.querySelector<HTMLButtonElement>("button.launcher")!;

describe("Widget", () => {
  it("shows a labelled launcher on the configured side, in the configured colour with readable text", () => {
    expect(launcher().getAttribute("aria-label")).toBe("Open chat: Ask us");
    expect(launcher().getAttribute("aria-expanded")).toBe("false");
    const rootEl = root.querySelector<HTMLElement>(".root")!;
    expect(rootEl.classList.contains("left")).toBe(true);
    expect(rootEl.style.getPropertyValue("--sb-accent")).toBe("#0a58ca");
    expect(rootEl.style.getPropertyValue("--sb-on-accent")).toBe("#ffffff");
  });

  it("opens a labelled dialog, focuses the message box, and Escape closes it back to the launcher", async () => {
    await act(() => launcher().click());
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.getAttribute("aria-label")).toBe("Ask us");
    expect(document.activeElement?.id).toBe("sb-input");
    expect(root.querySelector('label[for="sb-input"]')?.textContent).toBe("Your message");
    expect(root.querySelector('[role="log"]')?.getAttribute("aria-live")).toBe("polite");
    // The greeting is markdown; an unsafe logo URL is not loaded.
    expect(dialog.querySelector(".msg.assistant strong")?.textContent).toBe("there");
    expect(dialog.querySelector("img")).toBeNull();
    await act(() => {
      dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(root.querySelector('[role="dialog"]')).toBeNull();
    expect(document.activeElement).toBe(launcher());
  });

  it("offers a person while the AI has the conversation, and a rating once it is resolved", async () => {
    await act(() => launcher().click());
    expect([...root.querySelectorAll("button")].some((b) => b.textContent === "Talk to a human")).toBe(true);
    await act(() => {
      (chat as unknown as { applyStatus(s: string, a?: string, announce?: boolean): void }).applyStatus("human", "Sam", true);
    });
    expect([...root.querySelectorAll("button")].some((b) => b.textContent === "Talk to a human")).toBe(false);
    expect(root.textContent).toContain("Sam joined the conversation.");
    await act(() => {
      (chat as unknown as { applyStatus(s: string, a?: string, announce?: boolean): void }).applyStatus("resolved", undefined, true);
    });
    const group = root.querySelector('[role="group"]')!;
    expect(group.getAttribute("aria-label")).toBe("Rate this conversation");
    expect([...group.querySelectorAll("button")].map((b) => b.getAttribute("aria-label"))).toEqual(["1 of 5", "2 of 5", "3 of 5", "4 of 5", "5 of 5"]);
  });
});
