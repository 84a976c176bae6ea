import { runUntilSignalled } from "@neosc/core/service";
import { loadEnv } from "./env.ts";
import { createLogger, startServer } from "./server.ts";

/*
 * `node apps/api/dist/server.mjs` / `tsx apps/api/src/main.ts`: parse the environment once, start,
 * and shut down gracefully on SIGINT/SIGTERM (a second signal forces the exit).
 */
const env = loadEnv();
const logger = createLogger(env.LOG_LEVEL);
await runUntilSignalled("neosc api", logger, () => startServer(env, { logger }));
