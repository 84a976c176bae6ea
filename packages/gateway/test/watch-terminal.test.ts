import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Database } from "@neosc/db/database";
import { createTestDatabase, type TestDatabase } from "@neosc/db/testing";
import { SHELL_SOCKET, shellEndpoint, shellHostCommand, waitForShellHost } from "@neosc/provisioner/shell";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TerminalTestClient } from "../testing/terminal-client.ts";
import { launchSession, ORIGIN, startGateway, type TestGateway } from "./support/gateway.ts";
import { signedIn, watchTicket } from "./support/watch.ts";

/*
 * An admin watching someone's local shell (`session.watch` tickets) with the real shell host (a
 * pty and bash as an unprivileged account, as the provisioner runs it minus the sandbox) and
 * real WebSockets: the watcher's connection is another viewer of the shell host, so it gets the
 * scrollback first and then live output, and nothing it sends — typing, a paste, a resize —
 * reaches the shell; the same from the person does.
 */

let database: TestDatabase;
let db: Database;
let gateway: TestGateway;
let dir: string;
let host: ChildProcess;

beforeAll(async () => {
  database = await createTestDatabase(inject("mongoUrl"));
  db = database.db;
  dir = mkdtempSync(path.join(tmpdir(), "neosc-gw-watch-"));
  chmodSync(dir, 0o777);
  const [file = "", ...args] = shellHostCommand({ socketPath: path.join(dir, SHELL_SOCKET) });
  host = spawn(file, args, {
    uid: 65534,
    gid: 65534,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", HOME: dir },
    stdio: "ignore",
  });
  expect(await waitForShellHost(shellEndpoint(dir).endpoint, 5000)).toBe(true);
  gateway = await startGateway({ db, endpoints: async () => shellEndpoint(dir), revocationPollMs: 200 });
});

afterAll(async () => {
  await gateway?.close();
  if (host?.exitCode === null) host.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function auditEntry(action: string, sessionId: string) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const page = await db.audit.list({ action, resourceId: sessionId, limit: 10 });
    const found = page.items.find((entry) => entry.details.watch === true);
    if (found !== undefined || Date.now() > deadline) return found;
    await sleep(50);
  }
}

describe("watching a local shell", () => {
  it("shows the admin the scrollback and then live output, and keeps their typing, pastes and resizes from the shell", async () => {
    const launched = await launchSession(db, { kind: "terminal" });
    const person = await TerminalTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    person.resize(100, 30);
    // The arithmetic happens in the shell, so the answer is never the echo of what was typed.
    person.type("echo before-$((2*3))\r");
    await person.waitFor(/before-6/);

    const admin = await signedIn(db);
    const watching = await TerminalTestClient.open(gateway.url, {
      ticket: await watchTicket(db, launched, admin),
      origin: ORIGIN,
      cookie: admin.cookie,
    });
    // What the shell printed before the watch opened comes first.
    await watching.waitFor(/before-6/);
    const told = await (async () => {
      const deadline = Date.now() + 3000;
      while (person.notices.length === 0 && Date.now() < deadline) await sleep(50);
      return person.notices[0];
    })();
    expect(told).toMatchObject({ type: "watch", watched: true });

    let from = watching.output.length;
    person.type("echo live-$((3*4))\r");
    await watching.waitFor(/live-12/, { from });

    // Everything a watcher's viewer could send, each a command with a mark the shell would leave.
    const typed = path.join(dir, "watcher-typed");
    const pasted = path.join(dir, "watcher-pasted");
    watching.type(`echo leaked-$((5*5)) > ${typed}\r`);
    watching.paste(`echo pasted-$((6*6)) > ${pasted}\r`);
    watching.resize(33, 11);
    await sleep(700);
    expect(watching.ws.readyState).toBe(watching.ws.OPEN);

    // The person's own command runs after them: the shell's size is still the person's.
    from = person.output.length;
    const watcherFrom = watching.output.length;
    person.type("echo size=$(stty size)= done-$((7*8))\r");
    await person.waitFor(/size=30 100= done-56/, { from });
    await watching.waitFor(/size=30 100= done-56/, { from: watcherFrom });
    expect(existsSync(typed)).toBe(false);
    expect(existsSync(pasted)).toBe(false);
    expect(person.output).not.toMatch(/leaked-25|pasted-36/);
    // The same from the person reaches the shell: the checks above could fail.
    person.type(`echo mine-$((4*4)) > ${typed}\r`);
    const deadline = Date.now() + 3000;
    while (!existsSync(typed) && Date.now() < deadline) await sleep(50);
    expect(existsSync(typed)).toBe(true);

    watching.close();
    await watching.closed;
    expect(person.ws.readyState).toBe(person.ws.OPEN);
    // Audited as a watch, with nothing of the watcher's sent to the shell.
    const opened = await auditEntry("gateway.connect", launched.session.id);
    expect(opened).toMatchObject({
      actor: { id: admin.user.id },
      result: "success",
      details: { watch: true, watched: launched.user.id },
    });
    const closed = await auditEntry("gateway.disconnect", launched.session.id);
    expect(closed?.actor.id).toBe(admin.user.id);
    expect(closed?.details.bytesToServer).toBe(0);
    expect(closed?.details.bytesToClient).toBeGreaterThan(0);
    const untold = await (async () => {
      const until = Date.now() + 3000;
      while (person.notices.length < 2 && Date.now() < until) await sleep(50);
      return person.notices[1];
    })();
    expect(untold).toMatchObject({ type: "watch", watched: false });
    person.close();
    await person.closed;
  });

  it("tells the watcher the pty's size when it attaches, before any output, and at each change", async () => {
    const launched = await launchSession(db, { kind: "terminal" });
    const person = await TerminalTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    person.resize(100, 30);
    person.type("echo before-$((2*5))\r");
    await person.waitFor(/before-10/);

    const admin = await signedIn(db);
    const watching = await TerminalTestClient.open(gateway.url, {
      ticket: await watchTicket(db, launched, admin),
      origin: ORIGIN,
      cookie: admin.cookie,
    });
    await watching.waitFor(/before-10/);
    const sizes = () => watching.notices.filter((notice) => notice.type === "terminal_size");
    // The person's size, ahead of the scrollback it was drawn at.
    expect(sizes()[0]).toMatchObject({ type: "terminal_size", cols: 100, rows: 30, afterOutput: 0 });
    // The scrollback comes once: the host's raw copy before the watch frame is not shown as well.
    expect(watching.output.match(/before-10/g)).toHaveLength(1);

    const waitSize = async (cols: number, rows: number) => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const last = sizes().at(-1);
        if (
          (last?.type === "terminal_size" && last.cols === cols && last.rows === rows) ||
          Date.now() > deadline
        )
          return last;
        await sleep(25);
      }
    };
    // The person's window changes: the watcher hears it, before the output drawn at the new size.
    person.resize(120, 40);
    expect(await waitSize(120, 40)).toMatchObject({ cols: 120, rows: 40 });
    // A program in the shell changes the size itself.
    let from = watching.output.length;
    person.type("stty cols 90 rows 20; echo sized-$((3*5))\r");
    await watching.waitFor(/sized-15/, { from });
    const changed = await waitSize(90, 20);
    expect(changed).toMatchObject({ cols: 90, rows: 20 });
    // Before the output the program printed after it.
    expect(changed?.afterOutput).toBeLessThanOrEqual(from + watching.output.slice(from).indexOf("sized-15"));
    // The watcher's own resize still changes nothing.
    watching.resize(33, 11);
    from = person.output.length;
    person.type("echo size=$(stty size)=\r");
    await person.waitFor(/size=20 90=/, { from });
    expect(sizes().at(-1)).toMatchObject({ cols: 90, rows: 20 });
    // The person's own stream is unchanged: no size notices, the output as the shell wrote it.
    expect(person.notices.some((notice) => notice.type === "terminal_size")).toBe(false);
    watching.close();
    await watching.closed;
    person.close();
    await person.closed;
  });

  it("closes a watcher that stops reading rather than holding the person's output", async () => {
    const launched = await launchSession(db, { kind: "terminal" });
    const person = await TerminalTestClient.open(gateway.url, {
      ticket: await launched.ticket(),
      origin: ORIGIN,
      cookie: launched.cookie,
    });
    person.type("echo ready-$((2*4))\r");
    await person.waitFor(/ready-8/);
    const admin = await signedIn(db);
    const watching = await TerminalTestClient.open(gateway.url, {
      ticket: await watchTicket(db, launched, admin),
      origin: ORIGIN,
      cookie: admin.cookie,
    });
    await watching.waitFor(/ready-8/);
    // The admin's browser stops reading (a frozen tab, a slow link): its socket is not drained.
    const socket = (watching.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Far more output than the socket buffers and the gateway's high-water mark hold.
    const from = person.output.length;
    person.type("head -c 16000000 /dev/zero | tr '\\0' x; echo; echo after-$((9*9))\r");
    await person.waitFor(/after-81/, { from, timeoutMs: 30_000 });
    // Reading again, the watcher finds the gateway's close after what it had been sent.
    socket.resume();
    expect((await watching.closed).code).toBe(1001);
    person.close();
    await person.closed;
  });

  it("still closes a watcher who breaks the frame grammar, and ends the watch with the session", async () => {
    const launched = await launchSession(db, { kind: "terminal" });
    const admin = await signedIn(db);
    const open = async () =>
      TerminalTestClient.open(gateway.url, {
        ticket: await watchTicket(db, launched, admin),
        origin: ORIGIN,
        cookie: admin.cookie,
      });
    const breaking = await open();
    await sleep(300);
    breaking.send([0x07, 1, 2]);
    expect((await breaking.closed).code).toBe(4008);

    const watching = await open();
    await sleep(300);
    await db.sessions.end(launched.session.id, { reason: "admin_disconnected", at: new Date() });
    expect(await watching.closed).toEqual({ code: 4000, reason: "admin_disconnected" });
  });
});
