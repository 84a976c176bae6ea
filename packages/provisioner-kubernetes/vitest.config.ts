import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One control plane for the run (started in globalSetup); the files share it, one at a time.
    globalSetup: ["test/global-setup.ts", "test/database-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    // The first run on a machine builds the control plane (many minutes).
    hookTimeout: 90 * 60_000,
  },
});
