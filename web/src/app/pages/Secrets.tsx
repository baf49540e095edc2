// The organization's secrets (API keys of model providers, tokens for HTTP
// tools): their page, where they are added and deleted, and the picker the
// agent editor uses, with a dialog to add one without leaving the form, so an
// unsaved draft is not lost. The server never sends a value back.

import { useState } from "preact/hooks";
import { api, ok } from "../api";
import { Empty, ErrorNote, Field, Loading, Modal, Page, Time, useAction, useLoad } from "../ui";

export function Secrets() {
  const list = useLoad(async () => ok(await api.GET("/v1/secrets", { params: { query: { limit: 100 } } })).secrets, []);
  const a = useAction();
  const remove = (id: string, name: string) => {
    if (!confirm(`Delete the secret “${name}”? Agents that use it fail to call their model or tools until it is added again.`)) return;
    void a.run(async () => ok(await api.DELETE("/v1/secrets/{id}", { params: { path: { id } } }))).then(list.reload);
  };
  return (
    <Page title="Secrets" sub="Keys and tokens your agents use, stored encrypted. A value is never shown again.">
      <div class="card">
        <h2>New secret</h2>
        <NewSecret onCreated={() => list.reload()} />
      </div>
      <ErrorNote error={a.error ?? list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.length === 0 ? (
        <Empty>No secrets yet.</Empty>
      ) : (
        <table class="list" aria-label="Secrets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Added</th>
              <th scope="col">Changed</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.map((s) => (
              <tr>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>
                  <Time iso={s.created_at} />
                </td>
                <td>
                  <Time iso={s.updated_at} />
                </td>
                <td>
                  <button type="button" class="ghost danger" onClick={() => remove(s.id, s.name)} aria-label={`Delete ${s.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

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
              : "One of the organization's secrets (see Secrets in the menu); its value is never shown again."
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
  // In the editor this form sits inside the editor's form (a modal <dialog>
  // is still its child in the DOM): its submit must not bubble up and save.
  const submit = async (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    const r = await a.run(async () => ok(await api.POST("/v1/secrets", { body: { name, value } })));
    if (r) {
      setName("");
      setValue("");
      onCreated(r.name);
    }
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
