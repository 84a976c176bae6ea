import { randomUUID } from "node:crypto";
import type { PolicySettings } from "@neosc/core/policy";
import type { Workspace } from "@neosc/core/workspace";
import { capabilityOf } from "@neosc/core/workspace-host";
import type { Provisioner } from "@neosc/provisioner/provisioner";
import { WARM_ID_PREFIX } from "@neosc/provisioner/provisioner";

/*
 * A workspace host's warm pool (what Kasm calls staging): per workspace whose catalogue entry
 * asks for it (`warm: n`), n sandboxes started ahead on this host, so that a launch takes one
 * that already draws its desktop instead of starting Xvnc, the window manager and the program.
 *
 * What may differ per person, and where it is decided:
 * - Nothing of a person is in a sandbox started ahead: its home is new and empty (the launcher
 *   writes only the program's own defaults), its account (uid) is its own and unused, and its
 *   environment holds nothing of anyone (sandbox.ts). Assignment renames it to the session; a
 *   sandbox is handed out once and stopped after its session like any other, never pooled again.
 * - The local driver's endpoint is a unix socket with no VNC password (the gateway checks the
 *   person), so there is no per-session secret to set at assignment.
 * - What the workspace applies at start — the catalogue entry's program, name, URL, CPU and
 *   memory limits, and the `clipboard` policy (Xvnc's SendCutText/AcceptCutText) — is the
 *   sandbox's fingerprint: when any of it changes, sandboxes started under the old one are
 *   stopped and started afresh, never handed out. Network is the driver's per-program setting.
 * - Keyboard, recording, idle and time limits are the gateway's, per connection: unaffected.
 *
 * Room: warm sandboxes never push the host past its capacity (sessions + warm ≤ capacity) nor
 * past `limit` in all; a session that takes one moves it from warm to active. Placement counts
 * only sessions, as a warm sandbox becomes the next session's. Refills start one sandbox at a
 * time at low priority (the driver's `ahead`), and none while a launch is starting (from
 * scratch or from the pool): the host refills once the last one is done. The pool
 * is in this process only: after a restart the host stops every `warm-` sandbox it finds (the
 * reconciler) and starts new ones.
 */

export type ClipboardAtStart = Pick<PolicySettings<"clipboard">, "toWorkspace" | "fromWorkspace"> | null;

export interface WarmPoolOptions {
  provisioner: Provisioner;
  /** Most sandboxes kept started ahead on this host in all (0: no pool). */
  limit: number;
  /** Workspaces that may want sandboxes (enabled ones; the pool keeps those with `warm` > 0). */
  workspaces: () => Promise<Workspace[]>;
  /** The `clipboard` policy as a workspace applies it at start. */
  clipboard: () => Promise<ClipboardAtStart>;
  /** How many more sandboxes the host has room for (capacity − active sessions). */
  room: () => Promise<number>;
  /** Whether a launch is starting its workspace now (a refill then waits until none is). */
  launching: () => boolean;
  /** Whether this host can start the workspace (its capability is healthy). */
  canStart: (capability: string) => boolean;
  onError?: (error: unknown, message: string) => void;
}

interface WarmSandbox {
  id: string;
  workspaceId: string;
  fingerprint: string;
  ready: boolean;
}

export interface WarmPool {
  /**
   * A started sandbox for this workspace under this clipboard policy, taken out of the pool; it
   * stays the pool's (the reconciler leaves it alone) until `forget` once it is handed over.
   */
  take(workspace: Workspace, clipboard: ClipboardAtStart): string | null;
  /** Whether `id` is one of the pool's sandboxes (starting, ready, or being handed over). */
  owns(id: string): boolean;
  /** Handed over, or ended on its own: no longer the pool's (the caller stops what is left). */
  forget(id: string): void;
  /** Ready sandboxes per workspace id (the host's announcement). */
  counts(): Record<string, number>;
  /** Stops surplus or outdated sandboxes and starts missing ones, one at a time. */
  refill(): Promise<void>;
  /** Stops every sandbox of the pool (host shutdown). */
  drain(): Promise<void>;
}

/**
 * What a sandbox was started with: the catalogue entry's fields that the driver reads at start
 * (program, name, URL, CPU and memory limits) and the clipboard policy. Other edits of the entry
 * (its `warm` count, description, tags, roles) keep the started sandboxes: restarting them all
 * would leave the host with none ready while it starts them again, for nothing that differs.
 */
export function warmFingerprint(workspace: Workspace, clipboard: ClipboardAtStart): string {
  return JSON.stringify([
    workspace.id,
    workspace.driver,
    workspace.program,
    workspace.name,
    workspace.url,
    workspace.image,
    workspace.cpu,
    workspace.memoryMb,
    clipboard === null ? null : [clipboard.toWorkspace, clipboard.fromWorkspace],
  ]);
}

export function createWarmPool(options: WarmPoolOptions): WarmPool {
  const { provisioner } = options;
  const sandboxes = new Map<string, WarmSandbox>();
  /** Taken by a launch and being assigned to its session. */
  const handing = new Set<string>();
  let refilling: Promise<void> | null = null;
  /** The fingerprints the last round wanted: a sandbox of another is outdated, not announced as ready. */
  let wantedFingerprints = new Set<string>();

  async function stopQuietly(id: string): Promise<void> {
    sandboxes.delete(id);
    await provisioner
      .stop(id)
      .catch((error: unknown) => options.onError?.(error, "stopping a warm sandbox failed"));
  }

  async function round(): Promise<void> {
    const wanted = options.limit > 0 ? (await options.workspaces()).filter((w) => w.warm > 0) : [];
    const clipboard = wanted.length > 0 ? await options.clipboard() : null;
    const desired = new Map<string, { workspace: Workspace; count: number }>();
    for (const workspace of wanted) {
      const capability = capabilityOf(workspace);
      if (workspace.driver !== "local" || capability === null || !options.canStart(capability)) continue;
      desired.set(warmFingerprint(workspace, clipboard), { workspace, count: workspace.warm });
    }
    wantedFingerprints = new Set(desired.keys());
    // Outdated (catalogue or policy changed, workspace gone), surplus, or past the host's room
    // (sessions came meanwhile, for other workspaces): stopped, never handed out.
    const room = sandboxes.size > 0 || desired.size > 0 ? await options.room() : 0;
    const kept = new Map<string, number>();
    let keeping = 0;
    for (const sandbox of [...sandboxes.values()]) {
      if (!sandbox.ready) continue;
      const want = desired.get(sandbox.fingerprint)?.count ?? 0;
      const have = kept.get(sandbox.fingerprint) ?? 0;
      if (have < want && keeping < Math.min(room, options.limit)) {
        kept.set(sandbox.fingerprint, have + 1);
        keeping += 1;
      } else await stopQuietly(sandbox.id);
    }
    for (const [fingerprint, { workspace, count }] of desired) {
      for (let have = kept.get(fingerprint) ?? 0; have < count; have++) {
        if (sandboxes.size >= options.limit || options.launching()) return;
        if ((await options.room()) - sandboxes.size <= 0) return;
        const id = `${WARM_ID_PREFIX}${randomUUID()}`;
        const sandbox: WarmSandbox = { id, workspaceId: workspace.id, fingerprint, ready: false };
        // The pool's before the driver writes its record, so the reconciler leaves it alone.
        sandboxes.set(id, sandbox);
        try {
          await provisioner.start({ sessionId: id, userId: "warm-pool", workspace, clipboard, ahead: true });
          if (sandboxes.get(id) === sandbox) sandbox.ready = true;
          else await provisioner.stop(id);
        } catch (error) {
          await stopQuietly(id);
          options.onError?.(error, "starting a warm sandbox failed");
          return;
        }
      }
    }
  }

  return {
    take(workspace, clipboard) {
      const fingerprint = warmFingerprint(workspace, clipboard);
      for (const sandbox of sandboxes.values()) {
        if (sandbox.ready && sandbox.fingerprint === fingerprint) {
          sandboxes.delete(sandbox.id);
          handing.add(sandbox.id);
          return sandbox.id;
        }
      }
      return null;
    },
    owns: (id) => sandboxes.has(id) || handing.has(id),
    forget(id) {
      sandboxes.delete(id);
      handing.delete(id);
    },
    counts() {
      const counts: Record<string, number> = {};
      for (const sandbox of sandboxes.values()) {
        if (sandbox.ready && wantedFingerprints.has(sandbox.fingerprint))
          counts[sandbox.workspaceId] = (counts[sandbox.workspaceId] ?? 0) + 1;
      }
      return counts;
    },
    refill() {
      refilling ??= round()
        .catch((error: unknown) => options.onError?.(error, "refilling the warm pool failed"))
        .finally(() => {
          refilling = null;
        });
      return refilling;
    },
    async drain() {
      if (refilling !== null) await refilling;
      for (const id of [...sandboxes.keys()]) await stopQuietly(id);
    },
  };
}
