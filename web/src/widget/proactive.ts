// When the proactive greeting may show: on pages matching the deployment's
// URL patterns (none: every page).

/** Whether the page's URL contains one of the patterns (`*` matches anything), as the server documents it. */
export function urlMatches(patterns: string[] | null | undefined, href: string): boolean {
  if (!patterns || patterns.length === 0) return true;
  const path = new URL(href).pathname;
  return patterns.some((p) => {
    const re = new RegExp(p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*"));
    return re.test(href) || re.test(path);
  });
}
