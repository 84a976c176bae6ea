import type { AppRouter } from "@neosc/router/types";
import { createTRPCClient, httpBatchLink, type TRPCClient, TRPCClientError } from "@trpc/client";
import superjson from "superjson";

export type NeoscClient = TRPCClient<AppRouter>;

/** A bearer token, or a function asked before every request (so a script can sign in later). */
export type TokenSource = string | null | (() => string | null | Promise<string | null>);

export interface NeoscClientOptions {
  /** The API origin (`http://localhost:8080`) or its tRPC endpoint (`…/trpc`). */
  url: string;
  token?: TokenSource;
  /** A fetch implementation; defaults to the global one (Node ≥ 18). */
  fetch?: typeof globalThis.fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** The tRPC endpoint for an API origin or endpoint URL. */
export function trpcEndpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return trimmed.endsWith("/trpc") ? trimmed : `${trimmed}/trpc`;
}

async function resolveToken(token: TokenSource | undefined): Promise<string | null> {
  if (typeof token === "function") return token();
  return token ?? null;
}

/**
 * A typed client of the NeoSC API for internal TypeScript services: batched HTTP, superjson
 * (dates arrive as `Date`), and the app token as `Authorization: Bearer`.
 */
export function createNeoscClient(options: NeoscClientOptions): NeoscClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: trpcEndpoint(options.url),
        transformer: superjson,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        async headers() {
          const token = await resolveToken(options.token);
          return {
            ...options.headers,
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          };
        },
      }),
    ],
  });
}

/** `error.data` of a failed call: the router's `ErrorShape` (@neosc/core/errors), typed through AppRouter. */
export type ErrorData = NonNullable<TRPCClientError<AppRouter>["data"]>;
/** A refusal's reason with that reason's details. */
export type DomainErrorData = NonNullable<ErrorData["domain"]>;

/** The domain refusal of a failed call (reason, typed details, retry delay), if it has one. */
export function errorDomain(error: unknown): DomainErrorData | null {
  if (!(error instanceof TRPCClientError)) return null;
  return (error as TRPCClientError<AppRouter>).data?.domain ?? null;
}

/** The stable reason code of a refused call (`max_concurrent_sessions`, …), if it has one. */
export function errorReason(error: unknown): DomainErrorData["reason"] | null {
  return errorDomain(error)?.reason ?? null;
}
