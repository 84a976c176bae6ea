import type { Provisioner } from "@neosc/provisioner/provisioner";

/** The variables of `kubernetesVariables` (@neosc/core/env-schema), as the apps parse them. */
export interface KubernetesSettings {
  NEOSC_KUBERNETES?: string | undefined;
  NEOSC_KUBERNETES_NAMESPACE: string;
  NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS: number;
}

/**
 * The Kubernetes driver of a workspace host configured through its environment, or null when
 * NEOSC_KUBERNETES is unset. The Kubernetes client is loaded only then: it costs a second or
 * more at start, which an install without a cluster should not pay.
 */
export async function kubernetesDriverFor(settings: KubernetesSettings): Promise<Provisioner | null> {
  if (settings.NEOSC_KUBERNETES === undefined) return null;
  const { createKubernetesDriver } = await import("./kubernetes-provisioner.ts");
  return createKubernetesDriver({ ...settings, NEOSC_KUBERNETES: settings.NEOSC_KUBERNETES });
}
