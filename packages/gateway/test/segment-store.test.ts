import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { constants, gunzipSync, gzipSync } from "node:zlib";
import { decodeAsciicast, decodeRecording, segmentFileName } from "@neosc/core/recording";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRecordingStore,
  type RecordingStore,
  startDesktopRecording,
  startTerminalRecording,
} from "../src/recording.ts";

/*
 * How a segment lands on disk (the store and its writer thread, real files): a terminal's output
 * arrives as many small writes, and storing them must cost about what one gzip of the same bytes
 * does; a segment still being written can be read up to its last second (a gateway that dies
 * loses at most that); a desktop's pixels are deflated when they compress well and stored as they
 * are when they do not (deflating noise is slower than any relay).
 */

let folder: string;
let store: RecordingStore;

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), "neosc-segment-store-"));
  store = createRecordingStore(folder);
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lines as a shell session prints them: a few hundred distinct ones (paths, sizes, prompts), repeated. */
function shellLines(count: number): string[] {
  const vocabulary = Array.from(
    { length: 300 },
    (_, i) =>
      `-rw-r--r-- 1 neosc neosc ${1000 + i * 37} Dec  2 15:${String(i % 60).padStart(2, "0")} ${randomBytes(12).toString("hex")}.log\r\n`,
  );
  return Array.from({ length: count }, (_, i) => vocabulary[(i * 7919) % vocabulary.length] as string);
}

async function terminalSegment() {
  const sessionId = randomUUID();
  const recorder = await startTerminalRecording(
    store,
    { sessionId, segment: 1, startedAt: new Date() },
    { cols: 80, rows: 24, recordInput: false },
  );
  return { sessionId, recorder, file: path.join(folder, segmentFileName(sessionId, 1, "asciicast")) };
}

describe("storing a terminal segment", () => {
  it("costs about one gzip of its bytes, though the output came as thousands of small writes", async () => {
    const { recorder, file } = await terminalSegment();
    // A person typing a command (each key echoed on its own) and its listing, written a line at
    // a time, a millisecond or more apart, as a pty delivers them.
    const writes: string[] = [];
    const lines = shellLines(1200);
    for (let at = 0; at < lines.length; at += 40) {
      for (const key of "ls -l --sort=time logs/\r\n") writes.push(key);
      writes.push(...lines.slice(at, at + 40), "neosc@workspace:~$ ");
    }
    for (const write of writes) {
      recorder.server(Buffer.from(write));
      await sleep(1);
    }
    const result = await recorder.writer.finish(new Date());
    const stored = readFileSync(file);
    expect(result.bytes).toBe(stored.length);
    const text = gunzipSync(stored).toString("utf8");
    const cast = decodeAsciicast(text);
    expect(cast.events.map(([, , data]) => data).join("")).toBe(writes.join(""));
    // Measured: 0.97× one gzip. Each write deflated alone stored 7.6×; primed with the bytes
    // before it but flushed one by one, 2×; batched by the second but not primed, 1.6×.
    const oneGzip = gzipSync(text, { level: 6 }).length;
    expect(stored.length).toBeLessThan(oneGzip * 1.25);
  });

  it("can be read, while still being written, up to its last second", async () => {
    const { recorder, file } = await terminalSegment();
    for (const line of shellLines(200)) {
      recorder.server(Buffer.from(line));
      await sleep(1);
    }
    recorder.marker("before-the-crash");
    await sleep(1500);
    // What a gateway that died now would leave behind: the .part file, without its end.
    const partial = gunzipSync(readFileSync(`${file}.part`), { finishFlush: constants.Z_SYNC_FLUSH });
    const cast = decodeAsciicast(partial.toString("utf8"));
    expect(cast.events.at(-1)).toEqual([expect.any(Number), "m", "before-the-crash"]);
    expect(cast.events.filter(([, code]) => code === "o")).toHaveLength(200);
    await recorder.writer.finish(new Date());
  });
});

/** A full 1280×800 Raw frame, 32 bits a pixel: random colours (noise) or a few flat ones (text). */
function rawFrame(kind: "noise" | "flat"): Buffer {
  const frame = kind === "noise" ? randomBytes(1280 * 800 * 4) : Buffer.alloc(1280 * 800 * 4, 0x2f);
  // The fourth byte of each pixel is padding, as Xvnc sends it: noise deflates to ~0.8, not 1.
  for (let at = 3; at < frame.length; at += 4) frame[at] = 0;
  if (kind === "flat") for (let at = 0; at < frame.length; at += 4096) frame.write("ls -l", at);
  return frame;
}

/** Records `frames` as one desktop segment, as the relay would; returns the recorder and the stored file. */
async function desktopSegment(frames: Buffer[]) {
  const sessionId = randomUUID();
  const recorder = await startDesktopRecording(store, { sessionId, segment: 1, startedAt: new Date() });
  let drained = () => {};
  recorder.writer.onDrain(() => drained());
  for (const frame of frames) {
    // A socket read at a time, held while the recorder is full.
    for (let at = 0; at < frame.length; at += 64 * 1024) {
      if (!recorder.server(frame.subarray(at, at + 64 * 1024))) {
        await new Promise<void>((resolve) => {
          drained = resolve;
        });
      }
    }
  }
  const result = await recorder.writer.finish(new Date());
  const stored = readFileSync(path.join(folder, segmentFileName(sessionId, 1, "rfb")));
  expect(result.bytes).toBe(stored.length);
  const replayed = Buffer.concat(
    decodeRecording(gunzipSync(stored)).records.flatMap((record) =>
      record.kind === "server" ? [record.bytes] : [],
    ),
  );
  // Not toEqual: its diff of 32 MB runs out of memory.
  expect(replayed.equals(Buffer.concat(frames))).toBe(true);
  return { recorder: recorder.writer, stored };
}

const FRAME_BYTES = 1280 * 800 * 4;

describe("storing a desktop segment", () => {
  it("stores noise as it is from its first batch on (deflating it is slower than relaying it)", async () => {
    const { recorder } = await desktopSegment([rawFrame("noise"), rawFrame("noise")]);
    // Before, the first MiB of every 17 was deflated to try (~40 ms each on noise): 6.9 of 8.2 MB stored.
    expect(recorder.storedBytes).toBeGreaterThanOrEqual(2 * FRAME_BYTES);
  });

  it("deflates the pixels that compress once they come, within a stored window (8 MiB)", async () => {
    const frames = [
      ...Array.from({ length: 4 }, () => rawFrame("noise")),
      rawFrame("flat"),
      rawFrame("flat"),
    ];
    const { recorder, stored } = await desktopSegment(frames);
    expect(recorder.storedBytes).toBeLessThan(4 * FRAME_BYTES + 9 * 1024 * 1024);
    expect(stored.length).toBeLessThan(4 * FRAME_BYTES + 9.1 * 1024 * 1024);
  });
});
