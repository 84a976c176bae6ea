import { ConnectSessionInputSchema, ConnectSessionOutputSchema } from "@neosc/core/connection";
import {
  ActiveSessionsInputSchema,
  DisconnectSessionInputSchema,
  ListSessionsInputSchema,
  SessionIdInputSchema,
  SessionPageSchema,
  WorkspaceSessionSchema,
} from "@neosc/core/session";
import { z } from "zod";
import { connectSession } from "../../domain/sessions/connect.ts";
import {
  activeSessions,
  disconnectSession,
  heartbeat,
  listSessions,
} from "../../domain/sessions/sessions.ts";
import { watchSession } from "../../domain/sessions/watch.ts";
import { procedureFor, router } from "../../trpc.ts";

export const sessionRouter = router({
  /** Signed-in callers: their sessions; admins: everyone's, filtered and paginated. */
  list: procedureFor("session.list")
    .input(ListSessionsInputSchema)
    .output(SessionPageSchema)
    .query(({ ctx, input }) => listSessions(ctx, input)),

  /** Signed-in callers: their active sessions; admins: everyone's. */
  active: procedureFor("session.active")
    .input(ActiveSessionsInputSchema)
    .output(z.array(WorkspaceSessionSchema))
    .query(({ ctx, input }) => activeSessions(ctx, input)),

  /** The session's owner: records that their portal is open (idle comes from real input only). */
  heartbeat: procedureFor("session.heartbeat")
    .input(SessionIdInputSchema)
    .output(WorkspaceSessionSchema)
    .mutation(({ ctx, input }) => heartbeat(ctx, input.sessionId)),

  /** The session's owner only: a single-use ticket for one gateway connection (≤ 60 s). */
  connect: procedureFor("session.connect")
    .input(ConnectSessionInputSchema)
    .output(ConnectSessionOutputSchema)
    .mutation(({ ctx, input }) => connectSession(ctx, input)),

  /** Admins: a single-use ticket for one view-only gateway connection to someone's session (audited). */
  watch: procedureFor("session.watch")
    .input(ConnectSessionInputSchema)
    .output(ConnectSessionOutputSchema)
    .mutation(({ ctx, input }) => watchSession(ctx, input)),

  /** The session's owner or an admin: ends it, with an optional note. */
  disconnect: procedureFor("session.disconnect")
    .input(DisconnectSessionInputSchema)
    .output(WorkspaceSessionSchema)
    .mutation(({ ctx, input }) => disconnectSession(ctx, input)),
});
