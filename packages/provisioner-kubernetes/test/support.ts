import { CoreV1Api, NetworkingV1Api } from "@kubernetes/client-node";
import { testWorkspace } from "@neosc/core/testing/workspace";
import type { Workspace } from "@neosc/core/workspace";
import { inject } from "vitest";
import {
  KubernetesProvisioner,
  type KubernetesProvisionerOptions,
  kubeConfigFor,
} from "../src/kubernetes-provisioner.ts";
import type { ClusterAccess } from "../testing/cluster.ts";

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

/** A catalogue entry the Kubernetes driver runs: an image, no local driver. */
export function workspace(overrides: Partial<Workspace> = {}): Workspace {
  return testWorkspace({
    image: "registry.example/neosc/desktop:1.0",
    driver: null,
    program: null,
    cpu: 1.5,
    memoryMb: 3072,
    ...overrides,
  });
}
