// `npm run build`: the widget (dist/widget.js), then the dashboard
// (dist/app/), then the size budgets, which fail the build when exceeded.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

/**
 * The widget runs on pages we do not control, some without a UTF-8 charset:
 * escape every non-ASCII character (all are in string, template or regex
 * literals, where \\uXXXX means the same), so it reads the same in any encoding.
 */
function asciiOnly(path) {
  const src = readFileSync(path, "utf8");
  const out = src.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  writeFileSync(path, out);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
rmSync(join(root, "dist"), { recursive: true, force: true });
await build({ configFile: join(root, "vite.widget.config.ts"), logLevel: "warn" });
asciiOnly(join(root, "dist", "widget.js"));
await build({ configFile: join(root, "vite.config.ts"), logLevel: "warn" });
await import("./check-budgets.mjs");
