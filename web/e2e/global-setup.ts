// Starts what the browser suite runs against: `switchboard serve` on a free
// loopback port with a fresh data directory and the built web/dist, and a
// "customer site" on another loopback port (another origin) that embeds the
// widget with one script tag. Returns the teardown.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { STATE_FILE, type E2EState } from "./state";

const WEB = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** The customer's site: `/?deployment=ID[&open=true]` embeds the widget; no CSP, so the renderer is the only defence. */
function hostSite(base: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const dep = (url.searchParams.get("deployment") ?? "").replace(/[^A-Za-z0-9-]/g, "");
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Shop</title><style>body{font:16px system-ui;margin:2rem;color:#222} .hero{padding:2rem;background:#f3f0e8;border-radius:12px}</style></head>
<body><div class="hero"><h1>Demo Shop</h1><p>Handmade things, shipped across Europe.</p><p>Page: ${url.pathname.replace(/[^a-z0-9/-]/gi, "")}</p></div>
<script src="${base}/widget.js" data-deployment="${dep}" async></script></body></html>`;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
}

async function waitReady(base: string, child: ReturnType<typeof spawn>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`switchboard exited with ${child.exitCode}; see test-results/server.log`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("switchboard did not become ready in 60 s; see test-results/server.log");
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.SWITCHBOARD_BIN;
  if (!bin) throw new Error("SWITCHBOARD_BIN is not set (scripts/e2e sets it)");
  const results = join(WEB, "test-results");
  mkdirSync(join(results, "screens"), { recursive: true });
  const data = mkdtempSync(join(tmpdir(), "switchboard-e2e-"));
  const email = "owner@e2e.test";
  const password = `e2e-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const init = JSON.parse(
    execFileSync(bin, ["init", "--data", data, "--org", "E2E Shop", "--email", email, "--password", password, "--json"], {
      encoding: "utf8",
    }),
  ) as { api_key: string; user_id: string; org_id: string };

  // Settings only this binary knows (unknown keys are errors): the example config lists them.
  const example = execFileSync(bin, ["default-config"], { encoding: "utf8" });
  const knows = (key: string) => new RegExp(`^#?\\s*${key}\\s*=`, "m").test(example);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(join(results, "server.log"), "w");
  const child = spawn(bin, ["serve", "--data", data, "--listen", `127.0.0.1:${port}`], {
    env: {
      ...process.env,
      ...(knows("dist_dir") ? { SWITCHBOARD__WEB__DIST_DIR: join(WEB, "dist") } : {}),
      SWITCHBOARD__LOG__LEVEL: process.env.SWITCHBOARD__LOG__LEVEL ?? "info",
      SWITCHBOARD__RATE_LIMIT__PER_IP_PER_MINUTE: "0",
      SWITCHBOARD__RATE_LIMIT__PER_KEY_PER_MINUTE: "0",
      SWITCHBOARD__RATE_LIMIT__LOGIN_PER_IP_PER_20S: "1000",
      SWITCHBOARD__RATE_LIMIT__LOGIN_PER_EMAIL_PER_5MIN: "1000",
      ...(process.env.E2E_EXTRA_ENV ? JSON.parse(process.env.E2E_EXTRA_ENV) : {}),
    },
    stdio: ["ignore", log, log],
  });
  await waitReady(base, child);

  const hostPort = await freePort();
  const host = hostSite(base);
  await new Promise<void>((r) => host.listen(hostPort, "127.0.0.1", r));
  const state: E2EState = {
    base,
    host: `http://127.0.0.1:${hostPort}`,
    email,
    password,
    apiKey: init.api_key,
    userId: init.user_id,
  };
  writeFileSync(STATE_FILE, JSON.stringify(state));

  return async () => {
    host.close();
    child.kill("SIGTERM");
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        r(undefined);
      }, 10_000);
      child.on("exit", () => {
        clearTimeout(t);
        r(undefined);
      });
    });
    if (!process.env.E2E_KEEP) rmSync(data, { recursive: true, force: true });
    rmSync(STATE_FILE, { force: true });
  };
}
