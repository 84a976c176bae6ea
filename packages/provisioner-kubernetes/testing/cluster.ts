import { readFile, writeFile } from "node:fs/promises";
import {
  type ControlPlane,
  ensureControlPlaneBinaries,
  startControlPlane,
} from "@neosc/deploy/control-plane";
import { parseAllDocuments } from "yaml";

/*
 * One real control plane for the Kubernetes driver's tests (this package's, and the API's that
 * launch through the router and its workspace host) (etcd, kube-apiserver, controller-manager,
 * scheduler, kwok), with deploy/k8s/workspaces.yaml applied: the namespace, its default-deny
 * policy and the provisioner's service account and Role exactly as shipped. Tests drive the
 * provisioner with that service account's token, so RBAC is the shipped one.
 */

export interface ClusterAccess {
  server: string;
  caData: string;
  adminToken: string;
  provisionerToken: string;
  kubeconfig: string;
  binDir: string;
  nodeNames: string[];
}

const WORKSPACES = new URL("../../../deploy/k8s/workspaces.yaml", import.meta.url);

/** A started control plane with workspaces.yaml applied, or what is missing (for a skip note). */
export async function startTestCluster(
  nodes = 3,
): Promise<{ plane: ControlPlane; access: ClusterAccess } | { missing: string }> {
  const availability = await ensureControlPlaneBinaries();
  if (!availability.ok) {
    return {
      missing: `no Kubernetes control plane: missing ${availability.missing.join(", ")} (${availability.reason})`,
    };
  }
  const plane = await startControlPlane({ binDir: availability.binDir, nodes });
  try {
    // As kustomize renders it: objects that name no namespace land in neosc.
    const objects = parseAllDocuments(await readFile(WORKSPACES, "utf8")).map((document) => {
      const object = document.toJS() as { kind: string; metadata: { namespace?: string } };
      if (object.kind !== "Namespace") object.metadata.namespace ??= "neosc";
      return object;
    });
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "neosc" } };
    const applied = await plane.kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [namespace, ...objects] }),
    });
    if (applied.code !== 0) throw new Error(`applying workspaces.yaml: ${applied.stderr}`);
    return {
      plane,
      access: {
        server: plane.server,
        caData: plane.caData,
        adminToken: plane.adminToken,
        provisionerToken: await plane.serviceAccountToken("neosc", "neosc-provisioner"),
        kubeconfig: plane.kubeconfig,
        binDir: plane.binDir,
        nodeNames: plane.nodeNames,
      },
    };
  } catch (error) {
    await plane.stop();
    throw error;
  }
}

/** A kubeconfig file for the provisioner's service account, as NEOSC_KUBERNETES names one. */
export async function writeProvisionerKubeconfig(access: ClusterAccess, file: string): Promise<string> {
  // JSON is YAML: the client reads it as a kubeconfig.
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "neosc-test",
        cluster: {
          server: access.server,
          "certificate-authority-data": Buffer.from(access.caData).toString("base64"),
        },
      },
    ],
    users: [{ name: "neosc-provisioner", user: { token: access.provisionerToken } }],
    contexts: [{ name: "neosc-test", context: { cluster: "neosc-test", user: "neosc-provisioner" } }],
    "current-context": "neosc-test",
  };
  await writeFile(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}
