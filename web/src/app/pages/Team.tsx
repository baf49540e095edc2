// Team and roles: members of the organization, their roles, invitations.

import { useState } from "preact/hooks";
import type { BodyOf } from "../../api";
import { api, ok, type Me } from "../api";
import { Empty, ErrorNote, Field, Loading, Page, Time, useAction, useLoad } from "../ui";

type Role = BodyOf<"/v1/users", "post">["role"];
const ROLES = ["owner", "admin", "agent", "analyst"] as Role[];
const ROLE_HELP: Record<string, string> = {
  owner: "everything, including ownership",
  admin: "everything but granting ownership",
  agent: "reads and works conversations",
  analyst: "read-only",
};

export function Team({ me }: { me: Me }) {
  const list = useLoad(async () => {
    // Every member, page by page: a team is small enough to show whole.
    const users = [];
    let after: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = ok(await api.GET("/v1/users", { params: { query: { limit: 100, ...(after ? { after } : {}) } } }));
      users.push(...page.users);
      if (!page.next_cursor) break;
      after = page.next_cursor;
    }
    return { users };
  }, []);
  const a = useAction();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("agent" as Role);
  const canManage = me.role === "owner" || me.role === "admin";
  const add = async (e: Event) => {
    e.preventDefault();
    const r = await a.run(async () => ok(await api.POST("/v1/users", { body: { email, name, password, role } })));
    if (r) {
      setEmail("");
      setName("");
      setPassword("");
      list.reload();
    }
  };
  const change = (id: string, role: Role) =>
    a.run(async () => ok(await api.PATCH("/v1/users/{id}", { params: { path: { id } }, body: { role } }))).then(list.reload);
  const remove = (id: string, who: string) => {
    if (!confirm(`Remove ${who} from the organization?`)) return;
    void a.run(async () => ok(await api.DELETE("/v1/users/{id}", { params: { path: { id } } }))).then(list.reload);
  };
  return (
    <Page title="Team" sub="People in this organization and what they may do.">
      {canManage && (
        <form class="card" onSubmit={(e) => void add(e)}>
          <h2>Add a member</h2>
          <div class="grid2">
            <Field label="Email">
              <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </Field>
            <Field label="Name">
              <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Initial password" hint="At least 12 characters; they can change it later.">
              <input type="password" autoComplete="new-password" required minLength={12} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </Field>
            <Field label="Role">
              <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
                {ROLES.map((r) => (
                  <option value={r}>
                    {r} ({ROLE_HELP[r]})
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <button type="submit" disabled={a.busy}>
            Add member
          </button>
        </form>
      )}
      <ErrorNote error={a.error ?? list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.users.length === 0 ? (
        <Empty>No members.</Empty>
      ) : (
        <table class="list" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.users.map((u) => (
              <tr>
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td>
                  {canManage && u.id !== me.user?.id ? (
                    <select aria-label={`Role of ${u.name}`} value={u.role as string} onChange={(e) => void change(u.id, e.currentTarget.value as Role)}>
                      {ROLES.map((r) => (
                        <option value={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    (u.role as string)
                  )}
                </td>
                <td>
                  <Time iso={u.joined_at} />
                </td>
                <td>
                  {canManage && u.id !== me.user?.id && (
                    <button type="button" class="ghost danger" onClick={() => remove(u.id, u.name)}>
                      Remove
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
