import { DomainError } from "@neosc/core/errors";

/*
 * Opaque keyset cursors: base64url of a small JSON array holding the sort key of the last item
 * of a page (e.g. `[startedAtMs, id]`). Clients pass them back unchanged.
 */

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

export function decodeCursor<T extends readonly ("string" | "number")[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends "number" ? number : string } {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    values = null;
  }
  if (
    !Array.isArray(values) ||
    values.length !== shape.length ||
    values.some(
      (value, index) =>
        typeof value !== shape[index] || (typeof value === "number" && !Number.isFinite(value)),
    )
  ) {
    throw new DomainError("BAD_REQUEST", "invalid_input", "invalid cursor", { details: { field: "cursor" } });
  }
  return values as { [K in keyof T]: T[K] extends "number" ? number : string };
}

/** Escapes user text for use inside a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
