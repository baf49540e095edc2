// @vitest-environment jsdom
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeEntities, renderMarkdown, safeHref } from "../src/shared/markdown";
import { XSS_CORPUS } from "./xss-corpus";

const ALLOWED = new Set([
  "DIV", "P", "STRONG", "EM", "DEL", "CODE", "PRE", "BR", "HR", "BLOCKQUOTE", "UL", "OL", "LI", "A",
  "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "SUP",
]);

let root: HTMLDivElement;
let calls: number[];
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  (window as unknown as { __xss: (n: number) => void }).__xss = (n) => calls.push(n);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

function show(md: string, cite?: (n: number) => preact.VNode | null): HTMLDivElement {
  render(<div>{renderMarkdown(md, cite ? { cite } : {})}</div>, root);
  return root;
}

/** Every element and attribute in `el` is one the renderer is allowed to make. */
function assertInert(el: Element, payload: string) {
  for (const node of el.querySelectorAll("*")) {
    expect(ALLOWED.has(node.tagName), `<${node.tagName}> from ${payload}`).toBe(true);
    for (const attr of node.attributes) {
      expect(attr.name.startsWith("on"), `${attr.name} from ${payload}`).toBe(false);
      expect(["href", "target", "rel", "title", "class", "start", "value"]).toContain(attr.name);
      if (attr.name === "href") expect(attr.value, payload).toMatch(/^(https?:\/\/[^\s]+|mailto:)/);
    }
  }
}

describe("the XSS corpus", () => {
  it("has about 200 payloads, each calling the hook with its own id", () => {
    expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(200);
    for (const p of XSS_CORPUS) expect(p.text).toContain(`__xss(${p.id})`);
  });

  it.each(XSS_CORPUS.map((p) => [p.id, p.text]))("payload %i renders inert", (_id, text) => {
    const el = show(text, (n) => <sup>{`[${n}]`}</sup>);
    assertInert(el, text);
    // Nothing was dropped silently: the payload's words are still there to read,
    // but for an unsafe link destination, which is reduced to the link's label.
    if (!text.includes("](")) expect(el.textContent).toContain("__xss(");
    else expect(el.textContent?.trim()).not.toBe("");
    expect(calls).toEqual([]);
  });
});

describe("safeHref", () => {
  it.each([
    ["https://shop.example/a?b=1", "https://shop.example/a?b=1"],
    ["HTTP://Shop.Example", "http://shop.example/"],
    ["mailto:help@shop.example", "mailto:help@shop.example"],
    ["javascript:alert(1)", null],
    ["JaVaScRiPt:alert(1)", null],
    ["java\tscript:alert(1)", null],
    ["jav&#x09;ascript:alert(1)", null],
    ["  javascript:alert(1)", null],
    ["data:text/html,<script>", null],
    ["vbscript:x", null],
    ["/relative/path", null],
    ["//evil.example/x", null],
    ["https:evil", "https://evil/"],
    ["file:///etc/passwd", null],
    ["", null],
    [null, null],
  ])("%s -> %s", (raw, want) => {
    expect(safeHref(raw)).toBe(want);
  });
});

describe("rendering", () => {
  it("renders emphasis, code, lists, quotes and tables", () => {
    const el = show("**Bold** and *em* and `a<b>`\n\n- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |");
    expect(el.querySelector("strong")?.textContent).toBe("Bold");
    expect(el.querySelector("em")?.textContent).toBe("em");
    expect(el.querySelector("code")?.textContent).toBe("a<b>");
    expect([...el.querySelectorAll("ul li")].map((l) => l.textContent)).toEqual(["one", "two"]);
    expect([...el.querySelectorAll("ol li")].map((l) => l.textContent)).toEqual(["first", "second"]);
    expect(el.querySelector("blockquote")?.textContent).toBe("quoted");
    expect([...el.querySelectorAll("td")].map((l) => l.textContent)).toEqual(["1", "2"]);
  });

  it("keeps safe links with rel and target, and drops unsafe ones to their text", () => {
    const el = show("[ok](https://shop.example/returns) and [bad](javascript:alert(1)) and <https://a.example>");
    const links = [...el.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://shop.example/returns", "https://a.example/"]);
    for (const a of links) {
      expect(a.getAttribute("rel")).toBe("noopener noreferrer nofollow");
      expect(a.getAttribute("target")).toBe("_blank");
    }
    expect(el.textContent).toContain("bad");
  });

  it("accepts the angle-bracket destinations the server's sanitizer writes", () => {
    const el = show("[chart](<https://evil.example/?q=secret>)");
    expect(el.querySelector("a")?.getAttribute("href")).toBe("https://evil.example/?q=secret");
  });

  it("never loads an image: it becomes a link labelled by its alt text", () => {
    const el = show("![a chart](https://evil.example/leak.png?q=history)");
    expect(el.querySelector("img")).toBeNull();
    const a = el.querySelector("a");
    expect(a?.getAttribute("href")).toBe("https://evil.example/leak.png?q=history");
    expect(a?.textContent).toContain("a chart");
  });

  it("shows raw HTML and backslash-escaped HTML as text", () => {
    const el = show("<b>hi</b> and \\<script>x\\</script>");
    expect(el.querySelector("b")).toBeNull();
    expect(el.textContent).toBe("<b>hi</b> and <script>x</script>");
  });

  it("turns [n] into citation markers when asked", () => {
    const el = show("Returns take 30 days [1], refunds 5 [2] [9].", (n) => (n < 3 ? <sup class="c">{n}</sup> : null));
    expect([...el.querySelectorAll("sup.c")].map((s) => s.textContent)).toEqual(["1", "2"]);
    expect(el.textContent).toContain("[9]");
  });

  it("keeps line breaks inside a paragraph", () => {
    const el = show("line one\nline two");
    expect(el.querySelectorAll("p").length).toBe(1);
    expect(el.querySelectorAll("br").length).toBe(1);
  });

  it("renders fenced code as is", () => {
    const el = show("```\n<script>x</script>\n**not bold**\n```");
    expect(el.querySelector("pre code")?.textContent).toBe("<script>x</script>\n**not bold**");
    expect(el.querySelector("strong")).toBeNull();
  });

  it("does not treat underscores inside words as emphasis", () => {
    const el = show("call snake_case_name please");
    expect(el.querySelector("em")).toBeNull();
  });

  it("survives pathological nesting quickly", () => {
    const start = performance.now();
    show("*".repeat(5000) + "[".repeat(5000) + "> ".repeat(2000) + "x");
    show(`${"- ".repeat(500)}x`);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe("decodeEntities", () => {
  it("decodes named and numeric references, and refuses invalid code points", () => {
    expect(decodeEntities("&amp;&lt;&gt;&quot;&#39;&#x41;&#66;&bogus;")).toBe("&<>\"'AB&bogus;");
    expect(decodeEntities("&#0;&#xD800;&#x110000;")).toBe("\ufffd\ufffd\ufffd");
  });
});
