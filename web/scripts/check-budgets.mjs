// The size budgets of issue 5, checked on the built files: the widget's
// script at most 30 KB gzipped; the dashboard's first load (index.html and
// every script and style it loads before the app runs) at most 300 KB gzipped.
// Exits non-zero when one is exceeded, so `npm run build` fails.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const KB = 1024;
const BUDGETS = { widget: 30 * KB, dashboard: 300 * KB };
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length;

const failures = [];
const widgetPath = join(dist, "widget.js");
if (!existsSync(widgetPath)) failures.push("dist/widget.js is missing");
const widget = existsSync(widgetPath) ? gz(widgetPath) : 0;

const indexPath = join(dist, "app", "index.html");
if (!existsSync(indexPath)) failures.push("dist/app/index.html is missing");
const html = existsSync(indexPath) ? readFileSync(indexPath, "utf8") : "";
const refs = new Set();
for (const m of html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)) {
  if (/\.(m?js|css)$/.test(m[1])) refs.add(m[1]);
}
let dashboard = html ? gzipSync(html).length : 0;
const parts = [];
for (const ref of refs) {
  const file = join(dist, "app", ref.replace(/^\/app\//, ""));
  if (!existsSync(file)) {
    failures.push(`index.html loads ${ref}, which is not in dist/app`);
    continue;
  }
  const size = gz(file);
  dashboard += size;
  parts.push(`${ref} ${(size / KB).toFixed(1)} KB`);
}
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html) || /<style/i.test(html)) {
  failures.push("dist/app/index.html has an inline script or style (the CSP allows neither)");
}

const line = (name, size, budget) =>
  `${name.padEnd(22)} ${(size / KB).toFixed(1).padStart(6)} KB gzipped (budget ${budget / KB} KB)`;
console.log(line("widget.js", widget, BUDGETS.widget));
console.log(line("dashboard first load", dashboard, BUDGETS.dashboard));
for (const p of parts) console.log(`  ${p}`);
if (widget > BUDGETS.widget) failures.push(`widget.js is ${(widget / KB).toFixed(1)} KB gzipped, over its budget`);
if (dashboard > BUDGETS.dashboard) failures.push(`the dashboard's first load is ${(dashboard / KB).toFixed(1)} KB gzipped, over its budget`);
if (failures.length) {
  for (const f of failures) console.error(`budget check: ${f}`);
  process.exit(1);
}
