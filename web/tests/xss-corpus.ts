// The W2 XSS corpus (shared/RELIABILITY.md §5): about 200 payloads in the
// families OWASP's filter-evasion cheat sheet lists (tag and attribute
// injection, event handlers, case and encoding tricks, malformed tags),
// mutation XSS (markup that changes meaning when re-parsed), `javascript:` and
// `data:` URLs, SVG and MathML, and markdown-specific forms (links, images,
// reference definitions, autolinks). Every payload calls `__xss(N)` when it
// executes; the tests install `window.__xss` and expect it never to be called.
// Used by the unit tests (tests/markdown.test.tsx) and the browser suite
// (e2e/xss.spec.ts) alike.

const call = (n: number) => `__xss(${n})`;

type Make = (c: string) => string;

const HTML: Make[] = [
  (c) => `<script>${c}</script>`,
  (c) => `<SCRIPT>${c}</SCRIPT>`,
  (c) => `<script src="data:text/javascript,${c}"></script>`,
  (c) => `<img src=x onerror=${c}>`,
  (c) => `<img src="x" onerror="${c}">`,
  (c) => `<IMG SRC=x OnErRoR=${c}>`,
  (c) => `<img src=x onerror=&#x5f;&#x5f;xss(1)//${c}>`,
  (c) => `<img/src=x/onerror=${c}>`,
  (c) => `<img src=\`x\`onerror=${c}>`,
  (c) => `<img src=x:x onerror=eval('${c}')>`,
  (c) => `<svg onload=${c}>`,
  (c) => `<svg><script>${c}</script></svg>`,
  (c) => `<svg><animate onbegin=${c} attributeName=x dur=1s>`,
  (c) => `<svg><a xlink:href="javascript:${c}"><text x=20 y=20>X</text></a></svg>`,
  (c) => `<svg><use href="data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' onerror='${c}'/></svg>#x"/></svg>`,
  (c) => `<math><mtext><table><mglyph><style><img src=x onerror=${c}>`,
  (c) => `<math href="javascript:${c}">CLICK</math>`,
  (c) => `<body onload=${c}>`,
  (c) => `<iframe src="javascript:${c}"></iframe>`,
  (c) => `<iframe srcdoc="<script>parent.${c}</script>"></iframe>`,
  (c) => `<object data="javascript:${c}"></object>`,
  (c) => `<embed src="javascript:${c}">`,
  (c) => `<a href="javascript:${c}">click</a>`,
  (c) => `<a href="JaVaScRiPt:${c}">click</a>`,
  (c) => `<a href="jav&#x09;ascript:${c}">click</a>`,
  (c) => `<a href=" &#14; javascript:${c}">click</a>`,
  (c) => `<form><button formaction=javascript:${c}>x</button></form>`,
  (c) => `<input autofocus onfocus=${c}>`,
  (c) => `<details open ontoggle=${c}>`,
  (c) => `<video><source onerror=${c}></video>`,
  (c) => `<audio src=x onerror=${c}>`,
  (c) => `<marquee onstart=${c}>x</marquee>`,
  (c) => `<div style="background:url(javascript:${c})">x</div>`,
  (c) => `<style>@import 'javascript:${c}';</style>`,
  (c) => `<link rel=stylesheet href="javascript:${c}">`,
  (c) => `<meta http-equiv="refresh" content="0;url=javascript:${c}">`,
  (c) => `<base href="javascript:${c}//">`,
  (c) => `<noscript><p title="</noscript><img src=x onerror=${c}>">`,
  (c) => `<textarea></textarea><img src=x onerror=${c}>`,
  (c) => `<title></title><img src=x onerror=${c}>`,
  (c) => `<!--<img src="--><img src=x onerror=${c}//">`,
  (c) => `<![CDATA[><img src=x onerror=${c}>]]>`,
  (c) => `<xmp><p title="</xmp><img src=x onerror=${c}>">`,
  (c) => `<template><img src=x onerror=${c}></template>`,
  (c) => `<select><template><img src=x onerror=${c}></template></select>`,
  (c) => `<svg></p><style><a id="</style><img src=1 onerror=${c}>">`,
  (c) => `<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style><img onerror=${c} src>">`,
  (c) => `<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058${c}">`,
  (c) => `"><script>${c}</script>`,
  (c) => `'><img src=x onerror=${c}>`,
  (c) => `</textarea><script>${c}</script>`,
  (c) => `<scr<script>ipt>${c}</scr</script>ipt>`,
  (c) => `<<script>${c};//<</script>`,
  (c) => `<script\x20type="text/javascript">${c}</script>`,
  (c) => `<script/x>${c}</script>`,
  (c) => `<isindex type=image src=1 onerror=${c}>`,
  (c) => `<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">${c}</object>`,
  (c) => `<a href="data:text/html,<script>${c}</script>">data</a>`,
  (c) => `<img src="x` + "`" + `<script>${c}</script>` + "`" + `">`,
  (c) => `<div onmouseover="${c}" style="position:fixed;inset:0">hover</div>`,
];

const MARKDOWN: Make[] = [
  (c) => `[click](javascript:${c})`,
  (c) => `[click](JAVASCRIPT:${c})`,
  (c) => `[click](javascript&#58;${c})`,
  (c) => `[click](jav&#x09;ascript:${c})`,
  (c) => `[click](&#106;avascript:${c})`,
  (c) => `[click]( javascript:${c})`,
  (c) => `[click](<javascript:${c}>)`,
  (c) => `[click](vbscript:${c})`,
  (c) => `[click](data:text/html;base64,PHNjcmlwdD4=${c})`,
  (c) => `[click](data:text/html,<script>${c}</script>)`,
  (c) => `![img](javascript:${c})`,
  (c) => `![img](x" onerror="${c})`,
  (c) => `![img](https://evil.example/a.png" onerror="${c})`,
  (c) => `![x](data:image/svg+xml,<svg onload=${c}>)`,
  (c) => `[a](https://ok.example "title\\" onmouseover=\\"${c}")`,
  (c) => `[a][r]\n\n[r]: javascript:${c}`,
  (c) => `<javascript:${c}>`,
  (c) => `[<img src=x onerror=${c}>](https://ok.example)`,
  (c) => `**<img src=x onerror=${c}>**`,
  (c) => `\`<script>${c}</script>\``,
  (c) => "```html\n<script>" + c + "</script>\n```",
  (c) => `> <img src=x onerror=${c}>`,
  (c) => `- <svg onload=${c}>`,
  (c) => `| a | <img src=x onerror=${c}> |\n|---|---|\n| <script>${c}</script> | b |`,
  (c) => `# <img src=x onerror=${c}>`,
  (c) => `[![a](https://x.example/i.png)](javascript:${c})`,
  (c) => `[x](https://ok.example)<img src=x onerror=${c}>`,
  (c) => `\\<script>${c}\\</script>`,
  (c) => `&lt;img src=x onerror=${c}&gt;`,
  (c) => `&#60;img src=x onerror=${c}&#62;`,
  (c) => `[link](javascript:void(0);${c})`,
  (c) => `[link](java\nscript:${c})`,
  (c) => `[link](\`javascript:${c}\`)`,
  (c) => `https://ok.example/"><img src=x onerror=${c}>`,
  (c) => `www.ok.example/<script>${c}</script>`,
  (c) => `[1](javascript:${c}) [2]`,
  (c) => `<a href="https://ok.example" onclick="${c}">x</a>`,
  (c) => `<a href="https://ok.example"\nonclick="${c}">x</a>`,
  (c) => `*<img src=x onerror=${c}>*`,
  (c) => `~~<svg onload=${c}>~~`,
];

/** Wrappers that try to smuggle a payload past a filter. */
const WRAP: Make[] = [(p) => p, (p) => `Hello! ${p} Thanks`, (p) => `${p}\n\n${p}`];

export interface Payload {
  id: number;
  text: string;
}

function build(): Payload[] {
  const out: Payload[] = [];
  let id = 1;
  for (const make of [...HTML, ...MARKDOWN]) {
    out.push({ id, text: make(call(id)) });
    id++;
  }
  // Second round: the HTML family inside prose and doubled, and the markdown
  // family inside prose, to reach the ~200 of W2 with realistic surroundings.
  for (const make of HTML) {
    const wrap = WRAP[id % 2 === 0 ? 1 : 2]!;
    out.push({ id, text: wrap(make(call(id))) });
    id++;
  }
  for (const make of MARKDOWN) {
    out.push({ id, text: WRAP[1]!(make(call(id))) });
    id++;
  }
  return out;
}

export const XSS_CORPUS: Payload[] = build();
