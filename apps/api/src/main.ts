import { loadEnv } from "./env.ts";
import { createLogger, startServer } from "./server.ts";

/*
 * `node apps/api/dist/server.mjs` / `tsx apps/api/src/main.ts`: parse the environment once, start,
 * and shut down gracefully on SIGINT/SIGTERM (a second signal forces the exit).
 */
const env = loadEnv();
const logger = createLogger(env.LOG_LEVEL);

try {
  const server = await startServer(env, { logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "signal received");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  logger.fatal({ err: error }, "neosc api failed to start");
  process.exit(1);
}
