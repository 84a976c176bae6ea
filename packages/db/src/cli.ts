import { parseArgs } from "node:util";
import { resolveServerBinary } from "./local-server/binary.ts";
import { findPostgresBinDir } from "./local-server/postgresql.ts";
import { configuredEngine, startLocalServer } from "./local-server.ts";

/*
 * `pnpm --filter @neosc/db database <command>`
 *   ensure   locate (or build once) the local server binary and print its path (CI pre-builds this);
 *            with NEOSC_DB_ENGINE=postgresql also the PostgreSQL server binaries' folder (an error
 *            when there are none; the default engine falls back to SQLite at start instead)
 *   start    run a local server in the foreground: persistent in ./.neosc/db unless --throwaway
 */

const USAGE = `usage: database ensure
       database start [--data-dir <dir>] [--port <n>] [--throwaway]`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      port: { type: "string" },
      throwaway: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }

  if (command === "ensure") {
    const engine = configuredEngine();
    const binary = await resolveServerBinary({ mongod: engine === undefined || engine === "mongod" });
    console.log(binary.path);
    if (engine === "postgresql") console.log(await findPostgresBinDir());
    return 0;
  }

  if (command === "start") {
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      console.error(`invalid --port ${values.port}`);
      return 2;
    }
    const server = await startLocalServer({
      mode: values.throwaway ? "throwaway" : "persistent",
      dataDir: values["data-dir"],
      port,
    });
    console.log(`${server.engine} (pid ${server.pid}) listening: ${server.url}`);
    console.log(`data: ${server.dataDir}${values.throwaway ? " (removed on stop)" : ""}`);
    console.log("press Ctrl-C to stop");
    // The launcher keeps nothing alive on purpose; in the foreground we wait for a signal.
    const keepAlive = setInterval(() => {}, 1 << 30);
    await new Promise<void>((done) => {
      for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => done());
    });
    clearInterval(keepAlive);
    await server.stop();
    console.log("stopped");
    return 0;
  }

  console.error(`unknown command ${command}\n${USAGE}`);
  return 2;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
