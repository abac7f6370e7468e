import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

// The API serves dist/ at "/" (client-side routes fall back to index.html). In development,
// `npm run dev` proxies /api (REST and the WebSocket) to a running `podium up` (PODIUM_API, default
// http://127.0.0.1:8765). With PODIUM_DEV_TOKEN set, the dev server signs every proxied request with that
// API token and answers GET /auth/session from /me, so pages can be worked on without a login; nothing of
// this is in the build.
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const api = env.PODIUM_API ?? "http://127.0.0.1:8765";
const devToken = env.PODIUM_DEV_TOKEN;

function devSession(): Plugin {
  return {
    name: "podium-dev-session",
    apply: "serve",
    configureServer(server) {
      if (!devToken) return;
      server.middlewares.use("/api/v1/auth/session", (_req, res) => {
        void fetch(`${api}/api/v1/me`, { headers: { Authorization: `Bearer ${devToken}` } })
          .then((r) => r.json())
          .then((user) => {
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify({ user, csrf_token: "dev" }));
          });
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), devSession()],
  build: {
    outDir: "dist",
    // Hashed file names: the API caches assets long and index.html never.
    assetsDir: "assets",
    chunkSizeWarningLimit: 900,
    rollupOptions: {
      output: {
        manualChunks: {
          react: ["react", "react-dom", "react-router-dom"],
          query: ["@tanstack/react-query"],
        },
      },
    },
  },
  server: {
    proxy: {
      "/api": {
        target: api,
        ws: true,
        headers: devToken ? { Authorization: `Bearer ${devToken}` } : undefined,
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
