import { useEffect, useRef, useState } from "preact/hooks";
import { renderMarkdown, safeHref, LINK_REL } from "../shared/markdown";
import { readableOn, themeColor } from "../shared/color";
import type { Chat, Msg } from "./chat";

const ChatIcon = () => (
  <svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
    <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" />
  </svg>
);
const SendIcon = () => (
  <svg viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
    <path d="M3 20l18-8L3 4v6l12 2-12 2z" />
  </svg>
);
const ClipIcon = () => (
  <svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2">
    <path d="M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7" />
  </svg>
);

export function Widget({ chat, proactive }: { chat: Chat; proactive: () => boolean }) {
  const [s, setS] = useState(chat.state);
  useEffect(() => chat.subscribe(() => setS(chat.state)), [chat]);
  const [nudge, setNudge] = useState(false);
  const launcher = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLDivElement>(null);
  const a = s.config?.appearance;

  // The proactive greeting: after N seconds, on matching pages, once per visit.
  useEffect(() => {
    const p = a?.proactive;
    if (!p || !a?.greeting || s.messages.length > 0 || !proactive()) return;
    const t = setTimeout(() => setNudge(true), Math.max(0, (p.after_seconds ?? 0) * 1000));
    return () => clearTimeout(t);
  }, [a]);

  useEffect(() => {
    if (s.open) input.current?.focus();
  }, [s.open]);

  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [s.messages, s.draft, s.busy, s.open]);

  if (!a) return null;
  const accent = themeColor(a.color);
  const style = { "--sb-accent": accent, "--sb-on-accent": readableOn(accent) };
  const title = a.launcher_text || "Chat with us";
  const logo = safeHref(a.logo_url);

  const toggle = (open: boolean) => {
    chat.setOpen(open);
    setNudge(false);
    if (!open) launcher.current?.focus();
  };

  return (
    <div
      class={`root ${a.position === "left" ? "left" : "right"}${s.open ? " open" : ""}`}
      style={style}
      onKeyDown={(e) => {
        if (e.key === "Escape" && s.open) toggle(false);
      }}
    >
      {nudge && !s.open && (
        <div class="nudge" role="status">
          <div class="greet" onClick={() => toggle(true)}>
            {renderMarkdown(a.greeting ?? "")}
          </div>
          <button class="x" type="button" aria-label="Dismiss" onClick={() => setNudge(false)}>
            ×
          </button>
        </div>
      )}
      {s.open && (
        <div class="panel" role="dialog" aria-label={title} aria-modal="false">
          <header>
            {logo && <img src={logo} alt="" referrerpolicy="no-referrer" />}
            <div class="title">
              {title}
              <div class="sub">
                {s.status === "human"
                  ? `${s.assignee ?? "A person"} is here to help`
                  : s.status === "pending_human"
                    ? "Waiting for a person"
                    : "We usually answer right away"}
              </div>
            </div>
            <button type="button" aria-label="Close chat" onClick={() => toggle(false)}>
              ×
            </button>
          </header>
          {s.reconnecting && (
            <div class="offline" role="status">
              Reconnecting…
            </div>
          )}
          <div class="log" ref={log} role="log" aria-live="polite" aria-label="Messages">
            {a.greeting && <Bubble m={{ key: "greeting", role: "assistant", text: a.greeting, citations: [] }} />}
            {s.messages.map((m) => (
              <Bubble key={m.key} m={m} chat={chat} />
            ))}
            {s.draft && <Bubble m={{ key: "draft", role: "assistant", text: s.draft, citations: [] }} />}
            {((s.busy && !s.draft) || s.typing) && (
              <div class="typing" role="status">
                <span class="sr">{s.typing ? `${s.typing} is typing` : "The assistant is typing"}</span>
                <span class="dot" aria-hidden="true" />
                <span class="dot" aria-hidden="true" />
                <span class="dot" aria-hidden="true" />
              </div>
            )}
          </div>
          {s.notice && (
            <p class="notice" role="alert">
              <span>{s.notice}</span>
              <button type="button" onClick={() => chat.dismissNotice()}>
                Dismiss
              </button>
            </p>
          )}
          {s.csat === "asking" && <Csat chat={chat} />}
          {s.csat === "sent" && <p class="system" style={{ margin: "6px auto" }}>Thank you for your feedback!</p>}
          {s.status !== "human" && s.status !== "pending_human" && (
            <div class="actions">
              <button type="button" onClick={() => void chat.handoff()} disabled={s.busy}>
                Talk to a human
              </button>
            </div>
          )}
          <Composer chat={chat} busy={s.busy} input={input} />
        </div>
      )}
      <button
        ref={launcher}
        class="launcher"
        type="button"
        aria-label={s.open ? "Close chat" : `Open chat: ${title}`}
        aria-expanded={s.open}
        onClick={() => toggle(!s.open)}
      >
        <ChatIcon />
        <span>{s.open ? "Close" : title}</span>
        {s.unread > 0 && !s.open && <span class="badge">{s.unread}</span>}
      </button>
    </div>
  );
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function Bubble({ m, chat }: { m: Msg; chat?: Chat }) {
  if (m.role === "system") return <p class="system">{m.text}</p>;
  const byNumber = new Map(m.citations.map((c) => [c.number, c]));
  const cite = (n: number) => {
    const c = byNumber.get(n);
    if (!c) return null;
    const href = safeHref(c.url);
    return (
      <sup class="cite">{href ? <a href={href} target="_blank" rel={LINK_REL} title={c.title}>{`[${n}]`}</a> : `[${n}]`}</sup>
    );
  };
  // The visitor's own words are shown as typed: text, not markdown.
  const a = m.attachment;
  const body = a ? (
    <button type="button" class="file" onClick={() => void chat?.open(a)} aria-label={`Download ${a.name}`}>
      {`📎 ${a.name} (${size(a.size)})`}
    </button>
  ) : m.role === "customer" ? (
    <p>{m.text}</p>
  ) : (
    renderMarkdown(m.text, { cite })
  );
  return (
    <div class={`msg ${m.role}${m.failed ? " failed" : ""}`} data-role={m.role}>
      {m.role === "human" && <div class="author">{m.author ?? "Support"}</div>}
      {body}
      {m.citations.length > 0 && (
        <div class="cites">
          <span class="sr">Sources</span>
          <ol>
            {m.citations.map((c) => {
              const href = safeHref(c.url);
              const label = c.heading_path ? `${c.title} › ${c.heading_path}` : c.title;
              return (
                <li value={c.number}>
                  {href ? (
                    <a href={href} target="_blank" rel={LINK_REL} class="citation">
                      {label}
                    </a>
                  ) : (
                    <span class="citation">{label}</span>
                  )}
                </li>
              );
            })}
          </ol>
        </div>
      )}
    </div>
  );
}

function Composer({ chat, busy, input }: { chat: Chat; busy: boolean; input: { current: HTMLTextAreaElement | null } }) {
  const [text, setText] = useState("");
  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!text.trim() || busy) return;
    void chat.send(text);
    setText("");
  };
  return (
    <form class="composer" onSubmit={submit}>
      <label class="icon" title="Attach a file">
        <span class="sr">Attach a file</span>
        <ClipIcon />
        <input
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"
          disabled={busy}
          onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0];
            (e.currentTarget as HTMLInputElement).value = "";
            if (f) void chat.attach(f);
          }}
        />
      </label>
      <label class="sr" for="sb-input">
        Your message
      </label>
      <textarea
        id="sb-input"
        ref={input}
        rows={1}
        maxLength={4000}
        placeholder="Write a message…"
        value={text}
        onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
        }}
      />
      <button class="icon send" type="submit" aria-label="Send" disabled={busy || !text.trim()}>
        <SendIcon />
      </button>
    </form>
  );
}

function Csat({ chat }: { chat: Chat }) {
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState("");
  return (
    <div class="csat" role="group" aria-label="Rate this conversation">
      <p>How did we do?</p>
      <div class="stars">
        {[1, 2, 3, 4, 5].map((n) => (
          <button type="button" aria-pressed={rating === n} aria-label={`${n} of 5`} onClick={() => setRating(n)}>
            {n <= rating ? "★" : "☆"}
          </button>
        ))}
      </div>
      {rating > 0 && (
        <>
          <label class="sr" for="sb-csat">
            Anything to add?
          </label>
          <textarea
            id="sb-csat"
            placeholder="Anything to add? (optional)"
            maxLength={1000}
            value={comment}
            onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)}
          />
          <button class="send" type="button" onClick={() => void chat.rate(rating, comment.trim() || undefined)}>
            Send rating
          </button>
        </>
      )}
    </div>
  );
}
