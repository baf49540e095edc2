import { describe, expect, it } from "vitest";
import { readSse, SseParser, type SseEvent } from "../src/shared/sse";

function parseInPieces(stream: string, cuts: number[]): SseEvent[] {
  const events: SseEvent[] = [];
  const p = new SseParser((e) => events.push(e));
  let last = 0;
  for (const c of [...cuts, stream.length]) {
    p.push(stream.slice(last, c));
    last = c;
  }
  p.end();
  return events;
}

const STREAM =
  "\ufeff: heartbeat\r\n" +
  "event: delta\r\ndata: {\"text\":\"Hel\"}\r\n\r\n" +
  "event: delta\ndata: {\"text\":\"lo\"}\n\n" +
  "id: 7\rdata: line one\rdata: line two\r\r" +
  "event: message\ndata:no-space\ndata\n\n" +
  "event: empty\n\n" +
  "retry: 2500\nevent: message\ndata: {\"done\":true}\n\n" +
  "data: unterminated";

const EXPECTED: SseEvent[] = [
  { event: "delta", data: '{"text":"Hel"}', id: "" },
  { event: "delta", data: '{"text":"lo"}', id: "" },
  { event: "message", data: "line one\nline two", id: "7" },
  { event: "message", data: "no-space\n", id: "7" },
  { event: "message", data: '{"done":true}', id: "7" },
];

describe("SseParser", () => {
  it("parses a stream in one piece: CRLF, LF and CR lines, comments, BOM, multi-line data", () => {
    expect(parseInPieces(STREAM, [])).toEqual(EXPECTED);
  });

  it("gives the same events however the stream is cut, including between CR and LF", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseInPieces(STREAM, [i]), `cut at ${i}`).toEqual(EXPECTED);
    }
    for (let i = 1; i < STREAM.length - 1; i += 3) {
      expect(parseInPieces(STREAM, [i, i + 1]), `cuts at ${i}, ${i + 1}`).toEqual(EXPECTED);
    }
  });

  it("reads the retry field and ignores ids with NUL", () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e));
    p.push("retry: 2500\nid: a\0b\ndata: x\n\nretry: soon\n\n");
    expect(p.retry).toBe(2500);
    expect(events).toEqual([{ event: "message", data: "x", id: "" }]);
  });

  it("drops an event the stream did not finish", () => {
    expect(parseInPieces("data: half", [])).toEqual([]);
  });
});

describe("readSse", () => {
  const body = (chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });

  it("decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo ✓\n\n");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const got: string[] = [];
    await readSse(stream, (e) => got.push(e.data));
    expect(got).toEqual(["héllo ✓"]);
  });

  it("rejects when aborted", async () => {
    const abort = new AbortController();
    const stream = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const done = readSse(stream, () => {}, abort.signal);
    abort.abort();
    await expect(done).rejects.toBeDefined();
  });

  it("passes every event in order", async () => {
    const got: string[] = [];
    await readSse(body(["event: a\ndata: 1\n", "\nevent: b\ndata: 2\n\n"]), (e) => got.push(`${e.event}=${e.data}`));
    expect(got).toEqual(["a=1", "b=2"]);
  });
});
