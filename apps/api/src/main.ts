import path from "node:path";
import { runUntilSignalled } from "@neosc/core/service";
import { readyBanner } from "./banner.ts";
import { loadEnv } from "./env.ts";
import { prettyLogsFor } from "./log-format.ts";
import { createLogger, startServer } from "./server.ts";

/*
 * `node apps/api/dist/server.mjs` / `tsx apps/api/src/main.ts`: parse the environment once, start,
 * and shut down gracefully on SIGINT/SIGTERM (a second signal forces the exit). On a terminal the
 * log is human lines and a banner says where to go once the API is ready.
 */
const env = loadEnv();
const pretty = prettyLogsFor(env.LOG_FORMAT, process.stdout.isTTY === true);
const logger = createLogger(env.LOG_LEVEL, pretty);
await runUntilSignalled("neosc api", logger, async () => {
  const server = await startServer(env, { logger });
  if (pretty) {
    process.stdout.write(
      readyBanner({
        url: server.url,
        publicUrl: env.NEOSC_PUBLIC_URL,
        adminEmail: env.NEOSC_ADMIN_EMAIL,
        bootstrap: server.bootstrap,
        adminPasswordConfigured: env.NEOSC_ADMIN_PASSWORD !== undefined,
        oidcIssuer: env.NEOSC_OIDC_ISSUER ?? null,
        dataDir: env.NEOSC_DATA_DIR,
        recordingsDir: env.NEOSC_RECORDINGS_DIR ?? path.join(env.NEOSC_DATA_DIR, "recordings"),
        embeddedDatabase: server.embeddedDatabase,
        databaseName: env.MONGO_DB_NAME ?? null,
      }),
    );
  }
  return server;
});
