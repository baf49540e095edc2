// Server-sent events over fetch. The browser's EventSource cannot send an
// Authorization header or a POST body, and both the widget (Bearer visitor
// token, `POST /widget/v1/messages`) and the dashboard (`POST …/messages`)
// need one, so the event-stream format is parsed here, as the HTML standard
// describes it (§9.2.6): lines end in CRLF, LF or CR; `:` starts a comment;
// `data` lines join with "\n"; a blank line dispatches; an event with no data
// is dropped; a leading BOM is ignored.

export interface SseEvent {
  /** `message` when the stream named none. */
  event: string;
  data: string;
  /** The last event id seen so far on this stream (it carries over). */
  id: string;
}

/** An incremental parser: feed it text as it arrives, in any pieces. */
export class SseParser {
  private buffer = "";
  private started = false;
  private pendingCR = false;
  private eventType = "";
  private data: string[] = [];
  private lastId = "";
  /** The `retry` field's last value in milliseconds, if the server sent one. */
  retry: number | undefined;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(chunk: string): void {
    if (!this.started) {
      if (chunk.length === 0) return;
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    // A CR ending the previous chunk already ended its line; a LF that starts
    // this one belongs to that CRLF and must not end an empty line.
    if (this.pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.pendingCR = false;
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCR = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** The stream ended: an event not yet ended by a blank line is dropped, as the standard says. */
  end(): void {
    this.buffer = "";
    this.data = [];
    this.eventType = "";
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    const type = this.eventType || "message";
    const hasData = this.data.length > 0;
    const data = this.data.join("\n");
    this.data = [];
    this.eventType = "";
    if (!hasData) return;
    this.onEvent({ event: type, data, id: this.lastId });
  }
}

/**
 * Reads a fetch response body as server-sent events. Resolves when the stream
 * ends; rejects if reading fails (the network dropped, or `signal` aborted).
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: SseEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const parser = new SseParser(onEvent);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    parser.push(decoder.decode());
    parser.end();
  } finally {
    signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}

/** Parses an event's JSON data; `undefined` when it is not JSON. */
export function jsonData<T>(e: SseEvent): T | undefined {
  try {
    return JSON.parse(e.data) as T;
  } catch {
    return undefined;
  }
}
