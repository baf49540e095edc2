// The widget's entry point: `<script src="https://HOST/widget.js"
// data-deployment="ID" async></script>` on any page. It finds its own script
// tag, talks to the origin it came from, and draws itself in a shadow root
// so the page's styles and its own never mix.

import { render } from "preact";
import { WidgetApi } from "./api";
import { Chat, type Identity } from "./chat";
import { CSS } from "./styles";
import { Widget } from "./Widget";
import { urlMatches } from "./proactive";

function ownScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.deployment) return current;
  return document.querySelector<HTMLScriptElement>("script[data-deployment][src*='widget']");
}

function storage(): Storage | undefined {
  try {
    const s = window.localStorage;
    s.getItem("switchboard:probe");
    return s;
  } catch {
    // Storage blocked (privacy settings, sandboxed frame): no history across visits.
    return undefined;
  }
}

function boot(script: HTMLScriptElement | null): void {
  const deployment = script?.dataset.deployment;
  if (!script || !deployment) {
    console.warn("switchboard widget: no <script data-deployment> found");
    return;
  }
  const w = window as unknown as { __switchboardWidget?: boolean };
  if (w.__switchboardWidget) return;
  w.__switchboardWidget = true;

  const base = new URL(script.src, location.href).origin;
  const d = script.dataset;
  const identity: Identity = {};
  if (d.userId) identity.user_id = d.userId;
  if (d.userHash) identity.user_hash = d.userHash;
  if (d.name) identity.name = d.name;
  if (d.email) identity.email = d.email;

  const host = document.createElement("div");
  host.id = "switchboard-widget";
  document.body.appendChild(host);
  const shadow = host.attachShadow({ mode: "open" });
  // A constructed style sheet is not inline style as far as a page's CSP goes.
  if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet !== "undefined" && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = CSS;
    shadow.appendChild(style);
  }
  const mount = document.createElement("div");
  shadow.appendChild(mount);

  const chat = new Chat({
    api: new WidgetApi(base, deployment),
    storage: storage(),
    identity,
    WebSocketImpl: typeof WebSocket === "function" ? WebSocket : undefined,
  });
  const proactive = () => {
    const p = chat.state.config?.appearance.proactive;
    let seen = false;
    try {
      seen = sessionStorage.getItem(`switchboard:${deployment}:nudged`) === "1";
      sessionStorage.setItem(`switchboard:${deployment}:nudged`, "1");
    } catch {
      // No session storage: greet each page.
    }
    return !seen && urlMatches(p?.url_patterns, location.href);
  };
  render(<Widget chat={chat} proactive={proactive} />, mount);
  void chat.start().then(() => {
    if (d.open === "true") chat.setOpen(true);
  });
  (window as unknown as { Switchboard?: unknown }).Switchboard = {
    open: () => chat.setOpen(true),
    close: () => chat.setOpen(false),
  };
}

// currentScript is only set while the script first runs: read it now.
const script = ownScript();
if (document.body) boot(script);
else document.addEventListener("DOMContentLoaded", () => boot(script), { once: true });
