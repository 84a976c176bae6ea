import type { Database } from "@neosc/db/database";
import { createTestDatabase } from "@neosc/db/testing";
import { afterAll, beforeAll, inject } from "vitest";

export interface TestDatabaseHandle {
  readonly db: Database;
}

/** A database of its own for the calling test file, with default policies, dropped afterwards. */
export function useTestDatabase(): TestDatabaseHandle {
  let current: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(inject("mongoUrl"));
    await current.db.policies.seedDefaults();
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
