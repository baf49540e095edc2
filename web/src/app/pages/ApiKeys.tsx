// API keys: create (the secret is shown once), list, revoke.

import { useState } from "preact/hooks";
import type { BodyOf } from "../../api";
import { api, ok } from "../api";
import { Badge, CopyButton, Empty, ErrorNote, Field, Loading, Page, Time, useAction, useLoad } from "../ui";

type Scope = NonNullable<BodyOf<"/v1/api-keys", "post">["scopes"]>[number];
const SCOPES: Scope[] = ["read", "write", "admin"];

export function ApiKeys() {
  const list = useLoad(async () => ok(await api.GET("/v1/api-keys", { params: { query: { limit: 100 } } })), []);
  const a = useAction();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["read", "write"]);
  const [secret, setSecret] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    const r = await a.run(async () => ok(await api.POST("/v1/api-keys", { body: { name, scopes } })));
    if (r) {
      setSecret(r.secret);
      setName("");
      list.reload();
    }
  };
  const revoke = (id: string, keyName: string) => {
    if (!confirm(`Revoke “${keyName}”? Requests with it fail at once.`)) return;
    void a.run(async () => ok(await api.DELETE("/v1/api-keys/{id}", { params: { path: { id } } }))).then(list.reload);
  };
  return (
    <Page title="API keys" sub="For your servers and scripts. A key's secret is shown once.">
      <form class="card" onSubmit={(e) => void create(e)}>
        <h2>New key</h2>
        <Field label="Name">
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="CRM sync" />
        </Field>
        <fieldset class="picker">
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label class="check">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />{" "}
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={a.busy || scopes.length === 0}>
          Create key
        </button>
      </form>
      {secret && (
        <div class="card secret" role="status">
          <h2>Your new key</h2>
          <p>Copy it now: it is not shown again.</p>
          <div class="row">
            <code class="secret-value">{secret}</code>
            <CopyButton text={secret} />
          </div>
        </div>
      )}
      <ErrorNote error={a.error ?? list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.api_keys.length === 0 ? (
        <Empty>No keys.</Empty>
      ) : (
        <table class="list" aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Role and scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.api_keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>
                  {k.role as string} · {(k.scopes as string[]).join(", ")}
                </td>
                <td>
                  <Time iso={k.created_at} />
                </td>
                <td>
                  <Time iso={k.last_used_at} />
                </td>
                <td>
                  {k.revoked_at ? (
                    <Badge value="revoked" />
                  ) : (
                    <button type="button" class="ghost danger" onClick={() => revoke(k.id, k.name)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
