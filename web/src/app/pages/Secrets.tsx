// The organization's secrets as the agent editor uses them: a picker of
// their names (values are never sent back by the server) and a dialog to add
// one without leaving the form, so an unsaved draft is not lost.

import { useState } from "preact/hooks";
import { api, ok } from "../api";
import { ErrorNote, Field, Modal, useAction, useLoad } from "../ui";

export interface SecretList {
  names: string[] | undefined;
  error?: string | undefined;
  reload: () => void;
}

/** The names of the organization's secrets (the first 100, which is plenty for a picker). */
export function useSecrets(): SecretList {
  const list = useLoad(
    async () => ok(await api.GET("/v1/secrets", { params: { query: { limit: 100 } } })).secrets.map((s) => s.name).sort(),
    [],
  );
  return { names: list.data, error: list.error, reload: list.reload };
}

const NAME = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}$";

export function SecretPicker(props: {
  label: string;
  value: string;
  onChange: (name: string) => void;
  secrets: SecretList;
  /** The choice meaning "no secret"; without it one must be picked. */
  none?: string;
  invalid?: boolean;
  errorId?: string;
}) {
  const [adding, setAdding] = useState(false);
  const names = props.secrets.names ?? [];
  const missing = props.value !== "" && props.secrets.names !== undefined && !names.includes(props.value);
  return (
    <div class="secret-picker">
      <Field
        label={props.label}
        hint={
          props.secrets.error
            ? `The secrets could not be listed: ${props.secrets.error}`
            : names.length === 0
              ? "No secrets yet: add one with “New secret”. Its value is stored encrypted and never shown again."
              : "One of the organization's secrets; its value is never shown again."
        }
      >
        <select
          value={props.value}
          required={props.none === undefined}
          aria-invalid={props.invalid || missing || undefined}
          aria-describedby={props.invalid ? props.errorId : undefined}
          onChange={(e) => props.onChange(e.currentTarget.value)}
        >
          <option value="">{props.none ?? "Choose a secret"}</option>
          {missing && <option value={props.value}>{props.value} (no such secret)</option>}
          {names.map((n) => (
            <option value={n}>{n}</option>
          ))}
        </select>
      </Field>
      <button type="button" class="secondary" onClick={() => setAdding(true)}>
        New secret…
      </button>
      <Modal title="New secret" open={adding} onClose={() => setAdding(false)}>
        <NewSecret
          onCreated={(name) => {
            setAdding(false);
            props.secrets.reload();
            props.onChange(name);
          }}
        />
      </Modal>
    </div>
  );
}

function NewSecret({ onCreated }: { onCreated: (name: string) => void }) {
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const a = useAction();
  // Its own form inside the dialog: a <dialog> is outside the editor's form
  // in the DOM only when it is open as a modal, so stop the submit here.
  const submit = async (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    const r = await a.run(async () => ok(await api.POST("/v1/secrets", { body: { name, value } })));
    if (r) onCreated(r.name);
  };
  return (
    <form onSubmit={(e) => void submit(e)}>
      <Field label="Secret name" hint="1 to 64 letters, digits, _ . or -, e.g. openai-key.">
        <input required pattern={NAME} maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Secret value" hint="Stored encrypted; nobody can read it back, not even you.">
        <input type="password" required maxLength={8192} autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </Field>
      <ErrorNote error={a.error} />
      <button type="submit" disabled={a.busy}>
        Add secret
      </button>
    </form>
  );
}
