import type { DomainErrorData, ErrorShape } from "@neosc/core/errors";
import superjson from "superjson";

/**
 * The tRPC v11 HTTP wire format as `httpBatchLink` speaks it (superjson transformer), for
 * callers that need the raw request: the benchmark (autocannon sends bytes, not objects) and
 * calls made from inside a page with the page's own cookie.
 */

export type Call = readonly [procedure: string, input?: unknown];

/** GET path of a batched query, e.g. `/trpc/workspace.list,session.active?batch=1&input=...`. */
export function batchQueryPath(calls: readonly Call[], prefix = "/trpc"): string {
  const input: Record<string, unknown> = {};
  calls.forEach(([, value], index) => {
    input[index] = superjson.serialize(value);
  });
  const names = calls.map(([name]) => name).join(",");
  return `${prefix}/${names}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`;
}

/** POST of one mutation as the batch link sends it: path with `?batch=1`, body keyed by index. */
export function batchMutation(procedure: string, input: unknown, prefix = "/trpc") {
  return {
    path: `${prefix}/${procedure}?batch=1`,
    body: JSON.stringify({ 0: superjson.serialize(input) }),
  };
}

/** A failed call, flattened from the router's `ErrorShape` (@neosc/core/errors). */
export interface WireError {
  message: string;
  code: string;
  httpStatus: number;
  domain: DomainErrorData | null;
}

export type WireResult<T = unknown> = { ok: true; data: T } | { ok: false; error: WireError };

interface RawItem {
  result?: { data: { json: unknown; meta?: unknown } };
  error?: { json: unknown; meta?: unknown };
}

/** Decodes the JSON array a batched call answers with. */
export function decodeBatch(text: string): WireResult[] {
  const items = JSON.parse(text) as RawItem[] | RawItem;
  return (Array.isArray(items) ? items : [items]).map(decodeItem);
}

function decodeItem(item: RawItem): WireResult {
  if (item.result) {
    return {
      ok: true,
      data: superjson.deserialize(item.result.data as Parameters<typeof superjson.deserialize>[0]),
    };
  }
  const raw = superjson.deserialize(
    item.error as Parameters<typeof superjson.deserialize>[0],
  ) as Partial<ErrorShape>;
  return {
    ok: false,
    error: {
      message: raw.message ?? "",
      code: raw.data?.code ?? String(raw.code ?? "UNKNOWN"),
      httpStatus: raw.data?.httpStatus ?? 0,
      domain: raw.data?.domain ?? null,
    },
  };
}

export interface HttpCallOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A small fetch-based caller for scripts (bench seeding, resilience): one procedure per request. */
export class WireClient {
  constructor(
    readonly baseUrl: string,
    readonly headers: Record<string, string> = {},
  ) {}

  with(headers: Record<string, string>): WireClient {
    return new WireClient(this.baseUrl, { ...this.headers, ...headers });
  }

  async query<T = unknown>(procedure: string, input?: unknown, options: HttpCallOptions = {}) {
    const response = await fetch(this.baseUrl + batchQueryPath([[procedure, input]]), {
      headers: { ...this.headers, ...options.headers },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    return this.read<T>(response);
  }

  async mutate<T = unknown>(procedure: string, input?: unknown, options: HttpCallOptions = {}) {
    const { path, body } = batchMutation(procedure, input);
    const response = await fetch(this.baseUrl + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...this.headers, ...options.headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    return this.read<T>(response);
  }

  private async read<T>(response: Response): Promise<{ status: number; result: WireResult<T> }> {
    const text = await response.text();
    let result: WireResult<T>;
    try {
      result = decodeBatch(text)[0] as WireResult<T>;
    } catch {
      result = {
        ok: false,
        error: { message: text.slice(0, 200), code: "NOT_TRPC", httpStatus: response.status, domain: null },
      };
    }
    return { status: response.status, result };
  }
}

/** The data of a successful call, or an error that says which procedure failed and why. */
export function unwrap<T>(procedure: string, outcome: { status: number; result: WireResult<T> }): T {
  if (outcome.result.ok) return outcome.result.data;
  const { error } = outcome.result;
  throw new Error(
    `${procedure} failed with ${outcome.status} ${error.code}${error.domain ? ` (${error.domain.reason})` : ""}: ${error.message}`,
  );
}
