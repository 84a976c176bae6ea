import { afterAll, beforeAll, inject } from "vitest";
import type { Database } from "../src/database.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

export interface TestDatabaseHandle {
  readonly db: Database;
  readonly test: TestDatabase;
}

/** A database of its own for the calling test file, dropped afterwards. */
export function useTestDatabase(options: { clock?: () => Date } = {}): TestDatabaseHandle {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(inject("mongoUrl"), options);
  });
  afterAll(async () => {
    await current?.drop();
  });
  const get = () => {
    if (current === undefined) throw new Error("the test database is created in beforeAll");
    return current;
  };
  return {
    get db() {
      return get().db;
    },
    get test() {
      return get();
    },
  };
}

/** Runs `fn` and returns the DomainError-like object it rejects with. */
export async function rejectionOf(
  fn: () => Promise<unknown>,
): Promise<{ code?: string; reason?: string; details?: Record<string, unknown>; message: string }> {
  try {
    await fn();
  } catch (error) {
    return error as { code?: string; reason?: string; details?: Record<string, unknown>; message: string };
  }
  throw new Error("expected a rejection");
}
