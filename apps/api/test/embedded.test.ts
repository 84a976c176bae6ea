import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LoginOutput } from "@neosc/core/auth";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnv } from "../src/env.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { bearer, mutation, query } from "./support/http.ts";

/*
 * The embedded default: no MONGO_URL, so the API starts its own database in the data folder,
 * creates the first admin with a password shown once, and keeps a generated session secret so a
 * restart keeps people signed in.
 */

let dataDir = "";
let running: RunningServer | null = null;

afterAll(async () => {
  await running?.close();
  if (dataDir !== "") await rm(dataDir, { recursive: true, force: true });
});

async function start(announced: string[]) {
  running = await startServer(
    parseEnv({
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_ENABLED: "false",
      LOG_LEVEL: "silent",
      NEOSC_DATA_DIR: dataDir,
      NEOSC_ADMIN_EMAIL: "owner@neosc.test",
    }),
    { announce: (text) => announced.push(text) },
  );
  return running;
}

describe("the embedded default", () => {
  it("bootstraps once, prints the generated password once, and keeps sessions across a restart", async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "neosc-embedded-"));
    const firstNotice: string[] = [];
    const first = await start(firstNotice);
    expect(first.embeddedDatabase).toBe(true);
    const password = /password:\s+(\S+)/.exec(firstNotice.join(""))?.[1] ?? "";
    expect(password.length).toBeGreaterThanOrEqual(10);

    const login = await mutation<LoginOutput>(first.url, "auth.login", {
      email: "owner@neosc.test",
      password,
    });
    expect(login.status).toBe(200);
    expect(login.data?.user).toMatchObject({ role: "admin", mustChangePassword: true });
    const secretFile = path.join(dataDir, "session-secret");
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = await readFile(secretFile, "utf8");
    await first.close();

    const secondNotice: string[] = [];
    const second = await start(secondNotice);
    expect(secondNotice).toEqual([]);
    expect(await readFile(secretFile, "utf8")).toBe(secret);
    const me = await query(second.url, "auth.me", undefined, { headers: bearer(login.data?.token ?? "") });
    expect(me.status).toBe(200);
  });
});
