import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LoginOutput } from "@neosc/core/auth";
import type { ConnectSessionOutput } from "@neosc/core/connection";
import type { RecordingSegment, VerifyRecordingsOutput } from "@neosc/core/recording";
import type { WorkspaceSession } from "@neosc/core/session";
import type { User } from "@neosc/core/user";
import type { Workspace } from "@neosc/core/workspace";
import { createRecordingStore } from "@neosc/gateway/recording";
import { RfbTestClient } from "@neosc/gateway/testing/rfb-client";
import { replayRfbSegment } from "@neosc/gateway/testing/rfb-replay";
import { startXvnc, type TestXvnc } from "@neosc/provisioner/testing/xvnc";
import { sweepRecordings } from "@neosc/router/domain/recordings/recordings";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.ts";
import { ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_ORIGIN, useApi } from "./support/api.ts";
import { bearer, cookie, mutation, query } from "./support/http.ts";

/*
 * Recordings across replicas, as the deploy runs them: two API instances (each with its gateway)
 * on one database, with one recordings folder mounted into both (compose's bind mount, the
 * Kubernetes ReadWriteMany claim). A session recorded through one replica is listed, replayed,
 * downloaded (audited) and verified through the other; a reconnect through the other replica is
 * the session's next segment, never a second segment 1; two replicas' retention sweeps at once
 * delete each segment once, with one audit entry.
 */

const api = useApi();
let desktop: TestXvnc;
let folder: string;
let first: RunningServer;
let second: RunningServer;
let adminToken: string;

beforeAll(async () => {
  desktop = await startXvnc({ tcp: true });
  folder = mkdtempSync(path.join(tmpdir(), "neosc-shared-recordings-"));
  first = await api.start({ NEOSC_RECORDINGS_DIR: folder });
  second = await api.start({ NEOSC_RECORDINGS_DIR: folder });
  const login = await mutation<LoginOutput>(first.url, "auth.login", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
  });
  adminToken = login.data?.token ?? "";
  const admin = { headers: bearer(adminToken) };
  await mutation(
    first.url,
    "workspace.create",
    {
      slug: "shared-recorded-desktop",
      name: "Shared recorded desktop",
      kind: "desktop",
      driver: "static",
      target: { host: "127.0.0.1", port: desktop.port },
      allowedRoles: ["user"],
    },
    admin,
  );
  await mutation(first.url, "policy.toggle", { key: "max-concurrent-sessions", enabled: false }, admin);
  await mutation(
    first.url,
    "policy.update",
    { key: "recording", settings: { mode: "on", retentionDays: 30 } },
    admin,
  );
  await mutation(first.url, "policy.toggle", { key: "recording", enabled: true }, admin);
  // A replica serves its copy of the policies for up to 1 s (the read cache): until the second
  // one has seen the change, a connection through it is rightly not recorded.
  const deadline = Date.now() + 5_000;
  for (;;) {
    type Listed = { key: string; enabled: boolean }[];
    const seen = await query<Listed>(second.url, "policy.list", undefined, admin);
    if (seen.data?.some((policy) => policy.key === "recording" && policy.enabled)) break;
    if (Date.now() > deadline) throw new Error("the second replica never saw the recording policy");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  await desktop?.stop();
  rmSync(folder, { recursive: true, force: true });
});

async function person() {
  const email = `person-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await mutation<{ user: User; oneTimePassword: string }>(
    first.url,
    "user.create",
    { email, name: "Person", role: "user" },
    { headers: bearer(adminToken) },
  );
  const login = await mutation<LoginOutput>(first.url, "auth.login", {
    email,
    password: created.data?.oneTimePassword,
  });
  const token = login.data?.token ?? "";
  await mutation(
    first.url,
    "auth.changePassword",
    { currentPassword: created.data?.oneTimePassword, newPassword: "person-password-1" },
    { headers: bearer(token) },
  );
  return token;
}

async function launch(token: string): Promise<WorkspaceSession> {
  const workspaces = await query<Workspace[]>(first.url, "workspace.list", {}, { headers: bearer(token) });
  const workspace = workspaces.data?.find((w) => w.slug === "shared-recorded-desktop");
  if (workspace === undefined) throw new Error("no desktop in the catalogue");
  const launched = await mutation<WorkspaceSession>(
    first.url,
    "workspace.launch",
    { workspaceId: workspace.id },
    { headers: cookie(token) },
  );
  if (launched.status !== 200) throw new Error(`launch refused: ${JSON.stringify(launched.error)}`);
  return launched.data as WorkspaceSession;
}

/** One recorded connection through `through`'s gateway: a frame, a pointer move to (x, y), close. */
async function recordedConnection(
  through: RunningServer,
  token: string,
  sessionId: string,
  x: number,
  y: number,
) {
  const connect = await mutation<ConnectSessionOutput>(
    through.url,
    "session.connect",
    { sessionId },
    { headers: cookie(token) },
  );
  const client = await RfbTestClient.open(`${through.url.replace(/^http/, "ws")}${connect.data?.url}`, {
    ticket: connect.data?.ticket ?? null,
    origin: PUBLIC_ORIGIN,
    cookie: `neosc_session=${token}`,
  });
  await client.handshake();
  client.updateRequest(false);
  await client.nextUpdate();
  client.pointer(0, x, y);
  client.close();
  await client.closed;
}

async function segmentsOf(through: RunningServer, sessionId: string, count: number) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const listed = await query<{ segments: RecordingSegment[] }>(
      through.url,
      "recording.list",
      { sessionId },
      { headers: bearer(adminToken) },
    );
    const segments = listed.data?.segments ?? [];
    if (segments.length >= count) return segments;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${count} segments recorded`);
}

async function download(through: RunningServer, sessionId: string, segment: number) {
  const parts: Buffer[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    type Piece = { data: string; nextOffset: number | null };
    const piece: Awaited<ReturnType<typeof query<Piece>>> = await query<Piece>(
      through.url,
      "recording.chunk",
      { sessionId, segment, offset },
      { headers: bearer(adminToken) },
    );
    if (piece.data === null) throw new Error(`download refused: ${JSON.stringify(piece.error)}`);
    parts.push(Buffer.from(piece.data.data, "base64"));
    offset = piece.data.nextOffset;
  }
  return Buffer.concat(parts);
}

async function verify(through: RunningServer, sessionId: string) {
  const answer = await query<VerifyRecordingsOutput>(
    through.url,
    "recording.verify",
    { sessionId },
    { headers: bearer(adminToken) },
  );
  if (answer.data === null) throw new Error(JSON.stringify(answer.error));
  return answer.data;
}

describe("recordings on one shared folder, two replicas", () => {
  it("replays and downloads through one replica what the other recorded; a reconnect elsewhere is the next segment", async () => {
    const token = await person();
    const session = await launch(token);
    await recordedConnection(first, token, session.id, 100, 100);
    await segmentsOf(second, session.id, 1);
    await recordedConnection(second, token, session.id, 200, 150);

    const segments = await segmentsOf(first, session.id, 2);
    expect(segments.map((s) => ({ segment: s.segment, kind: s.kind }))).toEqual([
      { segment: 1, kind: "rfb" },
      { segment: 2, kind: "rfb" },
    ]);
    // Each segment fetched through the replica that did not record it.
    const recordedByFirst = await download(second, session.id, 1);
    const recordedBySecond = await download(first, session.id, 2);
    expect(createHash("sha256").update(recordedByFirst).digest("hex")).toBe(segments[0]?.sha256);
    expect(createHash("sha256").update(recordedBySecond).digest("hex")).toBe(segments[1]?.sha256);
    expect(replayRfbSegment(recordedByFirst).pointers).toMatchObject([{ x: 100, y: 100 }]);
    expect(replayRfbSegment(recordedBySecond).pointers).toMatchObject([{ x: 200, y: 150 }]);

    const downloads = await api.database.db.audit.scan(
      { action: "recording.download", resourceType: "session", resourceId: session.id },
      10,
    );
    expect(downloads.map((entry) => entry.details.segment).sort()).toEqual([1, 2]);
    expect(downloads.every((entry) => entry.actor.email === ADMIN_EMAIL)).toBe(true);
    for (const through of [first, second]) {
      expect(await verify(through, session.id)).toEqual({ ok: true, checked: 2, problems: [] });
    }
    expect((await api.database.db.audit.verify()).ok).toBe(true);
  });

  it("two replicas sweeping retention at once delete each segment once, audited once", async () => {
    const token = await person();
    const session = await launch(token);
    await recordedConnection(first, token, session.id, 10, 10);
    await recordedConnection(second, token, session.id, 20, 20);
    await segmentsOf(first, session.id, 2);

    const later = new Date(Date.now() + 31 * 86_400_000);
    const sweep = () =>
      sweepRecordings({
        db: api.database.db,
        clock: () => later,
        services: { recordings: createRecordingStore(folder) },
      });
    const swept = await Promise.all([sweep(), sweep()]);
    const deletions = await api.database.db.audit.scan(
      { action: "recording.delete", resourceType: "session", resourceId: session.id },
      10,
    );
    expect(deletions.map((entry) => entry.details.segment).sort()).toEqual([1, 2]);
    expect(deletions.every((entry) => entry.details.fileWasPresent === true)).toBe(true);
    // Every segment the sweeps saw (other tests' too) was deleted by exactly one of them.
    const all = await api.database.db.audit.scan({ action: "recording.delete" }, 100);
    expect(swept[0].deleted + swept[1].deleted).toBe(all.length);
    for (const through of [first, second]) {
      expect(await verify(through, session.id)).toEqual({ ok: true, checked: 0, problems: [] });
    }
  });
});
