import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stopTestServer } from "./stop.ts";

/*
 * A real OpenSSH server (Debian's openssh-server) on a loopback port, with its own host key and
 * config, for the terminal tests. sshd needs root to switch to the logged-in account (these
 * tests run as root); it admits only TEST_SSH_USER, an unprivileged account created on first use
 * (`useradd`), by the generated key or by a password set for this run. It listens on 127.0.0.1
 * only and its config allows nobody else.
 */

export const TEST_SSH_USER = "neosc-sshtest";

export interface TestSshd {
  host: string;
  port: number;
  username: string;
  /** SHA256 fingerprint of the host key, as `ssh-keygen -lf` prints it. */
  hostKey: string;
  /** An OpenSSH private key the account accepts. */
  privateKey: string;
  /** The account's password for this run. */
  password: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function ensureUser(): void {
  try {
    execFileSync("id", ["-u", TEST_SSH_USER], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", TEST_SSH_USER], { stdio: "ignore" });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once sshd answers with its version banner. */
async function banner(port: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("data", (chunk) => {
        socket.destroy();
        resolve(chunk.toString("latin1").startsWith("SSH-2.0-"));
      });
      socket.once("error", () => resolve(false));
    });
    if (answered) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

export function fingerprintOf(publicKeyFile: string): string {
  const line = execFileSync("ssh-keygen", ["-lf", publicKeyFile], { encoding: "utf8" });
  const fingerprint = line.split(" ")[1];
  if (fingerprint === undefined || !fingerprint.startsWith("SHA256:")) {
    throw new Error(`ssh-keygen printed no fingerprint: ${line}`);
  }
  return fingerprint;
}

export async function startSshd(): Promise<TestSshd> {
  ensureUser();
  // sshd's privilege separation needs this empty folder.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(tmpdir(), "neosc-gw-sshd-"));
  // sshd reads the authorized keys as the account, so it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const hostKeyFile = path.join(dir, "host_ed25519");
  const clientKeyFile = path.join(dir, "client_ed25519");
  for (const file of [hostKeyFile, clientKeyFile]) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "neosc-test", "-f", file]);
  }
  const authorizedKeys = path.join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${clientKeyFile}.pub`), { mode: 0o644 });
  const password = randomBytes(12).toString("base64url");
  execFileSync("chpasswd", { input: `${TEST_SSH_USER}:${password}\n` });

  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${TEST_SSH_USER}`,
      "PermitRootLogin no",
      "PasswordAuthentication yes",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      // The key file lives in a temporary folder, not the account's home.
      "StrictModes no",
      "UsePAM no",
      "X11Forwarding no",
      "AllowTcpForwarding no",
      "PrintMotd no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  if (!(await banner(port, Date.now() + 10_000))) {
    child.kill("SIGKILL");
    throw new Error(`sshd did not start: ${log}`);
  }
  return {
    host: "127.0.0.1",
    port,
    username: TEST_SSH_USER,
    hostKey: fingerprintOf(`${hostKeyFile}.pub`),
    privateKey: readFileSync(clientKeyFile, "utf8"),
    password,
    process: child,
    stop: () => stopTestServer(child, dir),
  };
}
