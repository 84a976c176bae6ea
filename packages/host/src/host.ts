import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { AuditActor } from "@neosc/core/audit";
import { clipboardRule } from "@neosc/core/policy";
import type { SessionEndReason, WorkspaceSession } from "@neosc/core/session";
import { type Workspace, type WorkspaceDriver, WorkspaceProgramSchema } from "@neosc/core/workspace";
import { capabilityOf, type DriverHealth } from "@neosc/core/workspace-host";
import type { Database } from "@neosc/db/database";
import { combineDrivers } from "@neosc/provisioner/drivers";
import type { ExitCause, Provisioner } from "@neosc/provisioner/provisioner";
import { isWarmId, StartError } from "@neosc/provisioner/provisioner";
import { type ClipboardAtStart, createWarmPool } from "./warm-pool.ts";

/*
 * A workspace host (ARCHITECTURE §9): runs a provisioner, announces itself in MongoDB with its
 * capacity, what it can start and a heartbeat, starts the workspaces of the sessions placed on
 * it (storing where each listens with its session, for the gateway), and reconciles: a sandbox whose session ended is stopped, a session whose sandbox died
 * ends with `workspace_exited` — also after a restart, since the drivers keep their records on
 * disk (or, for Kubernetes, in the API server). The embedded default runs one inside the API process.
 */

export interface HostLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface WorkspaceHostOptions {
  db: Database;
  drivers: Partial<Record<WorkspaceDriver, Provisioner>>;
  /** Where the host keeps its id (so a restarted host is the same host). */
  stateDir: string;
  /** Sessions it accepts at once (default 8); sandboxes started ahead count against it too. */
  capacity?: number;
  /**
   * Most sandboxes it keeps started ahead in all (default 4, 0: none), for the workspaces whose
   * catalogue entry asks for some (`warm`); see warm-pool.ts.
   */
  warmLimit?: number;
  name?: string;
  /** Its internal API's URL for API replicas elsewhere (see agent.ts); absent: in-process only. */
  url?: string;
  clock?: () => Date;
  /** Default 5 s; a host silent for 30 s is lost. */
  heartbeatMs?: number;
  /** How often running sandboxes are compared with their sessions (default 2 s). */
  reconcileMs?: number;
  logger?: HostLogger;
}

export interface WorkspaceHost {
  readonly id: string;
  /** Starts the workspace of a session placed on this host; rejects with a StartError to show. */
  start(sessionId: string): Promise<void>;
  stop(sessionId: string): Promise<void>;
  /** One reconcile round (also run on a timer). */
  reconcile(): Promise<void>;
  /** Stops the timers; running workspaces are left to the drivers (`--die-with-parent`). */
  close(): Promise<void>;
}

const SYSTEM_ACTOR: AuditActor = { id: "system", email: null, role: null };

/** Every so many reconcile rounds the host also looks for its sessions that no driver holds. */
const ORPHAN_CHECK_EVERY = 15;

/** Heartbeats between two health checks of a host whose drivers cannot all start workspaces. */
const RECHECK_EVERY = 6;

/**
 * How long after the last launch's start the warm pool waits before it refills: about as long as
 * a viewer takes to connect and draw its first frame under a burst of launches.
 */
const REFILL_QUIET_MS = 2_000;

/** Longer than any start takes (a pod's readiness deadline included). */
const START_GRACE_MS = 180_000;

async function persistentHostId(stateDir: string): Promise<string> {
  const file = join(stateDir, "host-id");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = `host-${randomUUID()}`;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * A local catalogue entry of the given program, only for asking the local driver whether it
 * could start such a workspace (its health depends on the program, not on the rest).
 */
function probeWorkspace(driver: WorkspaceDriver, program: Workspace["program"]): Workspace {
  const at = new Date(0);
  return {
    id: "probe",
    slug: "probe",
    name: "probe",
    description: "",
    kind: "desktop",
    image: null,
    url: null,
    driver,
    program,
    target: null,
    hasVncPassword: false,
    sshTarget: null,
    hasSshCredential: false,
    cpu: 1,
    memoryMb: 1024,
    warm: 0,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
    recording: null,
    createdAt: at,
    updatedAt: at,
  };
}

export async function startWorkspaceHost(options: WorkspaceHostOptions): Promise<WorkspaceHost> {
  const { db } = options;
  const clock = options.clock ?? (() => new Date());
  const id = await persistentHostId(options.stateDir);
  const name = options.name ?? hostname();
  const capacity = options.capacity ?? 8;
  const provisioner = combineDrivers(options.drivers);
  const logger = options.logger;
  /**
   * Launches starting their workspace now, from scratch or from the pool, and when the last one
   * finished: the pool refills only once none has for REFILL_QUIET_MS. A refill started meanwhile
   * takes CPU and this process's time from them while their viewers connect and draw the first
   * frame; under ten concurrent launches it doubled the warm launches' time to first frame.
   */
  let starting = 0;
  let lastStartEndedAt = 0;
  let refillTimer: NodeJS.Timeout | null = null;

  async function capabilities(): Promise<Record<string, DriverHealth>> {
    const result: Record<string, DriverHealth> = {};
    for (const [driver, instance] of Object.entries(options.drivers) as [WorkspaceDriver, Provisioner][]) {
      if (driver !== "local") {
        // Other drivers need the same things for every workspace (a target is checked at start).
        const health = await instance.health();
        result[driver] = { ok: health.ok, missing: health.missing, problem: health.problem ?? null };
        continue;
      }
      for (const program of WorkspaceProgramSchema.options) {
        const probe = probeWorkspace(driver, program);
        const capability = capabilityOf(probe);
        if (capability === null) continue;
        const health = await instance.health(probe);
        result[capability] = { ok: health.ok, missing: health.missing, problem: health.problem ?? null };
      }
    }
    return result;
  }

  const announcement = {
    id,
    name,
    url: options.url ?? null,
    capacity,
    capabilities: await capabilities(),
  };
  const clipboardAtStart = async (): Promise<ClipboardAtStart> => {
    const rule = clipboardRule(await db.policies.get("clipboard"));
    return rule === null ? null : { toWorkspace: rule.toWorkspace, fromWorkspace: rule.fromWorkspace };
  };
  const pool = createWarmPool({
    provisioner,
    limit: options.warmLimit ?? 4,
    workspaces: () => db.workspaces.list({ enabled: true }),
    clipboard: clipboardAtStart,
    room: async () => capacity - ((await db.sessions.activeCountsByHost([id])).get(id) ?? 0),
    launching: () => starting > 0 || Date.now() - lastStartEndedAt < REFILL_QUIET_MS,
    canStart: (capability) => announcement.capabilities[capability]?.ok === true,
    onError: (error, message) => logger?.warn({ err: error }, message),
  });
  // What failed may heal without a restart (a Kubernetes API server not yet reachable, an RBAC
  // binding applied later): every so many heartbeats a host with a failing capability asks again.
  let beats = 0;
  const heartbeat = async () => {
    const failing = Object.values(announcement.capabilities).some((health) => !health.ok);
    if (failing && ++beats % RECHECK_EVERY === 0) announcement.capabilities = await capabilities();
    await db.workspaceHosts.heartbeat({ ...announcement, warm: pool.counts() }, clock());
  };
  await heartbeat();

  async function endSession(session: WorkspaceSession, reason: SessionEndReason): Promise<void> {
    const ended = await db.sessions.end(session.id, { reason, at: clock() });
    if (ended === null) return;
    await db.audit.append({
      actor: SYSTEM_ACTOR,
      action: "session.end",
      resource: { type: "session", id: session.id },
      clientIp: null,
      userAgent: null,
      result: "success",
      reason,
      details: { userId: session.userId, workspaceId: session.workspaceId, hostId: id },
    });
    logger?.info({ sessionId: session.id, reason }, "session ended by its workspace host");
  }

  /**
   * Brings one session's workspace and its session record into agreement. `owner` is the host
   * that started it where every host sees the driver's workspaces (Kubernetes): another live
   * host's running session is left alone; once its session ended (a lost host's end with
   * `host_lost`) any host removes it. `cause` is why the driver ended it, if it did.
   */
  async function reconcileSession(
    sessionId: string,
    alive: boolean,
    owner?: string,
    cause?: ExitCause,
  ): Promise<void> {
    if (isWarmId(sessionId)) {
      // Started ahead: the pool's while it runs; dead, or not this process's pool (a restart), stopped.
      if (!alive || !pool.owns(sessionId)) {
        pool.forget(sessionId);
        await provisioner.stop(sessionId);
      }
      return;
    }
    const session = await db.sessions.findById(sessionId);
    if (session === null || session.status !== "active") {
      await provisioner.stop(sessionId);
      return;
    }
    if (session.hostId !== id) {
      if (owner === undefined) await provisioner.stop(sessionId);
      return;
    }
    // A start still under way answers for its own failure (the launch ends `launch_failed`).
    if (!alive && (await startFinished(session))) {
      await endSession(session, cause === "out_of_memory" ? "workspace_out_of_memory" : "workspace_exited");
      await provisioner.stop(sessionId);
    }
  }

  /** Its start stored an endpoint, or began longer ago than a start can take. */
  async function startFinished(session: WorkspaceSession): Promise<boolean> {
    if (session.startedAt.getTime() < clock().getTime() - START_GRACE_MS) return true;
    return (await db.sessions.findEndpoint(session.id)) !== null;
  }

  let round = 0;
  async function reconcile(): Promise<void> {
    const held = await provisioner.list();
    for (const { sessionId, alive, hostId, cause } of held)
      await reconcileSession(sessionId, alive, hostId, cause);
    if (round++ % ORPHAN_CHECK_EVERY === 0) {
      await endOrphans();
      // Launches and ends keep this host's load exact; a writer that died in between is repaired here.
      await db.sessions.recountHostLoad(id);
    }
  }

  /**
   * Sessions placed here that no driver holds: their workspace is gone (its state folder was
   * wiped, its pod deleted while this host was down, a start cut off by a crash). The sessions
   * are read before the drivers are asked, so a start that finishes in between is not taken for
   * one; a session whose start has not stored an endpoint yet is left three minutes.
   */
  async function endOrphans(): Promise<void> {
    const placed = await db.sessions.listActive({ hostId: id });
    if (placed.length === 0) return;
    const started = new Set<string>();
    for (const session of placed) if (await startFinished(session)) started.add(session.id);
    const heldIds = new Set((await provisioner.list()).map((entry) => entry.sessionId));
    for (const session of placed) {
      if (!heldIds.has(session.id) && started.has(session.id)) await endSession(session, "workspace_exited");
    }
  }

  async function startSession(sessionId: string): Promise<void> {
    const session = await db.sessions.findById(sessionId);
    if (session === null || session.status !== "active") throw new StartError("The session is not active");
    if (session.hostId !== id) throw new StartError("The session is placed on another host");
    const workspace = await db.workspaces.findById(session.workspaceId);
    if (workspace === null) throw new StartError("The workspace no longer exists");
    const vncPassword = workspace.hasVncPassword ? await db.workspaces.findVncPassword(workspace.id) : null;
    const sshCredential = workspace.hasSshCredential
      ? await db.workspaces.findSshCredential(workspace.id)
      : null;
    const clipboard = workspace.driver === "local" ? await clipboardAtStart() : null;
    // A sandbox started ahead for this workspace under the same policy, else a start from scratch.
    const warmId = pool.take(workspace, clipboard);
    let endpoint =
      warmId === null
        ? null
        : await provisioner.assign?.(warmId, sessionId).catch((error: unknown) => {
            logger?.warn({ err: error, sessionId }, "taking a warm sandbox failed; starting afresh");
            return null;
          });
    if (warmId !== null) {
      if (endpoint == null) await provisioner.stop(warmId).catch(() => {});
      pool.forget(warmId);
    }
    if (endpoint == null) {
      endpoint = await provisioner.start({
        sessionId,
        userId: session.userId,
        workspace,
        hostId: id,
        vncPassword,
        sshCredential,
        clipboard,
      });
    }
    // Stored with the session for every gateway replica; false when it ended meanwhile, and
    // then its workspace must not stay running.
    if (!(await db.sessions.setEndpoint(sessionId, endpoint))) {
      await provisioner.stop(sessionId);
      throw new StartError("The session ended while its workspace started");
    }
  }

  provisioner.onExit?.((sessionId, cause) => {
    reconcileSession(sessionId, false, id, cause).catch((error: unknown) =>
      logger?.warn({ err: error, sessionId }, "ending the session of an exited workspace failed"),
    );
  });

  /** One refill once launches have been quiet for REFILL_QUIET_MS (the reconcile timer also refills). */
  function scheduleRefill(): void {
    if (refillTimer !== null) clearTimeout(refillTimer);
    refillTimer = setTimeout(() => {
      refillTimer = null;
      void pool.refill();
    }, REFILL_QUIET_MS);
    refillTimer.unref();
  }

  let reconciling: Promise<void> | null = null;
  const tick = () => {
    if (reconciling !== null) return;
    reconciling = reconcile()
      .catch((error: unknown) => logger?.warn({ err: error }, "workspace reconcile failed"))
      // After the reconciler stopped what an earlier run of this host left started ahead.
      .then(() => {
        void pool.refill();
      })
      .finally(() => {
        reconciling = null;
      });
  };
  tick();
  const reconcileTimer = setInterval(tick, options.reconcileMs ?? 2000);
  reconcileTimer.unref();
  const heartbeatTimer = setInterval(() => {
    heartbeat().catch((error: unknown) => logger?.warn({ err: error }, "host heartbeat failed"));
  }, options.heartbeatMs ?? 5000);
  heartbeatTimer.unref();
  logger?.info({ hostId: id, capacity, capabilities: announcement.capabilities }, "workspace host ready");

  return {
    id,
    async start(sessionId) {
      starting += 1;
      try {
        await startSession(sessionId);
      } finally {
        starting -= 1;
        lastStartEndedAt = Date.now();
        // Off the launch's path: what the pool handed out is started again once launches are quiet.
        if (starting === 0) scheduleRefill();
      }
    },
    stop: (sessionId) => provisioner.stop(sessionId),
    reconcile,
    async close() {
      clearInterval(reconcileTimer);
      clearInterval(heartbeatTimer);
      if (refillTimer !== null) clearTimeout(refillTimer);
      if (reconciling !== null) await reconciling;
      await provisioner.close?.();
      // Nobody's yet, and no later run of this host would hand them out.
      await pool.drain();
    },
  };
}
