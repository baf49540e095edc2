import { useState } from "preact/hooks";
import { api, ok, setCsrf } from "../api";
import { ErrorNote, useAction } from "../ui";

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(async () => ok(await api.POST("/v1/auth/login", { body: { email, password } })));
    if (r) {
      setCsrf(r.csrf_token);
      onLoggedIn();
    }
  };
  return (
    <main class="login" id="main">
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Log in to Switchboard</h1>
        <label class="field">
          <span class="label">Email</span>
          <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span class="label">Password</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorNote error={action.error} />
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
