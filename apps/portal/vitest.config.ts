import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    setupFiles: ["test/setup.ts"],
    // user-event types key by key through jsdom; on a busy 2-core CI machine that can pass 5 s.
    testTimeout: 30_000,
  },
});
