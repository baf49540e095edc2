// Markdown to Preact elements, safely.
//
// Written here rather than taken from a library for one measured reason: the
// smallest well-kept tokenizer (marked's Lexer) is 15.7 KB gzipped on its own
// and cannot be tree-shaken, half of the widget's 30 KB budget; the renderers
// that fit produce HTML strings, which is exactly what we must not insert.
// This covers what chat replies use (paragraphs, line breaks, headings,
// lists, quotes, code, tables, emphasis, links) and nothing exotic.
//
// Safety does not depend on parsing well: there is no path from input to
// `innerHTML`. Every string becomes a text node or an attribute value; raw
// HTML is shown as the text it is; links keep only absolute http(s) and mailto
// destinations (with rel="noopener noreferrer nofollow"); images are never
// loaded: an image becomes a link to it. The server already sends sanitized
// markdown (switchboard_guard::markdown); this is the second, independent
// layer, and the only one for text that never went through the guard.

import type { ComponentChildren, VNode } from "preact";

export const LINK_REL = "noopener noreferrer nofollow";
const SAFE_SCHEMES = ["http:", "https:", "mailto:"];

/**
 * The URL to put in an `href`, or `null` when it is not an absolute http(s)
 * or mailto URL. The check runs on the exact string the attribute gets, after
 * the WHATWG parser normalised it (tabs and newlines dropped, scheme
 * lower-cased), which is what the browser would follow.
 */
export function safeHref(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (!SAFE_SCHEMES.includes(url.protocol)) return null;
  if (url.protocol !== "mailto:" && !url.hostname) return null;
  return url.href;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** Decodes character references (to text, so safe by construction). */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const hex = ref[1] === "x" || ref[1] === "X";
      const code = parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
      if (!code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(code);
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

export interface RenderOptions {
  /** Renders a `[n]` citation marker; `null` leaves the text as it is. */
  cite?: (n: number) => VNode | null;
}

// ---- blocks ---------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const TABLE_SEP = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const blank = (l: string) => l.trim() === "";

/** Renders markdown as Preact elements. */
export function renderMarkdown(md: string, o: RenderOptions = {}): VNode[] {
  return blocks(md.replace(/\r\n?/g, "\n").split("\n"), o, 0);
}

function blocks(lines: string[], o: RenderOptions, depth: number): VNode[] {
  const out: VNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (blank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith(marker)) body.push(lines[i++]!);
      i++;
      out.push(
        <pre>
          <code>{body.join("\n")}</code>
        </pre>,
      );
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      out.push(
        <p class="md-h">
          <strong>{inline(h[2]!, o)}</strong>
        </p>,
      );
      i++;
      continue;
    }
    if (HR.test(line)) {
      out.push(<hr />);
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < 8) {
      const inner: string[] = [];
      while (i < lines.length && !blank(lines[i]!) && (QUOTE.test(lines[i]!) || inner.length > 0)) {
        inner.push(lines[i]!.replace(QUOTE, ""));
        i++;
      }
      out.push(<blockquote>{blocks(inner, o, depth + 1)}</blockquote>);
      continue;
    }
    const item = ITEM.exec(line);
    if (item && depth < 8) {
      const [list, next] = listAt(lines, i, o, depth);
      out.push(list);
      i = next;
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]!) && lines[i + 1]!.includes("-")) {
      const head = cells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && !blank(lines[i]!) && lines[i]!.includes("|")) rows.push(cells(lines[i++]!));
      out.push(
        <div class="md-table">
          <table>
            <thead>
              <tr>
                {head.map((c) => (
                  <th>{inline(c, o)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  {head.map((_, k) => (
                    <td>{inline(r[k] ?? "", o)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
      continue;
    }
    // A paragraph: lines up to a blank line or the start of another block.
    const para: string[] = [line];
    i++;
    while (i < lines.length) {
      const l = lines[i]!;
      if (blank(l) || FENCE.test(l) || HEADING.test(l) || HR.test(l) || QUOTE.test(l) || ITEM.test(l)) break;
      para.push(l);
      i++;
    }
    out.push(<p>{inline(para.map((l) => l.trim()).join("\n"), o)}</p>);
  }
  return out;
}

function cells(row: string): string[] {
  let r = row.trim();
  if (r.startsWith("|")) r = r.slice(1);
  if (r.endsWith("|") && !r.endsWith("\\|")) r = r.slice(0, -1);
  return r.split(/(?<!\\)\|/).map((c) => c.trim());
}

function listAt(lines: string[], start: number, o: RenderOptions, depth: number): [VNode, number] {
  const first = ITEM.exec(lines[start]!)!;
  const ordered = /\d/.test(first[2]!);
  const items: string[][] = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i]!;
    const m = ITEM.exec(line);
    if (m && /\d/.test(m[2]!) === ordered) {
      items.push([line.slice(m[0].length)]);
      i++;
      continue;
    }
    if (blank(line)) {
      // A blank line ends the list unless an indented continuation follows.
      const next = lines[i + 1];
      if (next !== undefined && /^ {2,}\S/.test(next)) {
        items[items.length - 1]!.push("");
        i++;
        continue;
      }
      break;
    }
    if (/^[ \t]+\S/.test(line) || (!ITEM.test(line) && !blank(line) && items.length > 0 && !HEADING.test(line))) {
      items[items.length - 1]!.push(line.replace(/^ {1,4}|^\t/, ""));
      i++;
      continue;
    }
    break;
  }
  const lis = items.map((body) => {
    let content = blocks(body, o, depth + 1);
    // A tight item's single paragraph is shown without the paragraph.
    const firstChild = content[0];
    if (content.length >= 1 && firstChild && firstChild.type === "p" && !body.includes("")) {
      content = [<>{(firstChild.props as { children?: ComponentChildren }).children}</>, ...content.slice(1)];
    }
    return <li>{content}</li>;
  });
  const n = parseInt(first[2]!, 10);
  return [ordered ? <ol start={n !== 1 ? n : undefined}>{lis}</ol> : <ul>{lis}</ul>, i];
}

// ---- inline ---------------------------------------------------------------

// The earliest of: backslash escape, code span, autolink, bare URL, image,
// link, strong, emphasis, strikethrough, line break.
const INLINE =
  /\\([!-/:-@[-`{-~])|(`+)([^]*?[^`])\2(?!`)|<((?:https?|mailto):[^\s<>]*)>|((?:https?:\/\/|www\.)[^\s<]*[^\s<?!.,:*_~)'"])|(!?)\[((?:\\.|[^\]\\])*)\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+("[^"]*"|'[^']*'))?\s*\)|(\*\*|__)(?=\S)([^]*?\S)\10|(?<![A-Za-z0-9])(\*|_)(?=[^\s*_])([^]*?[^\s\\])\12(?![A-Za-z0-9])|~~(?=\S)([^]*?\S)~~|\n/;

function inline(src: string, o: RenderOptions, depth = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  while (src) {
    const m = depth < 6 ? INLINE.exec(src) : null;
    if (!m) {
      out.push(text(src, o));
      break;
    }
    if (m.index > 0) out.push(text(src.slice(0, m.index), o));
    src = src.slice(m.index + m[0].length);
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(<code>{m[3]!.replace(/\n/g, " ").replace(/^ (.*) $/, "$1")}</code>);
    else if (m[4] !== undefined) out.push(link(m[4], m[4], undefined));
    else if (m[5] !== undefined) {
      const href = m[5].startsWith("www.") ? `http://${m[5]}` : m[5];
      out.push(link(href, m[5], undefined));
    } else if (m[7] !== undefined) {
      let dest = m[8]!;
      if (dest.startsWith("<")) dest = dest.slice(1, -1);
      dest = decodeEntities(dest.replace(/\\([!-/:-@[-`{-~])/g, "$1"));
      const title = m[9] ? decodeEntities(m[9].slice(1, -1)) : undefined;
      if (m[6]) {
        // Images are never loaded: a link to the image, labelled by its alt text.
        const alt = decodeEntities(m[7].replace(/\\(.)/g, "$1")) || "image";
        out.push(safeHref(dest) ? link(dest, `🖼 ${alt}`, title) : alt);
      } else {
        const label = inline(m[7], o, depth + 1);
        out.push(safeHref(dest) ? link(dest, label, title) : label);
      }
    } else if (m[10] !== undefined) out.push(<strong>{inline(m[11]!, o, depth + 1)}</strong>);
    else if (m[12] !== undefined) out.push(<em>{inline(m[13]!, o, depth + 1)}</em>);
    else if (m[14] !== undefined) out.push(<del>{inline(m[14], o, depth + 1)}</del>);
    else out.push(<br />);
  }
  return out;
}

function link(dest: string, label: ComponentChildren, title: string | undefined): ComponentChildren {
  const href = safeHref(dest);
  if (!href) return label;
  return (
    <a href={href} target="_blank" rel={LINK_REL} title={title}>
      {label}
    </a>
  );
}

function text(s: string, o: RenderOptions): ComponentChildren {
  s = decodeEntities(s);
  if (!o.cite || !/\[\d{1,3}\]/.test(s)) return s;
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const m of s.matchAll(/\[(\d{1,3})\]/g)) {
    const node = o.cite(Number(m[1]));
    if (!node) continue;
    out.push(s.slice(last, m.index), node);
    last = (m.index ?? 0) + m[0].length;
  }
  out.push(s.slice(last));
  return out;
}
