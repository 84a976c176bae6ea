import { z } from "zod";
import { WorkspaceSchema } from "./workspace.ts";

/**
 * What one provisioner driver on a host can do: `ok` when it can start workspaces, otherwise the
 * Debian packages it lacks and (when packages would not help) the problem in words.
 */
export const DriverHealthSchema = z.object({
  ok: z.boolean(),
  missing: z.array(z.string()),
  problem: z.string().nullable(),
});
export type DriverHealth = z.infer<typeof DriverHealthSchema>;

/**
 * A workspace host: a process that runs a provisioner and registers itself in MongoDB with its
 * capacity and a heartbeat (ARCHITECTURE §9). The embedded default is one such host inside the
 * API process; larger installs run many.
 */
export const WorkspaceHostSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Its internal API for API replicas elsewhere (null: only reachable inside its own process). */
  url: z.string().nullable(),
  /** Sessions it accepts at once. */
  capacity: z.number().int().min(0),
  /** Per capability it has (see `capabilityOf`): `local:desktop`, `local:firefox`, `static`… */
  capabilities: z.record(z.string(), DriverHealthSchema),
  /** Sandboxes it holds started ahead, ready for a launch, per workspace id (its warm pool). */
  warm: z.record(z.string(), z.number().int().min(0)),
  startedAt: z.date(),
  heartbeatAt: z.date(),
});
export type WorkspaceHost = z.infer<typeof WorkspaceHostSchema>;

/** Whether a workspace can start on this install now, and if not, why (shown in the catalogue). */
export const WorkspaceAvailabilitySchema = z.object({
  available: z.boolean(),
  /** Why not, in words; null when available. */
  reason: z.string().nullable(),
  /** Debian packages that would make it available (`apt-get install …`). */
  missing: z.array(z.string()),
});
export type WorkspaceAvailability = z.infer<typeof WorkspaceAvailabilitySchema>;

/** A workspace as the catalogue lists it: with whether it can start here now. */
export const CatalogueEntrySchema = WorkspaceSchema.extend({ availability: WorkspaceAvailabilitySchema });
export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>;

/** A host not heard from for this long is lost: its sessions end with `host_lost`. */
export const HOST_LOST_AFTER_MS = 30_000;

/**
 * What a host must be able to do to run a workspace: `local:<program>` for the local driver
 * (each program needs its own packages), the driver's name otherwise; null when no host runs it
 * (web workspaces) or it names no driver (made for container images this install does not run).
 */
export function capabilityOf(workspace: {
  kind: string;
  driver: string | null;
  program: string | null;
}): string | null {
  if (workspace.kind === "web" || workspace.driver === null) return null;
  return workspace.driver === "local" ? `local:${workspace.program ?? "desktop"}` : workspace.driver;
}
