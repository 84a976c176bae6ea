import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, type ReactNode, Suspense, useRef, useState } from "react";
import { useToasts } from "../components/ui/toast.ts";
import { readApiError } from "../lib/api-error.ts";
import type { RuntimeConfig } from "../lib/config.ts";
import { createTrpcClient, trpc } from "../lib/trpc.ts";
import { RuntimeConfigContext } from "./runtime-config.tsx";

const NO_RETRY_CODES = new Set([
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "TOO_MANY_REQUESTS",
]);

function isMeQuery(queryKey: readonly unknown[]): boolean {
  const path = queryKey[0];
  return Array.isArray(path) && path[0] === "auth" && path[1] === "me";
}

export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      // A revoked or expired login shows up on whatever query runs next: re-check who we are,
      // and the app shell sends the person to the sign-in page.
      onError: (error, query) => {
        if (readApiError(error).code === "UNAUTHORIZED" && !isMeQuery(query.queryKey)) {
          void client.invalidateQueries({ queryKey: [["auth", "me"]] });
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (failureCount, error) => {
          const code = readApiError(error).code;
          return !(code && NO_RETRY_CODES.has(code)) && failureCount < 2;
        },
      },
      mutations: { retry: false },
    },
  });
  return client;
}

const Toaster = lazy(async () => ({ default: (await import("../components/ui/toaster.tsx")).Toaster }));

/** Radix Toast arrives with the first toast, keeping it off the sign-in page's critical path. */
function Toasts() {
  const items = useToasts();
  const needed = useRef(false);
  if (items.length > 0) needed.current = true;
  if (!needed.current) return null;
  return (
    <Suspense fallback={null}>
      <Toaster items={items} />
    </Suspense>
  );
}

export function Providers({ config, children }: { config: RuntimeConfig; children: ReactNode }) {
  const [queryClient] = useState(createQueryClient);
  const [trpcClient] = useState(() => createTrpcClient(config));
  return (
    <RuntimeConfigContext.Provider value={config}>
      <trpc.Provider client={trpcClient} queryClient={queryClient}>
        <QueryClientProvider client={queryClient}>
          {children}
          <Toasts />
        </QueryClientProvider>
      </trpc.Provider>
    </RuntimeConfigContext.Provider>
  );
}
