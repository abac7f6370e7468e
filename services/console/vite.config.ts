import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The API serves dist/ at "/" (client-side routes fall back to index.html). In development,
// `npm run dev` proxies /api (REST and the WebSocket) to a running `podium up`.
const api = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.PODIUM_API
  ?? "http://127.0.0.1:8765";

export default defineConfig({
  plugins: [react()],
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
    proxy: { "/api": { target: api, ws: true, changeOrigin: false } },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
