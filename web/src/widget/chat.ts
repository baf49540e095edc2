// The widget's state and what changes it: a small store with no UI in it, so
// the rules (dedupe by id, the streamed draft, status lines, when to ask for a
// rating) are testable without a browser.

import { ApiError } from "../api";
import { attachmentOf, citationsOf, type AttachmentInfo, type Citation, type Turn, type VisitorMessage, type WidgetApi, type WidgetConfig } from "./api";
import { Realtime, type LiveEvent } from "./realtime";

export type Role = "customer" | "assistant" | "human" | "system";

export interface Msg {
  /** Stable render key. */
  key: string;
  /** The server's id, once known. */
  id?: string | undefined;
  role: Role;
  text: string;
  citations: Citation[];
  author?: string | undefined;
  attachment?: AttachmentInfo | undefined;
  failed?: boolean;
}

export interface ChatState {
  config?: WidgetConfig | undefined;
  loadError?: string | undefined;
  messages: Msg[];
  /** The assistant's reply while it streams. */
  draft?: string | undefined;
  busy: boolean;
  status?: string | undefined;
  assignee?: string | undefined;
  typing?: string | undefined;
  notice?: string | undefined;
  /** `done`: rated in an earlier visit (nothing to show); `sent`: just rated (thank them). */
  csat: "none" | "asking" | "sent" | "done";
  unread: number;
  open: boolean;
  live: boolean;
  /** The live connection was up once and is down now: say we are reconnecting. */
  reconnecting: boolean;
}

export interface Identity {
  user_id?: string;
  user_hash?: string;
  name?: string;
  email?: string;
}

export interface ChatOptions {
  api: WidgetApi;
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | undefined;
  identity: Identity;
  WebSocketImpl?: typeof WebSocket | undefined;
}

/** The pace at which streamed pieces are revealed. */
const REVEAL_MS = 40;

let seq = 0;
const key = () => `k${++seq}`;

function role(r: string): Role {
  return r === "customer" || r === "assistant" || r === "human" ? r : "system";
}

function fromServer(m: VisitorMessage): Msg {
  return {
    key: key(),
    id: m.id,
    role: role(m.role),
    text: m.text,
    citations: citationsOf(m.citations),
    author: m.author_name ?? undefined,
    attachment: attachmentOf(m),
  };
}

/** The server refused the visitor token: expired (`visitor-token-expired`) or unknown. */
function isUnauthorized(e: unknown): boolean {
  return e instanceof ApiError && e.status === 401;
}

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return "You are sending messages too fast. Please wait a moment.";
    if (e.status >= 500) return "Something went wrong on our side. Please try again.";
    return e.message;
  }
  return "You seem to be offline. We will keep trying.";
}

export class Chat {
  state: ChatState = { messages: [], busy: false, csat: "none", unread: 0, open: false, live: false, reconnecting: false };
  private wasLive = false;
  private listeners = new Set<() => void>();
  private readonly realtime: Realtime;
  private readonly tokenKey: string;
  /** Live messages that arrived while a turn was in flight: applied after it, deduplicated. */
  private held: VisitorMessage[] = [];
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Streamed text not shown yet: revealed a piece per tick (see `reveal`). */
  private queued: string[] = [];
  private pump: ReturnType<typeof setTimeout> | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly o: ChatOptions) {
    this.tokenKey = `switchboard:${o.api.deployment}:visitor`;
    this.realtime = new Realtime({
      base: o.api.base,
      token: () => o.api.token,
      WebSocketImpl: o.WebSocketImpl,
      onEvent: (e) => this.onLive(e),
      onOpen: () => {
        this.wasLive = true;
        this.set({ live: true, reconnecting: false });
        // Whatever happened while the connection was down.
        void this.refresh();
      },
      onDown: () => this.set({ live: false, reconnecting: this.wasLive }),
    });
  }

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const f of this.listeners) f();
  }

  /** Loads the deployment's look and, for a returning visitor, their conversation. */
  async start(): Promise<void> {
    try {
      this.set({ config: await this.o.api.config() });
    } catch (e) {
      this.set({ loadError: errorText(e) });
      return;
    }
    const stored = this.o.storage?.getItem(this.tokenKey);
    if (stored) {
      // Resuming renews the token on the server, so a visitor who comes back
      // within its lifetime keeps their conversation indefinitely.
      try {
        await this.openSession(stored);
      } catch (e) {
        // Expired or unknown: start afresh when the visitor writes. Anything
        // else (offline, a server error) keeps the token to resume with later.
        if (isUnauthorized(e)) this.forgetToken();
      }
    }
  }

  private forgetToken(): void {
    this.o.storage?.removeItem(this.tokenKey);
    this.o.api.token = undefined;
  }

  stop(): void {
    this.realtime.stop();
  }

  hasSession(): boolean {
    return !!this.o.api.token;
  }

  setOpen(open: boolean): void {
    this.set({ open, unread: open ? 0 : this.state.unread });
  }

  private async openSession(visitorToken?: string): Promise<void> {
    const id = this.o.identity;
    const body = { ...(visitorToken ? { visitor_token: visitorToken } : {}), ...id };
    const s = await this.o.api.session(body);
    this.o.api.token = s.visitor_token;
    this.o.storage?.setItem(this.tokenKey, s.visitor_token);
    this.set({ status: s.status });
    await this.refresh();
    this.realtime.start();
  }

  /** A session to write in: the stored one resumed if it still works, else a new one. */
  private async ensureSession(): Promise<void> {
    if (this.o.api.token) return;
    const stored = this.o.storage?.getItem(this.tokenKey);
    if (stored) {
      try {
        return await this.openSession(stored);
      } catch (e) {
        if (!isUnauthorized(e)) throw e;
        this.forgetToken();
      }
    }
    await this.openSession();
  }

  /**
   * Runs a call in the visitor's session; when the server says the token
   * expired (or no longer exists), it opens a new session and tries once more.
   */
  private async inSession<T>(call: () => Promise<T>): Promise<T> {
    await this.ensureSession();
    try {
      return await call();
    } catch (e) {
      if (!isUnauthorized(e)) throw e;
      await this.renewSession();
      return await call();
    }
  }

  /** A new session after the server refused the token (verified users get their conversation back). */
  private async renewSession(): Promise<void> {
    this.forgetToken();
    this.realtime.stop();
    await this.openSession();
  }

  /** Fetches the conversation and merges it with what is shown. */
  async refresh(): Promise<void> {
    if (!this.o.api.token) return;
    let c;
    try {
      c = await this.o.api.conversation();
    } catch {
      return;
    }
    if (this.state.busy) {
      this.held.push(...c.messages);
    } else {
      this.merge(c.messages);
    }
    const extra = c as { csat?: unknown; assignee_name?: unknown };
    if (extra.csat && typeof extra.csat === "object" && this.state.csat !== "sent") this.set({ csat: "done" });
    this.applyStatus(c.status, typeof extra.assignee_name === "string" ? extra.assignee_name : undefined, false);
  }

  private merge(incoming: VisitorMessage[]): void {
    const known = new Set(this.state.messages.map((m) => m.id).filter(Boolean));
    const added = incoming.filter((m) => !known.has(m.id)).map(fromServer);
    if (added.length === 0) return;
    const unread = this.state.open ? 0 : this.state.unread + added.filter((m) => m.role !== "customer").length;
    this.set({ messages: [...this.state.messages, ...added], unread });
  }

  private onLive(e: LiveEvent): void {
    if (e.type === "message") {
      const m = e.data as VisitorMessage;
      if (!m || typeof m.id !== "string") return;
      if (this.state.busy && (m.role === "customer" || m.role === "assistant")) {
        this.held.push(m);
        return;
      }
      if (m.role === "human") this.set({ typing: undefined });
      this.merge([m]);
    } else if (e.type === "status") {
      const d = e.data as { status?: string; assignee_name?: string | null };
      if (d && typeof d.status === "string") this.applyStatus(d.status, d.assignee_name ?? undefined, true);
    } else if (e.type === "typing") {
      const d = e.data as { who?: string };
      clearTimeout(this.typingTimer);
      this.set({ typing: d?.who || "Someone" });
      this.typingTimer = setTimeout(() => this.set({ typing: undefined }), 5000);
    }
  }

  private applyStatus(status: string, assignee: string | undefined, announce: boolean): void {
    const before = this.state.status;
    const patch: Partial<ChatState> = { status };
    if (assignee) patch.assignee = assignee;
    if (status === "resolved" && this.state.csat === "none") patch.csat = "asking";
    if (status !== "resolved" && this.state.csat === "asking") patch.csat = "none";
    this.set(patch);
    if (!announce || before === status) return;
    const who = assignee ?? this.state.assignee;
    const line =
      status === "human"
        ? `${who ?? "A person from our team"} joined the conversation.`
        : status === "pending_human"
          ? "We are finding a person to help you."
          : status === "resolved"
            ? "This conversation was marked as resolved."
            : before === "human"
              ? "You are chatting with the assistant again."
              : undefined;
    if (line) this.systemLine(line);
  }

  private systemLine(text: string): void {
    this.set({ messages: [...this.state.messages, { key: key(), role: "system", text, citations: [] }] });
  }

  /** Sends the visitor's message and streams the reply. */
  async send(text: string): Promise<void> {
    text = text.trim();
    if (!text || this.state.busy) return;
    const mine: Msg = { key: key(), role: "customer", text, citations: [] };
    this.set({ messages: [...this.state.messages, mine], busy: true, notice: undefined, draft: undefined });
    let turn: Turn | undefined;
    try {
      await this.ensureSession();
      turn = await this.sendWithRetry(text);
      // A check on the whole reply changed what was streamed (a dropped
      // claim, a refusal): stop showing the streamed words and show the
      // final reply alone.
      if (turn.deltas_replaced) this.discardDraft();
    } catch (e) {
      this.patchMessage(mine.key, { failed: true });
      this.set({ notice: errorText(e) });
    }
    await this.untilRevealed();
    const messages = this.state.messages.map((m) => (m.key === mine.key && turn ? { ...m, id: turn.message_id } : m));
    if (turn?.reply) {
      messages.push({
        key: key(),
        id: turn.reply.id,
        role: "assistant",
        text: turn.reply.text,
        citations: citationsOf(turn.reply.citations),
      });
    }
    this.set({ messages, busy: false, draft: undefined });
    if (turn) this.applyStatus(turn.status, undefined, true);
    const held = this.held;
    this.held = [];
    this.merge(held);
  }

  /**
   * Shows streamed text a piece per tick. A reply often arrives in one burst
   * (a fast answerer, a proxy that buffers); revealing it at a steady pace
   * keeps the "being written" feel and lets a screen reader follow, and a
   * long queue is shown in bigger steps so nothing lags by more than a second.
   */
  private reveal(piece: string): void {
    this.queued.push(piece);
    if (this.pump) return;
    const tick = () => {
      const n = Math.max(1, Math.ceil(this.queued.length / 20));
      const next = this.queued.splice(0, n).join("");
      this.set({ draft: (this.state.draft ?? "") + next });
      if (this.queued.length > 0) {
        this.pump = setTimeout(tick, REVEAL_MS);
      } else {
        this.pump = undefined;
        this.drained?.();
      }
    };
    this.pump = setTimeout(tick, 0);
  }

  /** Stops revealing streamed text and clears the streaming bubble. */
  private discardDraft(): void {
    clearTimeout(this.pump);
    this.pump = undefined;
    this.queued = [];
    this.drained?.();
    this.set({ draft: undefined });
  }

  private untilRevealed(): Promise<void> {
    if (!this.pump) return Promise.resolve();
    return new Promise((r) => (this.drained = r));
  }

  private async sendWithRetry(text: string): Promise<Turn> {
    const onDelta = (d: string) => this.reveal(d);
    try {
      return await this.o.api.send(text, { onDelta });
    } catch (e) {
      // The token expired or was revoked: start a new session once.
      if (isUnauthorized(e)) {
        await this.renewSession();
        this.discardDraft();
        return await this.o.api.send(text, { onDelta });
      }
      throw e;
    }
  }

  private patchMessage(k: string, patch: Partial<Msg>): void {
    this.set({ messages: this.state.messages.map((m) => (m.key === k ? { ...m, ...patch } : m)) });
  }

  async handoff(): Promise<void> {
    try {
      const status = await this.inSession(() => this.o.api.handoff());
      this.applyStatus(status, undefined, true);
    } catch (e) {
      this.set({ notice: errorText(e) });
    }
  }

  /** Uploads a file: the upload itself is the visitor's message (it comes back with the conversation). */
  async attach(file: File): Promise<void> {
    if (this.state.busy) return;
    this.set({ busy: true, notice: undefined });
    try {
      await this.inSession(() => this.o.api.attach(file));
    } catch (e) {
      this.set({ notice: errorText(e) });
    }
    this.set({ busy: false });
    const held = this.held;
    this.held = [];
    this.merge(held);
    await this.refresh();
  }

  /** Opens one of the visitor's attachments (fetched with the token, shown from a blob URL). */
  async open(a: AttachmentInfo): Promise<void> {
    try {
      const blob = await this.o.api.download(a.url);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = a.name;
      link.rel = "noopener";
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      this.set({ notice: errorText(e) });
    }
  }

  async rate(rating: number, comment?: string): Promise<void> {
    try {
      await this.o.api.csat(rating, comment);
      this.set({ csat: "sent" });
    } catch (e) {
      this.set({ notice: errorText(e) });
    }
  }

  dismissNotice(): void {
    this.set({ notice: undefined });
  }
}
