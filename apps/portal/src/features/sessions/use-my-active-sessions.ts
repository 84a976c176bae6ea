import { useMe } from "../../app/me-context.tsx";
import { trpc } from "../../lib/trpc.ts";
import { useHeartbeats } from "./use-heartbeats.ts";

/** The caller's running sessions (admins get everyone's from the API; keep only their own). */
export function useMyActiveSessions() {
  const me = useMe();
  const query = trpc.session.active.useQuery(undefined, { refetchInterval: 60_000 });
  const mine = (query.data ?? []).filter((session) => session.userId === me.user.id);
  useHeartbeats(mine.map((session) => session.id));
  return { query, mine, all: query.data ?? [] };
}
