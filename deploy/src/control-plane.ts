import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/*
 * A real Kubernetes control plane for tests, on loopback: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (fake nodes that the scheduler places pods on
 * and that mark those pods running and ready; no container ever runs). The binaries are built
 * once from the Go module proxy by control-plane/build.sh and cached in
 * ${XDG_CACHE_HOME:-~/.cache}/neosc/k8s/<version>/.
 *
 * Every process runs under control-plane/supervisor.mjs, whose stdin is a pipe from this process:
 * however the owner ends, the supervisor stops the whole control plane and removes its folder.
 */

export const KUBERNETES_VERSION = "v1.34.2";

const BUILD_SCRIPT = fileURLToPath(new URL("../control-plane/build.sh", import.meta.url));
const SUPERVISOR = fileURLToPath(new URL("../control-plane/supervisor.mjs", import.meta.url));

export type Availability = { ok: true; binDir: string } | { ok: false; missing: string[]; reason: string };

export interface ControlPlaneOptions {
  binDir: string;
  /** Fake nodes to register (default 3), each with `nodeCpu` cores and `nodeMemory`. */
  nodes?: number;
  nodeCpu?: string;
  nodeMemory?: string;
  /** Progress (default: standard error). */
  log?: (line: string) => void;
  /** Until everything is ready (default 180 s: the API server alone takes ~20 s on 2 busy cores). */
  startTimeoutMs?: number;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the API server's certificate. */
  caData: string;
  /** A token of the user `neosc-test-admin` (group system:masters). */
  adminToken: string;
  /** A kubeconfig for that user (kubectl --kubeconfig). */
  kubeconfig: string;
  binDir: string;
  /** Process ids by name (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok). */
  pids: Record<string, number>;
  supervisorPid: number;
  nodeNames: string[];
  /** How long start took until every part was ready. */
  startMs: number;
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** One request to the API server as the admin, or as the owner of `token`. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** Follows a watch (`path` without `watch=1`) as the admin until stop(); `started` once the stream is open. */
  watch(
    path: string,
    onEvent: (type: string, object: unknown) => void,
  ): { started: Promise<void>; stop(): void };
  /** A short-lived token of a service account (TokenRequest), as a pod would get it. */
  serviceAccountToken(namespace: string, name: string): Promise<string>;
  /** Stops every process and waits until none is left. */
  stop(): Promise<void>;
}

const defaultLog = (line: string) => {
  process.stderr.write(`[neosc k8s] ${line}\n`);
};

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return statSync(join(dir, name)).isFile();
    } catch {
      return false;
    }
  });
}

function run(
  file: string,
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return new Promise((done) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: options.env },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/**
 * The cached binaries, built first when they are missing and Go is there (many minutes on a cold
 * machine: build progress goes to `log`). Otherwise what is missing, for a skip message.
 */
export async function ensureControlPlaneBinaries(
  log: (line: string) => void = defaultLog,
): Promise<Availability> {
  // Binaries built elsewhere (same names, plus kwok-stages.yaml): no build.
  const prebuilt = process.env.NEOSC_K8S_BIN_DIR?.trim();
  if (prebuilt) return { ok: true, binDir: prebuilt };
  const tools = ["bash", "flock", "openssl"].filter((tool) => !onPath(tool));
  if (tools.length > 0) {
    return {
      ok: false,
      missing: tools,
      reason: `the control-plane harness needs ${tools.join(", ")} on PATH`,
    };
  }
  const child = spawn("bash", [BUILD_SCRIPT], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderr = `${stderr}${line}\n`.slice(-4000);
    log(line);
  });
  const code = await new Promise<number>((done) => child.on("close", (exitCode) => done(exitCode ?? 1)));
  if (code === 2) return { ok: false, missing: ["go"], reason: stderr.trim() };
  if (code !== 0) throw new Error(`control-plane build failed (exit ${code}):\n${stderr}`);
  const binDir = stdout.trim().split("\n").at(-1) ?? "";
  return { ok: true, binDir };
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

const delay = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function openssl(args: string[]): Promise<void> {
  const result = await run("openssl", args);
  if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A CA and the API server's serving certificate for 127.0.0.1 (P-256: fast to make). */
async function makeCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const caFile = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  const certFile = join(dir, "apiserver.crt");
  const keyFile = join(dir, "apiserver.key");
  const csr = join(dir, "apiserver.csr");
  const ext = join(dir, "apiserver.ext");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    ["req", "-x509", ...ec, "-keyout", caKey, "-out", caFile, "-days", "2"].concat([
      "-subj",
      "/CN=neosc-test-ca",
    ]),
  );
  await openssl(["req", ...ec, "-keyout", keyFile, "-out", csr, "-subj", "/CN=kube-apiserver"]);
  await writeFile(
    ext,
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      caFile,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-out",
      certFile,
      "-days",
      "2",
    ].concat(["-extfile", ext]),
  );
  return { caFile, certFile, keyFile };
}

function kubeconfig(server: string, caData: string, user: string, token: string): string {
  // JSON is YAML: no YAML writer needed.
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "neosc-test",
        cluster: { server, "certificate-authority-data": Buffer.from(caData).toString("base64") },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "neosc-test", context: { cluster: "neosc-test", user } }],
    "current-context": "neosc-test",
  });
}

function apiRequest(
  server: string,
  caData: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  const url = new URL(path, server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: caData,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : {
                "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
                "content-length": Buffer.byteLength(payload),
              }),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = "";
        res.on("error", fail);
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          done({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", fail);
    req.end(payload);
  });
}

interface SupervisorMessage {
  name: string;
  pid?: number;
  exit?: number | null;
  signal?: string | null;
  log?: string;
}

function fakeNode(name: string, cpu: string, memory: string) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      // kwok manages the nodes that carry this annotation (--manage-nodes-with-annotation-selector).
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        type: "kwok",
      },
    },
    status: {
      allocatable: { cpu, memory, pods: "110" },
      capacity: { cpu, memory, pods: "110" },
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        kubeletVersion: "fake",
        kubeProxyVersion: "fake",
        bootID: "",
        containerRuntimeVersion: "",
        kernelVersion: "",
        machineID: "",
        osImage: "",
        systemUUID: "",
      },
      phase: "Running",
    },
  };
}

/** Starts the control plane and waits until the API server, controllers, scheduler and nodes are ready. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.log ?? defaultLog;
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 180_000);
  const bin = (name: string) => join(options.binDir, name);
  const dir = await mkdtemp(join(tmpdir(), "neosc-k8s-"));

  const { caFile, certFile, keyFile } = await makeCertificates(dir);
  const caData = await readFile(caFile, "utf8");
  // Service-account tokens are signed with this key and checked with its public half.
  const serviceAccountKeys = generateKeyPairSync("ec", {
    namedCurve: "prime256v1",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  await writeFile(saKey, serviceAccountKeys.privateKey, { mode: 0o600 });
  await writeFile(saPub, serviceAccountKeys.publicKey);

  const token = () => randomBytes(24).toString("hex");
  const tokens = {
    admin: token(),
    controllerManager: token(),
    scheduler: token(),
    kwok: token(),
  };
  // The bootstrap RBAC policy grants the two system users exactly what their components need.
  await writeFile(
    join(dir, "tokens.csv"),
    [
      `${tokens.admin},neosc-test-admin,uid-admin,"system:masters"`,
      `${tokens.controllerManager},system:kube-controller-manager,uid-kcm`,
      `${tokens.scheduler},system:kube-scheduler,uid-scheduler`,
      `${tokens.kwok},kwok,uid-kwok,"system:masters"`,
    ].join("\n"),
    { mode: 0o600 },
  );

  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedulerPort, kwokPort] = (await Promise.all(
    Array.from({ length: 6 }, freePort),
  )) as [number, number, number, number, number, number];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigs = {
    admin: join(dir, "admin.kubeconfig"),
    controllerManager: join(dir, "kcm.kubeconfig"),
    scheduler: join(dir, "scheduler.kubeconfig"),
    kwok: join(dir, "kwok.kubeconfig"),
  };
  await writeFile(kubeconfigs.admin, kubeconfig(server, caData, "neosc-test-admin", tokens.admin), {
    mode: 0o600,
  });
  await writeFile(
    kubeconfigs.controllerManager,
    kubeconfig(server, caData, "system:kube-controller-manager", tokens.controllerManager),
    { mode: 0o600 },
  );
  await writeFile(
    kubeconfigs.scheduler,
    kubeconfig(server, caData, "system:kube-scheduler", tokens.scheduler),
    {
      mode: 0o600,
    },
  );
  await writeFile(kubeconfigs.kwok, kubeconfig(server, caData, "kwok", tokens.kwok), { mode: 0o600 });
  await mkdir(join(dir, "kcm"));
  await mkdir(join(dir, "scheduler"));

  const supervisor: ChildProcess = spawn(process.execPath, [SUPERVISOR, String(process.pid), dir], {
    stdio: ["pipe", "pipe", "inherit"],
    detached: true,
  });
  const pids: Record<string, number> = {};
  const exits: SupervisorMessage[] = [];
  const stdout = supervisor.stdout;
  if (!stdout || !supervisor.stdin || supervisor.pid === undefined)
    throw new Error("supervisor did not start");
  createInterface({ input: stdout }).on("line", (line) => {
    const message = JSON.parse(line) as SupervisorMessage;
    if (message.pid !== undefined) pids[message.name] = message.pid;
    else {
      exits.push(message);
      log(`${message.name} exited (${message.exit ?? message.signal}):\n${message.log ?? ""}`);
    }
  });
  const supervisorGone = new Promise<void>((done) => supervisor.on("exit", () => done()));
  const launch = (name: string, args: string[]) => {
    supervisor.stdin?.write(
      `${JSON.stringify({ name, file: bin(name), args, log: join(dir, `${name}.log`) })}\n`,
    );
  };

  const stop = async () => {
    supervisor.stdin?.end();
    await supervisorGone;
  };

  const api = (method: string, path: string, body?: unknown, as: string = tokens.admin) =>
    apiRequest(server, caData, as, method, path, body);

  const waitFor = async (what: string, ready: () => Promise<boolean>) => {
    for (;;) {
      const failed = exits[0];
      if (failed) throw new Error(`${failed.name} stopped while waiting for ${what}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `control plane: ${what} not ready after ${Math.round((Date.now() - started) / 1000)} s`,
        );
      }
      await delay(250);
    }
  };

  try {
    launch("etcd", [
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      "--log-level=warn",
      // Test data: losing it on a power cut is fine, waiting for fsync on a shared disk is not.
      "--unsafe-no-fsync",
    ]);
    launch("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${certFile}`,
      `--tls-private-key-file=${keyFile}`,
      `--cert-dir=${join(dir, "apiserver")}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      // The kubernetes Service would point at 127.0.0.1, which Endpoints refuse: nothing needs it here.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
      "--v=0",
    ]);
    await waitFor("kube-apiserver", async () => (await api("GET", "/readyz")).status === 200);
    log(`kube-apiserver ready on ${server} after ${Date.now() - started} ms`);

    const componentArgs = (kubeconfigFile: string, port: number, certDir: string) => [
      `--kubeconfig=${kubeconfigFile}`,
      `--authentication-kubeconfig=${kubeconfigFile}`,
      `--authorization-kubeconfig=${kubeconfigFile}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      "--leader-elect=false",
      "--profiling=false",
    ];
    launch("kube-controller-manager", [
      ...componentArgs(kubeconfigs.controllerManager, kcmPort, join(dir, "kcm")),
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${caFile}`,
      // Each controller under its own service account, as kubeadm runs it.
      "--use-service-account-credentials=true",
    ]);
    launch("kube-scheduler", componentArgs(kubeconfigs.scheduler, schedulerPort, join(dir, "scheduler")));
    launch("kwok", [
      `--kubeconfig=${kubeconfigs.kwok}`,
      `--config=${join(options.binDir, "kwok-stages.yaml")}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${kwokPort}`,
      "--cidr=10.244.0.0/16",
      "--node-ip=127.0.0.1",
    ]);

    const nodes = options.nodes ?? 3;
    const nodeNames = Array.from({ length: nodes }, (_, index) => `kwok-node-${index}`);
    for (const name of nodeNames) {
      const created = await api(
        "POST",
        "/api/v1/nodes",
        fakeNode(name, options.nodeCpu ?? "32", options.nodeMemory ?? "256Gi"),
      );
      if (created.status !== 201) throw new Error(`creating node ${name}: ${JSON.stringify(created.body)}`);
    }

    const healthz = (port: number) => async () =>
      (
        await apiRequest(`https://127.0.0.1:${port}`, caData, tokens.admin, "GET", "/healthz").catch(
          // Their serving certificates are self-signed; readiness is all that is asked of them.
          () => insecureHealthz(port),
        )
      ).status === 200;
    await waitFor("kube-controller-manager", healthz(kcmPort));
    await waitFor("kube-scheduler", healthz(schedulerPort));
    // The service-account controller runs: pods can be admitted (they need their namespace's "default").
    await waitFor(
      "the service-account controller",
      async () => (await api("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
    );
    await waitFor("kwok nodes", async () => {
      const list = (await api("GET", "/api/v1/nodes")).body as {
        items?: {
          metadata: { name: string };
          status?: { conditions?: { type: string; status: string }[] };
        }[];
      };
      const ready = (list.items ?? []).filter((node) =>
        node.status?.conditions?.some(
          (condition) => condition.type === "Ready" && condition.status === "True",
        ),
      );
      return ready.length === nodes;
    });
    const startMs = Date.now() - started;
    log(`control plane ready in ${startMs} ms (${nodes} kwok nodes)`);

    return {
      server,
      caData,
      adminToken: tokens.admin,
      kubeconfig: kubeconfigs.admin,
      binDir: options.binDir,
      pids,
      supervisorPid: supervisor.pid,
      nodeNames,
      startMs,
      kubectl: (args, runOptions = {}) =>
        run(bin("kubectl"), [`--kubeconfig=${kubeconfigs.admin}`, ...args], {
          input: runOptions.input,
          timeoutMs: runOptions.timeoutMs,
        }),
      api,
      watch: (path, onEvent) => watchStream(server, caData, tokens.admin, path, onEvent),
      serviceAccountToken: async (namespace, name) => {
        const response = await api("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 3600 },
        });
        const status = (response.body as { status?: { token?: string } }).status;
        if (response.status !== 201 || !status?.token) {
          throw new Error(`token for ${namespace}/${name}: ${JSON.stringify(response.body)}`);
        }
        return status.token;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function watchStream(
  server: string,
  caData: string,
  token: string,
  path: string,
  onEvent: (type: string, object: unknown) => void,
): { started: Promise<void>; stop(): void } {
  const url = new URL(path, server);
  url.searchParams.set("watch", "1");
  let stop = () => {};
  const started = new Promise<void>((done, fail) => {
    const req = httpsRequest(url, { ca: caData, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        fail(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.on("error", () => {});
      // readline re-emits the stream's errors (stop() aborts it): expected, not a failure.
      const lines = createInterface({ input: res });
      lines.on("error", () => {});
      lines.on("line", (line) => {
        const event = JSON.parse(line) as { type: string; object: unknown };
        onEvent(event.type, event.object);
      });
      done();
    });
    let stopped = false;
    req.on("error", (error) => {
      if (!stopped) fail(error);
    });
    stop = () => {
      stopped = true;
      req.destroy();
    };
    req.end();
  });
  started.catch(() => {});
  return { started, stop: () => stop() };
}

function insecureHealthz(port: number): Promise<ApiResponse> {
  return new Promise((done, fail) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 5000 },
      (res) => {
        res.resume();
        res.on("end", () => done({ status: res.statusCode ?? 0, body: null }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}
