import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

const apiTarget = process.env.NEOSC_API_URL ?? "http://localhost:8080";

/**
 * `/trpc` goes to the API. The API's CSRF check only accepts its own origin (plus
 * NEOSC_PORTAL_ORIGINS), so the dev proxy presents requests as coming from the API's origin.
 */
const trpcProxy = {
  "/trpc": {
    target: apiTarget,
    changeOrigin: true,
    configure: (proxy) => {
      proxy.on("proxyReq", (request) => request.setHeader("origin", new URL(apiTarget).origin));
    },
  },
} satisfies Record<string, ProxyOptions>;

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: { port: 5173, proxy: trpcProxy },
  preview: { proxy: trpcProxy },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
});
