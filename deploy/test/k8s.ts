import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

/** Loose shapes of the Kubernetes objects the tests read. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  containers: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    hostPath?: unknown;
    emptyDir?: unknown;
    persistentVolumeClaim?: { claimName: string };
  }[];
}

export interface Workload {
  manifest: Manifest;
  labels: Record<string, string>;
  pod: PodSpec;
}

const K8S = new URL("../k8s/", import.meta.url);

function parseManifests(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]?.message}`);
    return document.toJS() as Manifest;
  });
}

/** Where the Kubernetes provisioner runs session pods (deploy/k8s/workspaces.yaml). */
export const WORKSPACE_NAMESPACE = "neosc-workspaces";

export interface Kustomization {
  transformers: string[];
  resources: string[];
  configMapGenerator: { name: string; literals?: string[]; files?: string[] }[];
  images?: { name: string; newTag: string }[];
}

export const kustomization = parseManifests(
  readFileSync(new URL("kustomization.yaml", K8S), "utf8"),
  "kustomization.yaml",
)[0] as unknown as Kustomization;

export function readK8sFile(path: string): string {
  return readFileSync(new URL(path, K8S), "utf8");
}

/** The objects kustomize would emit (resources, plus ConfigMaps from the generators, unhashed). */
export const manifests: Manifest[] = [
  ...kustomization.resources.flatMap((resource) => parseManifests(readK8sFile(resource), resource)),
  ...kustomization.configMapGenerator.map((generator): Manifest => {
    const data: Record<string, string> = {};
    for (const literal of generator.literals ?? []) {
      const [key = "", ...value] = literal.split("=");
      data[key] = value.join("=");
    }
    for (const file of generator.files ?? []) {
      const [key = "", path = ""] = file.split("=");
      data[key] = readK8sFile(path);
    }
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: generator.name }, data };
  }),
];

export const secretTemplates = parseManifests(readK8sFile("secrets.example.yaml"), "secrets.example.yaml");

export function workloads(): Workload[] {
  return manifests
    .filter((manifest) => ["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(manifest.kind))
    .map((manifest) => {
      const template = (
        manifest.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }
      ).template;
      return { manifest, labels: template.metadata?.labels ?? {}, pod: template.spec };
    });
}

export function find(kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

export function workload(kind: string, name: string): Workload {
  const found = workloads().find(
    (candidate) => candidate.manifest.kind === kind && candidate.manifest.metadata.name === name,
  );
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}
