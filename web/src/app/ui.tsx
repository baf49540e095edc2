// Shared pieces of the dashboard's pages. Everything a user or a customer
// controls is rendered as text (Preact text nodes), never as HTML.

import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./api";

/** Loads data when `deps` change; `reload()` fetches again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (e: unknown) => mine === seq.current && setState({ error: messageOf(e), loading: false }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run, set: (data: T) => setState({ data, loading: false }) };
}

/** Runs an action, keeping its busy state and error for the UI. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async <T,>(f: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await f();
    } catch (e) {
      setError(messageOf(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; sub?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · Switchboard`;
  }, [props.title]);
  return (
    <section class="page">
      <div class="page-head">
        <div>
          <h1 tabIndex={-1}>{props.title}</h1>
          {props.sub && <p class="muted">{props.sub}</p>}
        </div>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

export function ErrorNote({ error }: { error?: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

const STATUS_CLASS: Record<string, string> = {
  ready: "ok", answered: "ok", resolved: "ok", live: "ok", released: "ok", active: "ok",
  pending: "wait", processing: "wait", queued: "wait", pending_human: "warn", draft: "wait", running: "wait",
  failed: "bad", refused: "bad", escalated: "warn", abstained: "warn", human: "info", ai: "info", revoked: "bad",
};

export function Badge({ value }: { value: string | null | undefined }) {
  if (!value) return null;
  return <span class={`badge ${STATUS_CLASS[value] ?? ""}`}>{value.replace(/_/g, " ")}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={d.toLocaleString()}>
      {relative(d)}
    </time>
  );
}

export function relative(d: Date, now = Date.now()): string {
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.round(s / 86400)} d ago`;
  return d.toLocaleDateString();
}

export function Field(props: { label: string; hint?: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={`field${props.wide ? " wide" : ""}`}>
      <span class="label">{props.label}</span>
      {props.children}
      {props.hint && <span class="hint">{props.hint}</span>}
    </label>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

/** A modal dialog on <dialog>: focus is trapped by the browser, Escape closes it. */
export function Modal(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} onClose={props.onClose} aria-label={props.title}>
      <div class="dialog-head">
        <h2>{props.title}</h2>
        <button type="button" class="ghost" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.open && props.children}
    </dialog>
  );
}

export function Tabs(props: { tabs: string[]; active: string; onChange: (t: string) => void }) {
  return (
    <div class="tabs" role="tablist">
      {props.tabs.map((t) => (
        <button
          type="button"
          role="tab"
          aria-selected={props.active === t}
          class={props.active === t ? "active" : ""}
          onClick={() => props.onChange(t)}
          onKeyDown={(e) => {
            const i = props.tabs.indexOf(t);
            const next = e.key === "ArrowRight" ? props.tabs[i + 1] : e.key === "ArrowLeft" ? props.tabs[i - 1] : undefined;
            if (next) {
              props.onChange(next);
              (e.currentTarget.parentElement?.children[props.tabs.indexOf(next)] as HTMLElement | undefined)?.focus();
            }
          }}
        >
          {t}
        </button>
      ))}
    </div>
  );
}

/** Renders any JSON value as a readable definition list (text only). */
export function JsonView({ value }: { value: unknown }): JSX.Element {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (typeof value === "number") return <span>{Number.isInteger(value) ? String(value) : value.toFixed(3)}</span>;
  if (typeof value !== "object") return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">none</span>;
    if (value.every((v) => typeof v !== "object" || v === null)) return <span>{value.map(String).join(", ")}</span>;
    return (
      <ol class="json">
        {value.map((v) => (
          <li>
            <JsonView value={v} />
          </li>
        ))}
      </ol>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <dl class="json">
      {entries.map(([k, v]) => (
        <>
          <dt>{k.replace(/_/g, " ")}</dt>
          <dd>
            <JsonView value={v} />
          </dd>
        </>
      ))}
    </dl>
  );
}
