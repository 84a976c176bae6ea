import type { ErrorShape } from "@neosc/core/errors";
import superjson from "superjson";

export interface WireResponse<T = unknown> {
  status: number;
  headers: Headers;
  data: T | null;
  error: ErrorShape | null;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Mutations are JSON unless a test says otherwise (CSRF checks); null sends none. */
  contentType?: string | null;
}

async function decode<T>(response: Response): Promise<WireResponse<T>> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: response.status, headers: response.headers, data: null, error: null };
  }
  const envelope = body as {
    result?: { data: Parameters<typeof superjson.deserialize>[0] };
    error?: Parameters<typeof superjson.deserialize>[0];
  };
  return {
    status: response.status,
    headers: response.headers,
    data: envelope.result ? superjson.deserialize<T>(envelope.result.data) : null,
    error: envelope.error ? superjson.deserialize<ErrorShape>(envelope.error) : null,
  };
}

/** A tRPC query over HTTP GET, as @trpc/client sends it (superjson envelope). */
export async function query<T = unknown>(
  baseUrl: string,
  path: string,
  input?: unknown,
  options: CallOptions = {},
): Promise<WireResponse<T>> {
  const search =
    input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  return decode<T>(await fetch(`${baseUrl}/trpc/${path}${search}`, { headers: options.headers ?? {} }));
}

/** A tRPC mutation over HTTP POST. */
export async function mutation<T = unknown>(
  baseUrl: string,
  path: string,
  input?: unknown,
  options: CallOptions = {},
): Promise<WireResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const contentType = options.contentType === undefined ? "application/json" : options.contentType;
  if (contentType !== null) headers["content-type"] = contentType;
  return decode<T>(
    await fetch(`${baseUrl}/trpc/${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(input === undefined ? {} : superjson.serialize(input)),
    }),
  );
}

/** The `neosc_session` value from a response's Set-Cookie headers, with its attributes. */
export function sessionCookieOf(headers: Headers): { value: string; attributes: string } | null {
  for (const cookie of headers.getSetCookie()) {
    const match = /^neosc_session=([^;]*)(;.*)?$/.exec(cookie);
    if (match) return { value: match[1] ?? "", attributes: match[2] ?? "" };
  }
  return null;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const cookie = (token: string) => ({ cookie: `neosc_session=${token}` });
