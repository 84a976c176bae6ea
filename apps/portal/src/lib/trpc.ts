import type { AppRouter, RouterInputs, RouterOutputs } from "@neosc/router/types";
import { httpBatchLink } from "@trpc/client";
import { createTRPCReact } from "@trpc/react-query";
import superjson from "superjson";
import type { RuntimeConfig } from "./config.ts";

export type { RouterInputs, RouterOutputs };

export const trpc = createTRPCReact<AppRouter>();

/** Sent on every call; the API refuses state-changing requests without it (CSRF defence). */
export const CSRF_HEADER = "x-neosc-csrf";

export function trpcUrl(config: RuntimeConfig): string {
  return `${config.apiBaseUrl}/trpc`;
}

export function createTrpcClient(config: RuntimeConfig) {
  return trpc.createClient({
    links: [
      httpBatchLink({
        url: trpcUrl(config),
        transformer: superjson,
        headers: () => ({ [CSRF_HEADER]: "1" }),
        // Credentials go along so the Pomerium cookie and `neosc_session` reach a split API host.
        fetch: (input, init) => fetch(input, { ...init, credentials: "include" }),
      }),
    ],
  });
}
