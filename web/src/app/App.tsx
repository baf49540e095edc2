// The dashboard shell: who is logged in (GET /v1/me with the session
// cookie), the navigation, and the page for the current path.

import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { api, ok, setCsrf, whenUnauthorized, type Me } from "./api";
import { Link, match, navigate, usePath } from "./router";
import { Loading } from "./ui";
import { Login } from "./pages/Login";
import { Overview } from "./pages/Overview";
import { Conversations, ConversationView } from "./pages/Conversations";
import { Knowledge, CollectionView } from "./pages/Knowledge";
import { Agents, AgentView } from "./pages/Agents";
import { Approvals } from "./pages/Approvals";
import { Deployments, DeploymentView } from "./pages/Deployments";
import { Team } from "./pages/Team";
import { ApiKeys } from "./pages/ApiKeys";
import { Secrets } from "./pages/Secrets";
import { Audit } from "./pages/Audit";

interface Route {
  path: string;
  page: ComponentType<{ params: Record<string, string>; me: Me }>;
}

const ROUTES: Route[] = [
  { path: "/", page: Overview },
  { path: "/conversations", page: Conversations },
  { path: "/conversations/:id", page: ConversationView },
  { path: "/knowledge", page: Knowledge },
  { path: "/knowledge/:id", page: CollectionView },
  { path: "/agents", page: Agents },
  { path: "/agents/:id", page: AgentView },
  { path: "/approvals", page: Approvals },
  { path: "/deployments", page: Deployments },
  { path: "/deployments/:id", page: DeploymentView },
  { path: "/team", page: Team },
  { path: "/api-keys", page: ApiKeys },
  { path: "/secrets", page: Secrets },
  { path: "/audit", page: Audit },
];

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/conversations", "Conversations"],
  ["/knowledge", "Knowledge"],
  ["/agents", "Agents"],
  ["/approvals", "Approvals"],
  ["/deployments", "Deployments"],
  ["/team", "Team"],
  ["/api-keys", "API keys"],
  ["/secrets", "Secrets"],
  ["/audit", "Audit log"],
];

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [menu, setMenu] = useState(false);
  const path = usePath();

  const loadMe = async () => {
    try {
      const m = ok(await api.GET("/v1/me"));
      setCsrf(m.csrf_token);
      setMe(m);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setMe(null);
      else setMe(null);
    }
  };

  useEffect(() => {
    whenUnauthorized(() => setMe(null));
    void loadMe();
  }, []);

  useEffect(() => setMenu(false), [path]);

  if (me === undefined) return <Loading />;
  if (me === null) return <Login onLoggedIn={() => void loadMe()} />;

  let body = <NotFound />;
  for (const r of ROUTES) {
    const params = match(r.path, path);
    if (params) {
      const P = r.page;
      body = <P params={params} me={me} />;
      break;
    }
  }

  const logout = async () => {
    await api.POST("/v1/auth/logout").catch(() => undefined);
    setCsrf(undefined);
    setMe(null);
    navigate("/", true);
  };

  const section = (href: string) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`));

  return (
    <div class={`shell${menu ? " menu-open" : ""}`}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <button type="button" class="ghost menu" aria-label="Menu" aria-expanded={menu} onClick={() => setMenu(!menu)}>
          ☰
        </button>
        <span class="brand">Switchboard</span>
        <span class="org">{me.org.name}</span>
        <span class="spacer" />
        <span class="who">
          {me.user?.name ?? me.user?.email} · {me.role}
        </span>
        <button type="button" class="ghost" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <nav class="side" aria-label="Sections">
        <ul>
          {NAV.map(([href, label]) => (
            <li>
              <Link href={href} aria-current={section(href) ? "page" : undefined}>
                {label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">{body}</main>
    </div>
  );
}

function NotFound() {
  return (
    <section class="page">
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        <Link href="/">Back to the overview</Link>
      </p>
    </section>
  );
}
