import { loadGatewayEnv } from "./env.ts";
import { createLogger, startGateway } from "./server.ts";

/* `node apps/gateway/dist/gateway.mjs`: parse the environment once, start, stop on SIGINT/SIGTERM. */
const env = loadGatewayEnv();
const logger = createLogger(env.LOG_LEVEL);

try {
  const gateway = await startGateway(env, { logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "signal received");
    gateway.close().then(
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
  logger.fatal({ err: error }, "neosc gateway failed to start");
  process.exit(1);
}
