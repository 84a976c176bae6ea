import { randomUUID } from "node:crypto";
import { CoreV1Api, NetworkingV1Api } from "@kubernetes/client-node";
import type { Workspace } from "@neosc/core/workspace";
import { inject } from "vitest";
import {
  KubernetesProvisioner,
  type KubernetesProvisionerOptions,
  kubeConfigFor,
} from "../src/kubernetes-provisioner.ts";
import type { ClusterAccess } from "./global-setup.ts";

/** The control plane from globalSetup, or the test is skipped naming what is missing. */
export function clusterOrSkip(context: { skip: (note?: string) => never }): ClusterAccess {
  const cluster = inject("cluster");
  if ("missing" in cluster) return context.skip(cluster.missing);
  return cluster;
}

/** The provisioner as the gateway runs it: with the neosc-provisioner service account's token. */
export function provisionerFor(
  cluster: ClusterAccess,
  options: Omit<KubernetesProvisionerOptions, "kubeConfig"> = {},
): KubernetesProvisioner {
  return new KubernetesProvisioner({
    kubeConfig: kubeConfigFor({
      server: cluster.server,
      caData: cluster.caData,
      token: cluster.provisionerToken,
    }),
    ...options,
  });
}

/** Clients as the cluster admin, to look behind the provisioner's back. */
export function adminClients(cluster: ClusterAccess) {
  const config = kubeConfigFor({ server: cluster.server, caData: cluster.caData, token: cluster.adminToken });
  return { core: config.makeApiClient(CoreV1Api), networking: config.makeApiClient(NetworkingV1Api) };
}

export function workspace(overrides: Partial<Workspace> = {}): Workspace {
  const now = new Date();
  return {
    id: randomUUID(),
    slug: "debian-desktop",
    name: "Debian desktop",
    description: "",
    kind: "desktop",
    image: "registry.example/neosc/desktop:1.0",
    url: null,
    driver: null,
    program: null,
    target: null,
    hasVncPassword: false,
    sshTarget: null,
    hasSshCredential: false,
    cpu: 1.5,
    memoryMb: 3072,
    allowedRoles: ["user"],
    organizationId: null,
    enabled: true,
    tags: [],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export const delay = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Polls until `check` returns a value (not undefined), or fails with what it saw last. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached in ${timeoutMs} ms ${last ? String(last) : ""}`);
    await delay(200);
  }
}
