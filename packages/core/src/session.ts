import { z } from "zod";
import { IdSchema, PageInputSchema, pageOf } from "./common.ts";
import { WorkspaceKindSchema } from "./workspace.ts";

export const SessionStatusSchema = z.enum(["active", "ended"]);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

export const SessionEndReasonSchema = z.enum([
  "user_stopped",
  "admin_disconnected",
  "user_disconnected",
  "max_duration",
  "idle_timeout",
  "access_hours",
  "user_disabled",
  /** An administrator reset the person's second factor: their sign-ins and sessions ended. */
  "mfa_reset",
  "workspace_deleted",
  /** The workspace's processes ended (crashed, killed, or the person quit its program). */
  "workspace_exited",
  /** A process of the workspace went past the catalogue's memory limit: the session was ended. */
  "workspace_out_of_memory",
  /** The workspace host stopped sending heartbeats; its sandboxes are presumed gone. */
  "host_lost",
  /** The login session behind the connection was revoked (sign-out, admin). */
  "login_revoked",
  /** The host accepted the session but could not start its workspace. */
  "launch_failed",
  /** The `recording` policy requires recording and the gateway could not record the session. */
  "recording_failed",
]);
export type SessionEndReason = z.infer<typeof SessionEndReasonSchema>;

/** A workspace session: one person's running launch of one workspace. */
export const WorkspaceSessionSchema = z.object({
  id: IdSchema,
  workspaceId: IdSchema,
  workspaceSlug: z.string(),
  workspaceName: z.string(),
  workspaceKind: WorkspaceKindSchema,
  userId: IdSchema,
  userEmail: z.string(),
  organizationId: IdSchema.nullable(),
  status: SessionStatusSchema,
  startedAt: z.date(),
  lastHeartbeatAt: z.date(),
  /** The last real input (keys, pointer, clipboard) the gateway saw; idle is measured from it. */
  lastInputAt: z.date().nullable(),
  endedAt: z.date().nullable(),
  endReason: SessionEndReasonSchema.nullable(),
  /** Free-text note from the person who ended it (disconnect). */
  endNote: z.string().nullable(),
  clientIp: z.string().nullable(),
  /** The workspace host running it (null for web workspaces, which no host runs). */
  hostId: z.string().nullable(),
  /** Where the browser goes: the workspace URL for web workspaces, the gateway path otherwise. */
  connectionUrl: z.string().nullable(),
  /** When the session-max-duration / idle-timeout policies will end it, if they are on. */
  endsAt: z.date().nullable(),
  idleEndsAt: z.date().nullable(),
  /**
   * Set while an admin watches the session (`session.watch`): until when the latest watch's lease
   * runs. The watching gateway renews it while the watch is open and clears it at the close; a
   * replica that died stops renewing, so a stale lease runs out by itself. The person's viewer
   * says so while it lies ahead.
   */
  watchedUntil: z.date().optional(),
});
export type WorkspaceSession = z.infer<typeof WorkspaceSessionSchema>;

export const ListSessionsInputSchema = PageInputSchema.extend({
  status: SessionStatusSchema.optional(),
  userId: IdSchema.optional(),
  workspaceId: IdSchema.optional(),
});
export type ListSessionsInput = z.infer<typeof ListSessionsInputSchema>;
export const SessionPageSchema = pageOf(WorkspaceSessionSchema);

export const SessionIdInputSchema = z.strictObject({ sessionId: IdSchema });
export const DisconnectSessionInputSchema = z.strictObject({
  sessionId: IdSchema,
  note: z.string().trim().max(500).optional(),
});

/** session.active: own active sessions; admins may filter everyone's. */
export const ActiveSessionsInputSchema = z
  .strictObject({ userId: IdSchema.optional(), workspaceId: IdSchema.optional() })
  .default({});
export type ActiveSessionsInput = z.infer<typeof ActiveSessionsInputSchema>;

/** workspace.stop: the caller's sessions of that workspace that this call ended. */
export const StopWorkspaceOutputSchema = z.object({ ended: z.array(WorkspaceSessionSchema) });
