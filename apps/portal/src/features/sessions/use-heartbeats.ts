import { useEffect, useRef } from "react";
import { trpc } from "../../lib/trpc.ts";

export const HEARTBEAT_INTERVAL_MS = 60_000;

/**
 * While a page shows the caller's running sessions, tell the API every minute that they are in
 * use, so the idle-timeout policy ends only sessions nobody is looking at.
 */
export function useHeartbeats(sessionIds: readonly string[]) {
  const utils = trpc.useUtils();
  const heartbeat = trpc.session.heartbeat.useMutation();
  const mutate = useRef(heartbeat.mutateAsync);
  mutate.current = heartbeat.mutateAsync;
  const key = [...sessionIds].sort().join(",");

  useEffect(() => {
    if (key === "") return;
    const ids = key.split(",");
    let cancelled = false;
    const beat = async () => {
      const results = await Promise.allSettled(ids.map((sessionId) => mutate.current({ sessionId })));
      if (cancelled) return;
      // A failure usually means the session just ended (max duration, admin): refresh the list.
      if (results.some((result) => result.status === "rejected")) void utils.session.invalidate();
      else void utils.session.active.invalidate();
    };
    void beat();
    const timer = window.setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
    };
  }, [key, utils]);
}
