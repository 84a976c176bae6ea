import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  API_METRICS_PORT,
  API_PORT,
  assertionAudiences,
  GATEWAY_PORT,
  PORTAL_PORT,
  ROUTES,
} from "@neosc/core/routes";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import {
  generatePomeriumConfig,
  POMERIUM_PATHS,
  POMERIUM_PORTS,
  pomeriumEnvironment,
} from "../src/pomerium.ts";
import {
  allContainers,
  type Container,
  find,
  kustomization,
  type Manifest,
  manifests,
  readK8sFile,
  secretTemplates,
  WORKSPACE_NAMESPACE,
  type Workload,
  workload,
  workloads,
} from "./k8s.ts";
import { connectionAllowed, type Endpoint, type NetworkPolicy } from "./network-policy.ts";

const settings = find("ConfigMap", "neosc-settings").data ?? {};
const DOMAIN = settings.NEOSC_DOMAIN ?? "";

function container(target: Workload, name?: string): Container {
  const found = name
    ? target.pod.containers.find((candidate) => candidate.name === name)
    : target.pod.containers[0];
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function envValue(target: Container, name: string): string | undefined {
  return target.env?.find((variable) => variable.name === name)?.value;
}

/** A named or numbered container port, as a probe or Service refers to it. */
function resolvePort(target: Container, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  return target.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

describe("kustomization", () => {
  it("lists files that exist, and leaves the Secret templates out", () => {
    for (const resource of kustomization.resources) {
      expect(existsSync(new URL(`../k8s/${resource}`, import.meta.url)), resource).toBe(true);
    }
    expect(kustomization.resources).not.toContain("secrets.example.yaml");
    // Objects land in neosc unless they name their namespace (only the workspace namespace's do).
    expect(kustomization.transformers).toEqual([
      expect.stringMatching(/kind: NamespaceTransformer[\s\S]*namespace: neosc\n\s*unsetOnly: true/),
    ]);
    const named = manifests.filter((m) => m.metadata.namespace !== undefined && m.kind !== "Namespace");
    expect(new Set(named.map((m) => m.metadata.namespace))).toEqual(new Set([WORKSPACE_NAMESPACE]));
  });

  it("ships the Pomerium ConfigMap exactly as the generator writes it for the configured domain", () => {
    const committed = find("ConfigMap", "pomerium-config").data?.["config.yaml"];
    const expected = generatePomeriumConfig({
      domain: DOMAIN,
      target: "kubernetes",
      zitadelProjectId: settings.ZITADEL_PROJECT_ID,
    }).yaml;
    expect(committed, "regenerate deploy/k8s/pomerium/config.yaml (see kustomization.yaml)").toBe(expected);
    expect((parse(committed ?? "") as { cookie_domain: string }).cookie_domain).toBe(DOMAIN);
  });

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
  it.skipIf(!kubectl)(
    "renders with kubectl kustomize, every reference pointing at a generated object",
    () => {
      const result = spawnSync("kubectl", ["kustomize", fileURLToPath(new URL("../k8s/", import.meta.url))], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(result.stderr).toBe("");
      const rendered = parseAllDocuments(result.stdout).map((document) => document.toJS() as Manifest);
      const configMaps = new Set(rendered.filter((m) => m.kind === "ConfigMap").map((m) => m.metadata.name));
      expect([...configMaps].every((name) => /-[a-z0-9]{10}$/.test(name))).toBe(true);
      for (const manifest of rendered) {
        const text = JSON.stringify(manifest.spec ?? {});
        for (const match of text.matchAll(/"(?:configMapKeyRef|configMap)":\{[^}]*"name":"([^"]+)"/g)) {
          expect(configMaps.has(match[1] ?? ""), `${manifest.metadata.name} → ${match[1]}`).toBe(true);
        }
      }
      // Same objects, each in neosc unless it names its namespace.
      const key = (m: Manifest, namespace = m.metadata.namespace) =>
        `${m.kind}/${namespace ?? ""}/${m.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`;
      expect(rendered.map((m) => key(m)).sort()).toEqual(
        manifests
          .map((m) => key(m, m.kind === "Namespace" ? undefined : (m.metadata.namespace ?? "neosc")))
          .sort(),
      );
    },
  );
});

describe("exposure", () => {
  it("exposes only Pomerium outside the cluster: no Ingress, no NodePort/LoadBalancer but Pomerium's, no host ports", () => {
    for (const manifest of manifests) {
      expect(["Ingress", "IngressClass", "Gateway", "HTTPRoute", "Route"]).not.toContain(manifest.kind);
      if (manifest.kind === "Service") {
        const type = (manifest.spec as { type?: string }).type ?? "ClusterIP";
        expect(type === "ClusterIP" || manifest.metadata.name === "pomerium", manifest.metadata.name).toBe(
          true,
        );
      }
    }
    expect((find("Service", "pomerium").spec as { type: string }).type).toBe("LoadBalancer");
    for (const { manifest, pod } of workloads()) {
      expect(pod.hostNetwork ?? false, manifest.metadata.name).toBe(false);
      expect(pod.hostPID ?? false, manifest.metadata.name).toBe(false);
      expect(pod.hostIPC ?? false, manifest.metadata.name).toBe(false);
      for (const target of allContainers(pod)) {
        for (const port of target.ports ?? []) expect(port.hostPort, `${target.name}`).toBeUndefined();
      }
      for (const volume of pod.volumes ?? []) expect(volume.hostPath, volume.name).toBeUndefined();
    }
  });

  it("sends the load balancer's 443 and 80 to the ports the generated config listens on", () => {
    const pomerium = container(workload("Deployment", "pomerium"));
    const ports = (find("Service", "pomerium").spec as { ports: { port: number; targetPort: string }[] })
      .ports;
    const byPort = Object.fromEntries(
      ports.map((port) => [port.port, resolvePort(pomerium, port.targetPort)]),
    );
    expect(byPort).toEqual({ 443: POMERIUM_PORTS.kubernetes.https, 80: POMERIUM_PORTS.kubernetes.http });
    const config = parse(find("ConfigMap", "pomerium-config").data?.["config.yaml"] ?? "") as Record<
      string,
      string
    >;
    expect(config.address).toBe(`:${POMERIUM_PORTS.kubernetes.https}`);
    expect(config.http_redirect_addr).toBe(`:${POMERIUM_PORTS.kubernetes.http}`);
  });
});

describe("the gateway's workspace host", () => {
  it("refuses a pod that is not ready before Pomerium cuts the launch request", () => {
    const main = container(workload("Deployment", "gateway"));
    expect(envValue(main, "NEOSC_KUBERNETES")).toBe("in-cluster");
    const deadline = Number(envValue(main, "NEOSC_KUBERNETES_READY_TIMEOUT_SECONDS"));
    const api = ROUTES.find((route) => route.id === "api");
    // workspace.launch waits for the pod inside the request on the api route.
    expect(deadline).toBeGreaterThan(0);
    expect(deadline).toBeLessThan(api?.timeoutSeconds ?? 0);
  });
});

describe("recordings", () => {
  it("are one ReadWriteMany claim that every gateway replica writes and every API replica reads, at NEOSC_RECORDINGS_DIR", () => {
    const claim = find("PersistentVolumeClaim", "recordings");
    expect((claim.spec as { accessModes: string[] }).accessModes).toEqual(["ReadWriteMany"]);
    for (const name of ["gateway", "api"]) {
      const target = workload("Deployment", name);
      const replicas = (target.manifest.spec as { replicas: number }).replicas;
      expect(replicas, name).toBeGreaterThan(1);
      const volume = (target.pod.volumes ?? []).find(
        (candidate) => candidate.persistentVolumeClaim?.claimName === "recordings",
      );
      expect(volume, `${name} mounts the claim`).toBeDefined();
      const main = container(target);
      const mount = main.volumeMounts?.find((candidate) => candidate.name === volume?.name);
      expect(mount?.readOnly, name).not.toBe(true);
      expect(envValue(main, "NEOSC_RECORDINGS_DIR"), name).toBe(mount?.mountPath);
      // The claim's files belong to the pods' group (both run as 1000).
      expect(target.pod.securityContext?.fsGroup, name).toBe(target.pod.securityContext?.runAsUser);
    }
  });
});

describe("pods", () => {
  const all = workloads();

  it("all run as non-root users with privilege escalation off, capabilities dropped and a seccomp profile", () => {
    expect(all.length).toBe(7);
    for (const { manifest, pod } of all) {
      const name = manifest.metadata.name;
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
      // Only the gateway talks to the Kubernetes API (its workspace host), as neosc-provisioner.
      expect(pod.automountServiceAccountToken, name).toBe(name === "gateway");
      expect(pod.serviceAccountName, name).toBe(name === "gateway" ? "neosc-provisioner" : undefined);
      for (const target of allContainers(pod)) {
        const at = `${name}/${target.name}`;
        expect(target.securityContext?.allowPrivilegeEscalation, at).toBe(false);
        expect(target.securityContext?.privileged ?? false, at).toBe(false);
        expect(target.securityContext?.capabilities?.drop, at).toEqual(["ALL"]);
        expect(target.securityContext?.capabilities?.add, at).toBeUndefined();
        expect(target.securityContext?.readOnlyRootFilesystem, at).toBe(true);
        expect(target.securityContext?.runAsUser ?? 1, at).toBeGreaterThan(0);
      }
    }
    expect(find("Namespace", "neosc").metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe(
      "restricted",
    );
  });

  it("all have CPU and memory requests and limits, init containers included", () => {
    for (const { manifest, pod } of all) {
      for (const target of allContainers(pod)) {
        const at = `${manifest.metadata.name}/${target.name}`;
        for (const kind of ["requests", "limits"] as const) {
          expect(target.resources?.[kind]?.cpu, `${at} ${kind}.cpu`).toBeDefined();
          expect(target.resources?.[kind]?.memory, `${at} ${kind}.memory`).toBeDefined();
        }
      }
    }
  });

  it("use pinned images only", () => {
    const retagged = new Map((kustomization.images ?? []).map((image) => [image.name, image.newTag]));
    for (const { pod } of all) {
      for (const target of allContainers(pod)) {
        const [name = "", tag = ""] = target.image.split(":");
        expect(tag, target.image).toMatch(/^v?\d+(\.\d+)*(-[a-z0-9]+)?$/);
        if (retagged.has(name)) expect(retagged.get(name)).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });

  it("refer only to Secrets in the templates and ConfigMaps the kustomization generates", () => {
    const secretKeys = new Set(
      secretTemplates.flatMap((secret) =>
        Object.keys(secret.stringData ?? {}).map((key) => `${secret.metadata.name}/${key}`),
      ),
    );
    const configKeys = new Set(
      manifests
        .filter((manifest) => manifest.kind === "ConfigMap")
        .flatMap((map) => Object.keys(map.data ?? {}).map((key) => `${map.metadata.name}/${key}`)),
    );
    for (const { manifest, pod } of all) {
      for (const target of allContainers(pod)) {
        const defined: string[] = [];
        for (const variable of target.env ?? []) {
          const secret = variable.valueFrom?.secretKeyRef;
          if (secret)
            expect(secretKeys.has(`${secret.name}/${secret.key}`), `${secret.name}/${secret.key}`).toBe(true);
          const config = variable.valueFrom?.configMapKeyRef;
          if (config)
            expect(configKeys.has(`${config.name}/${config.key}`), `${config.name}/${config.key}`).toBe(true);
          // Kubernetes expands $(NAME) only for variables defined earlier in the same list.
          for (const match of (variable.value ?? "").matchAll(/\$\(([A-Z0-9_]+)\)/g)) {
            expect(defined, `${manifest.metadata.name}: ${variable.name} uses $(${match[1]})`).toContain(
              match[1],
            );
          }
          defined.push(variable.name);
        }
        for (const arg of target.args ?? []) {
          for (const match of arg.matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(defined).toContain(match[1]);
        }
      }
      for (const volume of pod.volumes ?? []) {
        if (volume.secret) {
          expect(secretTemplates.map((secret) => secret.metadata.name)).toContain(volume.secret.secretName);
        }
        if (volume.configMap) {
          expect(kustomization.configMapGenerator.map((generator) => generator.name)).toContain(
            volume.configMap.name,
          );
        }
      }
    }
  });

  it("Secret templates carry no values", () => {
    for (const secret of secretTemplates) {
      for (const [key, value] of Object.entries(secret.stringData ?? {})) {
        expect(value, `${secret.metadata.name}/${key}`).toBe("");
      }
      expect(secret.data, secret.metadata.name).toBeUndefined();
    }
  });
});

describe("api", () => {
  const api = workload("Deployment", "api");
  const main = container(api, "api");

  it("runs 3 replicas with readiness on /readyz and liveness on /healthz at the API port", () => {
    expect((api.manifest.spec as { replicas: number }).replicas).toBe(3);
    expect(main.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(resolvePort(main, main.readinessProbe?.httpGet?.port)).toBe(API_PORT);
    expect(main.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(resolvePort(main, main.livenessProbe?.httpGet?.port)).toBe(API_PORT);
    expect(envValue(main, "PORT")).toBe(String(API_PORT));
    expect(resolvePort(main, "metrics")).toBe(API_METRICS_PORT);
    expect(envValue(main, "METRICS_PORT")).toBe(String(API_METRICS_PORT));
  });

  it("has a PodDisruptionBudget and a HorizontalPodAutoscaler that keep at least the 3 replicas", () => {
    const pdb = find("PodDisruptionBudget", "api").spec as {
      minAvailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    expect(pdb.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "api" });
    expect(pdb.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.minAvailable).toBeLessThan(3);
    const hpa = find("HorizontalPodAutoscaler", "api").spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "api" });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas);
  });

  it("trusts assertions for exactly the hosts Pomerium forwards them to", () => {
    const audiences = assertionAudiences("domain.invalid").map((host) =>
      host.replace("domain.invalid", "$(NEOSC_DOMAIN)"),
    );
    expect(envValue(main, "NEOSC_POMERIUM_AUDIENCES")?.split(",")).toEqual(audiences);
    const jwksHost = new URL(envValue(main, "NEOSC_POMERIUM_JWKS_URL") ?? "").host;
    expect(audiences.map((host) => host.toLowerCase())).toContain(jwksHost);
  });

  it("connects to every member of the replica set", () => {
    const url = envValue(main, "MONGO_URL") ?? "";
    const mongo = find("StatefulSet", "mongo").spec as { replicas: number; serviceName: string };
    const members = Array.from(
      { length: mongo.replicas },
      (_, index) => `mongo-${index}.${mongo.serviceName}:27017`,
    );
    expect(url).toContain(`@${members.join(",")}/neosc?`);
    expect(url).toContain("replicaSet=rs0");
    const init = container(workload("Job", "mongo-init"));
    expect(envValue(init, "MONGO_MEMBERS")).toBe(members.join(","));
  });
});

describe("pomerium", () => {
  const pomerium = workload("Deployment", "pomerium");
  const main = container(pomerium, "pomerium");
  const config = parse(find("ConfigMap", "pomerium-config").data?.["config.yaml"] ?? "") as Record<
    string,
    unknown
  >;

  it("runs 2 instances sharing postgres storage", () => {
    expect((pomerium.manifest.spec as { replicas: number }).replicas).toBe(2);
    expect(config.databroker_storage_type).toBe("postgres");
    expect(envValue(main, "DATABROKER_STORAGE_CONNECTION_STRING")).toMatch(
      /^postgres:\/\/pomerium:.+@postgres:5432\//,
    );
    expect(find("Service", "postgres")).toBeDefined();
  });

  it("gets every setting the generated config leaves to the environment from a Secret", () => {
    for (const variable of pomeriumEnvironment("kubernetes")) {
      const entry = main.env?.find((candidate) => candidate.name === variable.name);
      expect(entry, variable.name).toBeDefined();
      if (variable.secret)
        expect(entry?.value ?? entry?.valueFrom?.secretKeyRef, variable.name).toBeDefined();
      if (entry?.value) expect(entry.value, variable.name).toMatch(/\$\([A-Z_]+\)/);
    }
  });

  it("mounts the config and certificate where the config expects them, and checks its own health", () => {
    const mounts = Object.fromEntries(
      (main.volumeMounts ?? []).map((mount) => [mount.name, mount.mountPath]),
    );
    expect(mounts.config).toBe(POMERIUM_PATHS.config);
    expect(mounts.tls).toBe(dirname(POMERIUM_PATHS.tlsCertificate));
    expect(config.certificate_file).toBe(POMERIUM_PATHS.tlsCertificate);
    for (const probe of [main.readinessProbe, main.livenessProbe]) {
      expect(probe?.exec?.command).toEqual(["pomerium", "health"]);
    }
  });
});

describe("mongo", () => {
  it("is a 3-member replica set of MongoDB 7 with key-file authentication and persistent volumes", () => {
    const mongo = workload("StatefulSet", "mongo");
    const spec = mongo.manifest.spec as {
      replicas: number;
      serviceName: string;
      volumeClaimTemplates: { metadata: { name: string } }[];
    };
    expect(spec.replicas).toBe(3);
    const main = container(mongo, "mongo");
    expect(main.image).toMatch(/^mongo:7(\.\d+)*$/);
    const script = (main.args ?? []).join(" ");
    expect(script).toContain("--replSet rs0");
    expect(script).toContain("--keyFile /keyfile/keyfile");
    expect(main.volumeMounts?.find((mount) => mount.mountPath === "/data/db")?.name).toBe(
      spec.volumeClaimTemplates[0]?.metadata.name,
    );
    const service = find("Service", spec.serviceName).spec as { clusterIP: string };
    expect(service.clusterIP).toBe("None");
    expect(find("PodDisruptionBudget", "mongo")).toBeDefined();
    expect(workload("Job", "mongo-init")).toBeDefined();
    expect(readK8sFile("mongo/init-replica-set.js")).toContain("rs.initiate");
  });
});

describe("network policies", () => {
  // The policies of neosc (the workspace namespace's are checked on the control plane).
  const policies = manifests.filter(
    (manifest) => manifest.kind === "NetworkPolicy" && manifest.metadata.namespace === undefined,
  ) as unknown as NetworkPolicy[];
  let nextIp = 10;
  const pod = (name: string): Endpoint => {
    const found = workloads().find((candidate) => candidate.labels["app.kubernetes.io/name"] === name);
    if (!found) throw new Error(`no workload ${name}`);
    return {
      kind: "pod",
      name,
      namespace: "neosc",
      labels: found.labels,
      ip: `10.244.0.${nextIp++}`,
      ports: allContainers(found.pod).flatMap((target) => target.ports ?? []),
    };
  };
  const pods = Object.fromEntries(
    ["pomerium", "api", "gateway", "portal", "mongo", "mongo-init", "postgres"].map((name) => [
      name,
      pod(name),
    ]),
  ) as Record<string, Endpoint>;
  const prometheus: Endpoint = {
    kind: "pod",
    name: "prometheus",
    namespace: "monitoring",
    labels: { "app.kubernetes.io/name": "prometheus" },
    ip: "10.244.3.3",
    ports: [],
  };
  const kubeDns: Endpoint = {
    kind: "pod",
    name: "kube-dns",
    namespace: "kube-system",
    labels: { "k8s-app": "kube-dns" },
    ip: "10.244.4.4",
    ports: [{ name: "dns", containerPort: 53 }],
  };
  const browser: Endpoint = { kind: "external", name: "browser", ip: "203.0.113.7" };
  const idp: Endpoint = { kind: "external", name: "zitadel", ip: "198.51.100.20" };
  const lanHost: Endpoint = { kind: "external", name: "lan host", ip: "192.168.1.10" };
  const get = (name: string): Endpoint => {
    const found = pods[name];
    if (!found) throw new Error(name);
    return found;
  };
  const can = (from: Endpoint, to: Endpoint, port: number, protocol = "TCP") =>
    connectionAllowed(policies, "neosc", from, to, port, protocol);

  it("deny everything by default, both ways", () => {
    const deny = policies.find((policy) => policy.metadata.name === "default-deny-all");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("let the outside reach Pomerium and nothing else", () => {
    expect(can(browser, get("pomerium"), POMERIUM_PORTS.kubernetes.https)).toBe(true);
    expect(can(browser, get("pomerium"), POMERIUM_PORTS.kubernetes.http)).toBe(true);
    expect(can(browser, get("api"), API_PORT)).toBe(false);
    expect(can(browser, get("api"), API_METRICS_PORT)).toBe(false);
    expect(can(browser, get("portal"), PORTAL_PORT)).toBe(false);
    expect(can(browser, get("mongo"), 27017)).toBe(false);
    expect(can(browser, get("postgres"), 5432)).toBe(false);
  });

  it("let api and portal be reached only from Pomerium", () => {
    expect(can(get("pomerium"), get("api"), API_PORT)).toBe(true);
    expect(can(get("pomerium"), get("portal"), PORTAL_PORT)).toBe(true);
    expect(can(get("portal"), get("api"), API_PORT)).toBe(false);
    expect(can(get("mongo"), get("api"), API_PORT)).toBe(false);
    expect(can(get("pomerium"), get("api"), API_METRICS_PORT)).toBe(false);
    expect(can(get("pomerium"), get("mongo"), 27017)).toBe(false);
    expect(can(get("pomerium"), get("postgres"), 5432)).toBe(true);
  });

  it("let the api reach only MongoDB, DNS, the IdP and the workspace hosts", () => {
    expect(can(get("api"), get("mongo"), 27017)).toBe(true);
    expect(can(get("api"), kubeDns, 53, "UDP")).toBe(true);
    expect(can(get("api"), idp, 443)).toBe(true);
    expect(can(get("api"), idp, 80)).toBe(false);
    expect(can(get("api"), lanHost, 443)).toBe(false);
    expect(can(get("api"), get("postgres"), 5432)).toBe(false);
    expect(can(get("api"), get("portal"), PORTAL_PORT)).toBe(false);
    expect(can(get("api"), get("pomerium"), POMERIUM_PORTS.kubernetes.https)).toBe(false);
  });

  it("let the gateway be reached only from Pomerium and the API (its workspace host), and reach only MongoDB, DNS, the key set, the Kubernetes API server and workspace VNC", () => {
    expect(can(get("pomerium"), get("gateway"), GATEWAY_PORT)).toBe(true);
    expect(can(browser, get("gateway"), GATEWAY_PORT)).toBe(false);
    // The hosts' internal API (start/stop, token-checked) shares the gateway's port.
    expect(can(get("api"), get("gateway"), GATEWAY_PORT)).toBe(true);
    expect(can(get("mongo"), get("gateway"), GATEWAY_PORT)).toBe(false);
    expect(can(get("portal"), get("gateway"), GATEWAY_PORT)).toBe(false);
    expect(can(get("gateway"), get("mongo"), 27017)).toBe(true);
    expect(can(get("gateway"), kubeDns, 53, "UDP")).toBe(true);
    expect(can(get("gateway"), idp, 443)).toBe(true);
    expect(can(get("gateway"), lanHost, 443)).toBe(false);
    expect(can(get("gateway"), get("api"), API_PORT)).toBe(false);
    expect(can(get("gateway"), get("postgres"), 5432)).toBe(false);
    const apiServer: Endpoint = { kind: "external", name: "kube-apiserver", ip: "10.0.0.1" };
    expect(can(get("gateway"), apiServer, 6443)).toBe(true);
    expect(can(get("gateway"), apiServer, 22)).toBe(false);
    expect(can(get("api"), apiServer, 6443)).toBe(false);
    const workspacePod: Endpoint = {
      kind: "pod",
      name: "workspace",
      namespace: "neosc-workspaces",
      labels: { "app.kubernetes.io/name": "workspace" },
      ip: "10.244.5.5",
      ports: [{ name: "vnc", containerPort: 5901 }],
    };
    expect(can(get("gateway"), workspacePod, 5901)).toBe(true);
    expect(can(get("gateway"), workspacePod, 22)).toBe(false);
    expect(can(get("api"), workspacePod, 5901)).toBe(false);
  });

  it("let the portal and the databases reach nothing outside their own traffic", () => {
    expect(can(get("portal"), idp, 443)).toBe(false);
    expect(can(get("portal"), kubeDns, 53, "UDP")).toBe(false);
    expect(can(get("postgres"), idp, 443)).toBe(false);
    expect(can(get("mongo"), idp, 443)).toBe(false);
    expect(can(get("mongo"), get("mongo"), 27017)).toBe(true);
    expect(can(get("mongo-init"), get("mongo"), 27017)).toBe(true);
    expect(can(get("mongo-init"), get("api"), API_PORT)).toBe(false);
  });

  it("let only the monitoring namespace scrape the api metrics port", () => {
    expect(can(prometheus, get("api"), API_METRICS_PORT)).toBe(true);
    expect(can(prometheus, get("api"), API_PORT)).toBe(false);
    expect(can(prometheus, get("mongo"), 27017)).toBe(false);
  });
});
