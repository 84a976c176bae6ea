import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WorkspaceError } from "../src/protocol.ts";
import { ShellWatchReader } from "../src/terminal.ts";

/*
 * The reader of a watched shell host's stream, fed byte by byte where a split could matter: the
 * raw copy before the nonce is dropped even when the nonce spans chunks, and a host (it runs in
 * the person's sandbox) that breaks the frame grammar is refused.
 */

const size = (cols: number, rows: number) => Buffer.from([1, cols >> 8, cols & 255, rows >> 8, rows & 255]);
const output = (text: string) => {
  const data = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
};

describe("ShellWatchReader", () => {
  it("drops the raw bytes before the nonce and reads the frames after it, however split", () => {
    const nonce = randomBytes(16);
    const stream = Buffer.concat([
      Buffer.from("raw scrollback"),
      nonce,
      size(100, 30),
      output("hello"),
      size(90, 20),
    ]);
    const reader = new ShellWatchReader(nonce);
    const parts = [...stream].flatMap((byte) => reader.read(Buffer.from([byte])));
    const text = parts
      .filter((part) => Buffer.isBuffer(part))
      .map((part) => part.toString())
      .join("");
    expect(text).toBe("hello");
    expect(parts.filter((part) => !Buffer.isBuffer(part))).toEqual([
      { type: "terminal_size", cols: 100, rows: 30 },
      { type: "terminal_size", cols: 90, rows: 20 },
    ]);
  });

  it("refuses a size out of bounds, an oversized output frame and an unknown frame", () => {
    for (const bad of [size(0, 30), size(100, 501), Buffer.from([0, 0, 2, 0, 1]), Buffer.from([7])]) {
      const nonce = randomBytes(16);
      const reader = new ShellWatchReader(nonce);
      expect(() => reader.read(Buffer.concat([nonce, bad]))).toThrow(WorkspaceError);
    }
  });
});
