import { describe, expect, it } from "vitest";
import {
  encodeTerminalInput,
  encodeTerminalResize,
  readTerminalFrames,
  TERMINAL_MAX_INPUT_BYTES,
  TerminalFrameError,
} from "../src/terminal.ts";

const concat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((part) => [...part]));

describe("terminal frames", () => {
  it("reads input and resize frames however the stream is split", () => {
    const stream = concat(
      encodeTerminalInput("ls -l\r"),
      encodeTerminalResize(120, 40),
      encodeTerminalInput("é"),
    );
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = readTerminalFrames(stream.subarray(0, cut));
      const second = readTerminalFrames(concat(stream.subarray(first.consumed)));
      const frames = [...first.frames, ...second.frames];
      expect(frames.map((frame) => frame.type)).toEqual(["input", "resize", "input"]);
      expect(frames[1]).toEqual({ type: "resize", cols: 120, rows: 40 });
      expect(new TextDecoder().decode((frames[2] as { data: Uint8Array }).data)).toBe("é");
      expect(second.consumed).toBe(stream.length - first.consumed);
    }
  });

  it("splits a long paste into frames the reader accepts", () => {
    const paste = "x".repeat(TERMINAL_MAX_INPUT_BYTES * 2 + 3);
    const { frames, consumed } = readTerminalFrames(encodeTerminalInput(paste));
    expect(frames).toHaveLength(3);
    expect(consumed).toBe(paste.length + 3 * 5);
  });

  it("refuses unknown types, empty input, sizes out of bounds and oversize input", () => {
    const kindOf = (bytes: number[]) => {
      try {
        readTerminalFrames(new Uint8Array(bytes));
        return "accepted";
      } catch (error) {
        return error instanceof TerminalFrameError ? error.kind : "other";
      }
    };
    expect(kindOf([0x07, 0, 0])).toBe("malformed");
    expect(kindOf([0x02, 0, 0, 0, 0])).toBe("malformed");
    expect(kindOf([0x02, 0, 8, 0, 1])).toBe("too_large");
    expect(kindOf([0x02, 0, 0, 0, 1, 0x61])).toBe("accepted");
    expect(kindOf([0x00, 0, 0, 0, 0])).toBe("malformed");
    expect(kindOf([0x01, 0, 0, 0, 24])).toBe("malformed");
    expect(kindOf([0x01, 0x27, 0x10, 0, 24])).toBe("malformed");
    expect(kindOf([0x00, 0, 1, 0, 1])).toBe("too_large");
    expect(kindOf([0x00, 0, 0, 0, 1, 0x61])).toBe("accepted");
  });
});
