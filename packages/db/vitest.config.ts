import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One throwaway MongoDB-compatible server for the run (unless MONGO_URL is set); each test
    // file creates and drops its own database.
    globalSetup: ["test/global-setup.ts"],
    // The machine is shared: two test files at a time are plenty.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
