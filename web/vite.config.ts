// The dashboard: a single-page app served by switchboard at /app/.
import { defineConfig } from "vite";

export default defineConfig({
  root: "src/app",
  base: "/app/",
  publicDir: false,
  // Every <script> and <link> in index.html carries nonce="__CSP_NONCE__"; the
  // server replaces the placeholder with each response's CSP nonce.
  html: { cspNonce: "__CSP_NONCE__" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../../dist/app",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    // No inline scripts or styles in index.html: the server's CSP allows 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8080", "/widget": "http://127.0.0.1:8080" },
  },
});
