/*
 * How a NeoSC process (the API, the gateway) runs: start, then shut down gracefully on SIGINT or
 * SIGTERM; a second signal forces the exit, and a failed start or shutdown exits with status 1.
 */

/** The part of a pino logger this needs (core does not depend on pino). */
export interface ServiceLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  fatal(details: object, message: string): void;
}

export async function runUntilSignalled(
  name: string,
  logger: ServiceLogger,
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  try {
    const service = await start();
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "signal received");
      service.close().then(
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
    logger.fatal({ err: error }, `${name} failed to start`);
    process.exit(1);
  }
}
