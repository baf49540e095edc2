// The widget: one self-contained IIFE script, dist/widget.js.
import { defineConfig } from "vite";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2020",
    sourcemap: false,
    lib: {
      entry: "src/widget/main.tsx",
      formats: ["iife"],
      name: "SwitchboardWidget",
      fileName: () => "widget.js",
    },
  },
});
