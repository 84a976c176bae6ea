import { useMe } from "../../app/me-context.tsx";
import { trpc } from "../../lib/trpc.ts";

/**
 * The caller's running sessions (admins get everyone's from the API; keep only their own). Only
 * reads: an open portal tab does not keep a session alive — the gateway measures idle from the
 * person's real input on the workspace connection.
 */
export function useMyActiveSessions() {
  const me = useMe();
  const query = trpc.session.active.useQuery(undefined, { refetchInterval: 60_000 });
  const mine = (query.data ?? []).filter((session) => session.userId === me.user.id);
  return { query, mine, all: query.data ?? [] };
}
