import { runUntilSignalled } from "@neosc/core/service";
import { loadGatewayEnv } from "./env.ts";
import { createLogger, startGateway } from "./server.ts";

/* `node apps/gateway/dist/gateway.mjs`: parse the environment once, start, stop on SIGINT/SIGTERM. */
const env = loadGatewayEnv();
const logger = createLogger(env.LOG_LEVEL);
await runUntilSignalled("neosc gateway", logger, () => startGateway(env, { logger }));
