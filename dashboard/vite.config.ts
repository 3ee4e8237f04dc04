// Build config: Preact's automatic JSX runtime, hashed assets under /assets (nginx caches them immutably),
// and the dev server proxying the backend the way nginx does in production.
import { defineConfig } from "vitest/config";

const backend = process.env.BACKEND_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { target: "es2022", sourcemap: false, assetsDir: "assets", chunkSizeWarningLimit: 200 },
  server: {
    proxy: {
      "/api": backend,
      "/health": backend,
      "/ready": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
