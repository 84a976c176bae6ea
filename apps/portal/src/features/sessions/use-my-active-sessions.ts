import { useMe } from "../../app/me-context.tsx";
import { trpc } from "../../lib/trpc.ts";

/**
 * The caller's own running sessions, asked for by `userId` (an admin's unfiltered call returns
 * everyone's). Only reads: an open portal tab does not keep a session alive — the gateway
 * measures idle from the person's real input on the workspace connection.
 */
export function useMyActiveSessions() {
  const me = useMe();
  const query = trpc.session.active.useQuery({ userId: me.user.id }, { refetchInterval: 60_000 });
  return { query, mine: query.data ?? [] };
}
