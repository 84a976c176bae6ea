import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LoginOutput } from "@neosc/core/auth";
import type { ConnectSessionOutput } from "@neosc/core/connection";
import { type RecordingSegment, segmentFileName, type VerifyRecordingsOutput } from "@neosc/core/recording";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { createRecordingStore } from "@neosc/gateway/recording";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { replayRfbSegment } from "@neosc/gateway/testing/rfb-replay";
import { TerminalTestClient } from "@neosc/gateway/testing/terminal-client";
import { startSshd, type TestSshd } from "@neosc/provisioner/testing/sshd";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { sweepRecordings } from "@neosc/router/domain/recordings/recordings";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_ORIGIN, useApi } from "./support/api.ts";
import { bearer, cookie, mutation, query } from "./support/http.ts";

/*
 * Session recording end to end on the embedded default: the gateway records a real desktop, the
 * hash of each segment is in the audit chain, an admin lists, fetches (audited) and verifies the
 * segments, a changed or removed file is named, nobody else can fetch one, and `required` with a
 * folder that cannot be written refuses the launch.
 */

const api = useApi();
let desktop: TestXvnc;
let sshd: TestSshd;
let server: RunningServer;
let folder: string;
let adminToken: string;

beforeAll(async () => {
  desktop = await startXvnc({ tcp: true });
  sshd = await startSshd();
  folder = mkdtempSync(path.join(tmpdir(), "neosc-api-recordings-"));
  server = await api.start({ NEOSC_RECORDINGS_DIR: folder });
  const login = await mutation<LoginOutput>(server.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  adminToken = login.data?.token ?? "";
  const admin = { headers: bearer(adminToken) };
  await mutation(
    server.url,
    "workspace.create",
    {
      slug: "recorded-desktop",
      name: "Recorded desktop",
      kind: "desktop",
      driver: "static",
      target: { host: "127.0.0.1", port: desktop.port },
      allowedRoles: ["user"],
    },
    admin,
  );
  await mutation(
    server.url,
    "workspace.create",
    {
      slug: "recorded-terminal",
      name: "Recorded terminal",
      kind: "terminal",
      driver: "ssh",
      sshTarget: { host: sshd.host, port: sshd.port, username: sshd.username, hostKey: sshd.hostKey },
      sshCredential: { kind: "privateKey", privateKey: sshd.privateKey },
      allowedRoles: ["user"],
    },
    admin,
  );
  await mutation(server.url, "policy.toggle", { key: "max-concurrent-sessions", enabled: false }, admin);
  await mutation(
    server.url,
    "policy.update",
    { key: "recording", settings: { mode: "on", retentionDays: 30 } },
    admin,
  );
  await mutation(server.url, "policy.toggle", { key: "recording", enabled: true }, admin);
});

afterAll(async () => {
  await desktop?.stop();
  await sshd?.stop();
  rmSync(folder, { recursive: true, force: true });
});

async function person(url = server.url) {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    url,
    "user.create",
    { email, name: "Person", role: "user" },
    { headers: bearer(adminToken) },
  );
  const login = await mutation<LoginOutput>(url, "auth.login", {
    email,
    password: created.data?.oneTimePassword,
  });
  const token = login.data?.token ?? "";
  await mutation(
    url,
    "auth.changePassword",
    { currentPassword: created.data?.oneTimePassword, newPassword: "person-password-1" },
    { headers: bearer(token) },
  );
  return { token };
}

async function launch(token: string, url = server.url, slug = "recorded-desktop") {
  const workspaces = await query<Workspace[]>(url, "workspace.list", {}, { headers: bearer(token) });
  const workspace = workspaces.data?.find((w) => w.slug === slug);
  if (workspace === undefined) throw new Error("no desktop in the catalogue");
  return mutation<WorkspaceSession>(
    url,
    "workspace.launch",
    { workspaceId: workspace.id },
    { headers: cookie(token) },
  );
}

/** A recorded connection: launch, connect through the gateway, a few frames, close. */
async function recordedSession(token: string) {
  const launched = await launch(token);
  if (launched.status !== 200) throw new Error(`launch refused: ${JSON.stringify(launched.error)}`);
  const session = launched.data as WorkspaceSession;
  const connect = await mutation<ConnectSessionOutput>(
    server.url,
    "session.connect",
    { sessionId: session.id },
    { headers: cookie(token) },
  );
  const client = await RfbTestClient.open(`${server.url.replace(/^http/, "ws")}${connect.data?.url}`, {
    ticket: connect.data?.ticket ?? null,
    origin: PUBLIC_ORIGIN,
    cookie: `neosc_session=${token}`,
  });
  await client.handshake();
  client.updateRequest(false);
  await client.nextUpdate();
  client.pointer(0, 100, 100);
  client.close();
  await client.closed;
  return session;
}

/** A recorded terminal connection: an ssh shell through the API's gateway, a command, close. */
async function recordedTerminal(token: string) {
  const launched = await launch(token, server.url, "recorded-terminal");
  if (launched.status !== 200) throw new Error(`launch refused: ${JSON.stringify(launched.error)}`);
  const session = launched.data as WorkspaceSession;
  const connect = await mutation<ConnectSessionOutput>(
    server.url,
    "session.connect",
    { sessionId: session.id },
    { headers: cookie(token) },
  );
  const client = await TerminalTestClient.open(`${server.url.replace(/^http/, "ws")}${connect.data?.url}`, {
    ticket: connect.data?.ticket ?? "",
    origin: PUBLIC_ORIGIN,
    cookie: `neosc_session=${token}`,
  });
  client.type("echo api-$((5*5))\r");
  await client.waitFor(/api-25/);
  client.close();
  await client.closed;
  return session;
}

async function segmentsOf(sessionId: string): Promise<RecordingSegment[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const listed = await query<{ segments: RecordingSegment[] }>(
      server.url,
      "recording.list",
      { sessionId },
      { headers: bearer(adminToken) },
    );
    if ((listed.data?.segments.length ?? 0) > 0) return listed.data?.segments ?? [];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("no segment recorded");
}

async function verify(sessionId?: string) {
  const answer = await query<VerifyRecordingsOutput>(
    server.url,
    "recording.verify",
    sessionId === undefined ? {} : { sessionId },
    { headers: bearer(adminToken) },
  );
  if (answer.data === null) throw new Error(JSON.stringify(answer.error));
  return answer.data;
}

async function download(sessionId: string, segment: number, token: string) {
  const parts: Buffer[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const piece: Awaited<
      ReturnType<typeof query<{ data: string; nextOffset: number | null; sha256: string }>>
    > = await query<{ data: string; nextOffset: number | null; sha256: string }>(
      server.url,
      "recording.chunk",
      { sessionId, segment, offset },
      { headers: bearer(token) },
    );
    if (piece.data === null) return { status: piece.status, error: piece.error, bytes: null };
    parts.push(Buffer.from(piece.data.data, "base64"));
    offset = piece.data.nextOffset;
  }
  return { status: 200, error: null, bytes: Buffer.concat(parts) };
}

describe("recordings through the API", () => {
  it("lists a recorded session's segment with the hash in the audit chain; an admin replays it (audited)", async () => {
    const { token } = await person();
    const session = await recordedSession(token);
    const [segment] = await segmentsOf(session.id);
    expect(segment).toMatchObject({ sessionId: session.id, segment: 1, kind: "rfb", deletedAt: null });
    const fetched = await download(session.id, 1, adminToken);
    expect(fetched.bytes).not.toBeNull();
    const bytes = fetched.bytes as Buffer;
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(segment?.sha256);
    const replay = replayRfbSegment(bytes);
    expect(replay).toMatchObject({ width: 640, height: 480 });
    expect(replay.pointers).toMatchObject([{ x: 100, y: 100 }]);
    const downloads = await api.database.db.audit.scan(
      { action: "recording.download", resourceType: "session", resourceId: session.id },
      10,
    );
    expect(downloads).toMatchObject([{ actor: { email: ADMIN_EMAIL }, details: { segment: 1 } }]);
    expect((await api.database.db.audit.verify()).ok).toBe(true);
  });

  it("refuses everyone but admins, the session's own person included", async () => {
    const { token } = await person();
    const session = await recordedSession(token);
    await segmentsOf(session.id);
    const own = await download(session.id, 1, token);
    expect(own.status).toBe(403);
    expect(own.error?.data.domain).toMatchObject({ reason: "role_required" });
    const listed = await query(
      server.url,
      "recording.list",
      { sessionId: session.id },
      { headers: bearer(token) },
    );
    expect(listed.status).toBe(403);
    const anonymous = await query(server.url, "recording.chunk", { sessionId: session.id, segment: 1 });
    expect(anonymous.status).toBe(401);
  });

  it("names a segment whose stored bytes were altered, and one that was removed", async () => {
    const { token } = await person();
    const altered = await recordedSession(token);
    const removed = await recordedSession(token);
    await segmentsOf(altered.id);
    await segmentsOf(removed.id);
    expect(await verify(altered.id)).toEqual({ ok: true, checked: 1, problems: [] });

    const file = path.join(folder, segmentFileName(altered.id, 1, "rfb"));
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);
    unlinkSync(path.join(folder, segmentFileName(removed.id, 1, "rfb")));

    const all = await verify();
    expect(all.ok).toBe(false);
    expect(all.problems).toEqual(
      expect.arrayContaining([
        { sessionId: altered.id, segment: 1, kind: "rfb", problem: "altered" },
        { sessionId: removed.id, segment: 1, kind: "rfb", problem: "missing" },
      ]),
    );
    expect(all.problems).toHaveLength(2);
  });

  it("names a terminal segment whose bytes were altered, and one that was removed; the audit chain itself holds", async () => {
    const { token } = await person();
    const altered = await recordedTerminal(token);
    const removed = await recordedTerminal(token);
    expect((await segmentsOf(altered.id))[0]).toMatchObject({ kind: "asciicast", segment: 1 });
    await segmentsOf(removed.id);
    expect(await verify(altered.id)).toEqual({ ok: true, checked: 1, problems: [] });

    const file = path.join(folder, segmentFileName(altered.id, 1, "asciicast"));
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);
    unlinkSync(path.join(folder, segmentFileName(removed.id, 1, "asciicast")));

    expect((await verify(altered.id)).problems).toEqual([
      { sessionId: altered.id, segment: 1, kind: "asciicast", problem: "altered" },
    ]);
    expect((await verify(removed.id)).problems).toEqual([
      { sessionId: removed.id, segment: 1, kind: "asciicast", problem: "missing" },
    ]);
    // The hashes those answers rest on are in an unbroken chain.
    expect((await api.database.db.audit.verify()).ok).toBe(true);
  });

  it("deletes segments past retention, audited, and verification does not count them missing", async () => {
    const { token } = await person();
    const session = await recordedSession(token);
    await segmentsOf(session.id);
    const store = createRecordingStore(folder);
    const later = new Date(Date.now() + 31 * 86_400_000);
    // Other tests' altered and removed segments are past retention too; all are deleted.
    const swept = await sweepRecordings({
      db: api.database.db,
      clock: () => later,
      services: { recordings: store },
    });
    expect(swept.deleted).toBeGreaterThanOrEqual(1);
    expect(await store.hash({ sessionId: session.id, segment: 1, kind: "rfb" })).toBeNull();
    const [deleted] = await api.database.db.audit.scan(
      { action: "recording.delete", resourceType: "session", resourceId: session.id },
      10,
    );
    expect(deleted).toMatchObject({ reason: "retention", details: { segment: 1, retentionDays: 30 } });
    expect((await segmentsOf(session.id))[0]?.deletedAt).toBeInstanceOf(Date);
    expect(await verify()).toMatchObject({ ok: true, problems: [] });
    const gone = await download(session.id, 1, adminToken);
    expect(gone.status).toBe(404);
  });

  it("`required` with a recordings folder that cannot be written refuses the launch (audited)", async () => {
    const blocker = path.join(folder, "a-file");
    writeFileSync(blocker, "");
    const other = await api.start({ NEOSC_RECORDINGS_DIR: path.join(blocker, "recordings") });
    const admin = { headers: bearer(adminToken) };
    await mutation(
      other.url,
      "policy.update",
      { key: "recording", settings: { mode: "required", retentionDays: 30 } },
      admin,
    );
    try {
      const { token } = await person(other.url);
      const refused = await launch(token, other.url);
      expect(refused.status).toBe(503);
      expect(refused.error?.data.domain).toMatchObject({ reason: "recording_unavailable" });
      const [denied] = await api.database.db.audit.scan({ action: "workspace.launch", result: "denied" }, 10);
      expect(denied).toMatchObject({ reason: "recording_unavailable" });
      // The instance whose folder works launches the same workspace under the same policy.
      const allowed = await launch(token, server.url);
      expect(allowed.status).toBe(200);
    } finally {
      await mutation(
        other.url,
        "policy.update",
        { key: "recording", settings: { mode: "on", retentionDays: 30 } },
        admin,
      );
    }
  });
});
