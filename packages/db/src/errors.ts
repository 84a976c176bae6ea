import { DomainError, isDomainError } from "@neosc/core/errors";
import type { Collection, Document } from "mongodb";

/** A backend's unique violation as FerretDB 1.24 passes it on (SQLite's words, PostgreSQL's SQLSTATE). */
const BACKEND_UNIQUE_VIOLATION = /UNIQUE constraint failed|\(SQLSTATE 23505\)/;

/**
 * Duplicate key (E11000) from MongoDB or FerretDB, for single and bulk writes. FerretDB 1.24
 * reports a unique violation by an update of an existing document as InternalError (code 1)
 * carrying its backend's words instead: SQLite's "UNIQUE constraint failed", PostgreSQL's
 * unique_violation "(SQLSTATE 23505)". Claims, locks and unique fields behave the same on both.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, writeErrors, message } = error as {
    code?: unknown;
    writeErrors?: unknown;
    message?: unknown;
  };
  if (code === 11000 || code === 11001) return true;
  if (code === 1 && typeof message === "string" && BACKEND_UNIQUE_VIOLATION.test(message)) return true;
  return (
    Array.isArray(writeErrors) && writeErrors.some((item) => (item as { code?: unknown })?.code === 11000)
  );
}

/**
 * Driver errors that mean "the database cannot be reached right now", by name: the name survives
 * wrapping and a second copy of the driver, the class does not.
 */
const UNREACHABLE_ERROR_NAMES = new Set([
  "MongoServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoPoolClearedError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoWaitQueueTimeoutError",
  "MongoServerClosedError",
]);

/**
 * Whether `error` means the database is unreachable right now (a retry may succeed): a driver
 * error of that kind or our own `database_unavailable`, anywhere in its cause chain (wrappers
 * nest them).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (UNREACHABLE_ERROR_NAMES.has(current.name)) return true;
    if (isDomainError(current, "database_unavailable")) return true;
    current = current.cause;
  }
  return false;
}

/**
 * Which unique field a duplicate-key error is about. MongoDB names it (`keyPattern`, or
 * `index: <name>` in the message); FerretDB says only "duplicate key error collection: x", so we
 * then look for another document holding one of the written unique values.
 */
export async function duplicateField<T extends Document>(
  error: unknown,
  collection: Collection<T>,
  writtenDoc: object,
  uniqueFields: readonly string[],
): Promise<string> {
  const written = writtenDoc as Record<string, unknown>;
  const { keyPattern, message } = error as { keyPattern?: Record<string, unknown>; message?: string };
  const fromPattern = keyPattern ? Object.keys(keyPattern)[0] : undefined;
  if (fromPattern) return fromPattern;
  for (const field of uniqueFields) {
    if (message?.includes(`index: ${field}_1 `) || message?.includes(`index: ${field} `)) return field;
  }
  const ownId = written._id;
  for (const field of uniqueFields) {
    if (field === "_id" || written[field] === undefined) continue;
    const filter: Document = { [field]: written[field] };
    if (ownId !== undefined) filter._id = { $ne: ownId };
    if ((await collection.countDocuments(filter as never, { limit: 1 })) > 0) return field;
  }
  return "_id";
}

/** The domain's view of a unique violation: CONFLICT/duplicate naming the field (`_id` → `id`). */
export function duplicateError(entity: string, field: string, cause?: unknown): DomainError {
  const name = field === "_id" ? "id" : field;
  return new DomainError("CONFLICT", "duplicate", `a ${entity} with this ${name} already exists`, {
    details: { field: name },
    cause,
  });
}

/**
 * Runs a write and turns a duplicate key into `duplicateError` naming the field; other errors
 * pass through unchanged.
 */
export async function mapDuplicate<T, D extends Document>(
  write: () => Promise<T>,
  target: {
    entity: string;
    collection: Collection<D>;
    written: object;
    unique: readonly string[];
  },
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    const field = await duplicateField(error, target.collection, target.written, target.unique);
    throw duplicateError(target.entity, field, error);
  }
}
