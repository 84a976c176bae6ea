import type { Database } from "@neosc/db/database";
import { createTestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, inject } from "vitest";

export const TEST_HOST_ID = "host-router-tests";

/**
 * A workspace host that can start every kind of workspace, live at every clock the tests inject
 * (its heartbeat is far in the future). The router's tests are about decisions (placement,
 * policies, audit); the host's own behaviour is tested with real sandboxes in packages/host and
 * packages/provisioner, and end to end through the API.
 */
export async function registerTestHost(db: Database): Promise<void> {
  const ok = { ok: true, missing: [], problem: null };
  await db.workspaceHosts.heartbeat(
    {
      id: TEST_HOST_ID,
      name: "router-tests",
      url: null,
      capacity: 1000,
      capabilities: {
        "local:desktop": ok,
        "local:firefox": ok,
        "local:terminal": ok,
        "local:shell": ok,
        static: ok,
        ssh: ok,
      },
    },
    new Date("2100-01-01T00:00:00Z"),
  );
}

export interface TestDatabaseHandle {
  readonly db: Database;
}

/** A database of its own for the calling test file, with default policies, dropped afterwards. */
export function useTestDatabase(): TestDatabaseHandle {
  let current: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(inject("mongoUrl"));
    await current.db.policies.seedDefaults();
    await registerTestHost(current.db);
  });
  afterAll(async () => {
    await current?.drop();
  });
  return {
    get db() {
      if (current === undefined) throw new Error("the test database is created in beforeAll");
      return current.db;
    },
  };
}
