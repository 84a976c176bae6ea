import { describe, expect, it } from "vitest";
import { rfbSession } from "../src/rfb.ts";

const NO_LIMITS = { rule: null, refused: () => {} };

/** The client-message reader on its own: which messages count as a person's input. */
describe("RFB client messages", () => {
  const pointer = (mask: number, x: number, y: number) =>
    Buffer.from([5, mask, x >> 8, x & 255, y >> 8, y & 255]);

  it("counts keys, changed pointer positions or buttons and clipboard as input, not update requests", () => {
    const reader = rfbSession({ maxClipboardBytes: 1024, clipboard: NO_LIMITS });
    expect(reader.fromClient(Buffer.from([1]))).toEqual({ forward: Buffer.from([1]), input: false });
    expect(reader.fromClient(Buffer.from([3, 1, 0, 0, 0, 0, 2, 128, 1, 224])).input).toBe(false);
    expect(reader.fromClient(pointer(0, 10, 10)).input).toBe(true);
    expect(reader.fromClient(pointer(0, 10, 10)).input).toBe(false);
    expect(reader.fromClient(pointer(1, 10, 10)).input).toBe(true);
    expect(reader.fromClient(pointer(1, 11, 10)).input).toBe(true);
    // The recorder draws the pointer from these; a key is never among them.
    expect(reader.fromClient(Buffer.concat([pointer(0, 3, 4), pointer(1, 5, 6)])).pointers).toEqual([
      { mask: 0, x: 3, y: 4 },
      { mask: 1, x: 5, y: 6 },
    ]);
    expect(reader.fromClient(Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61])).input).toBe(true);
    expect(reader.fromClient(Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30])).input).toBe(true);
    expect(reader.fromClient(Buffer.from([6, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69])).input).toBe(true);
    // Extended clipboard "caps" is sent by noVNC on its own; "notify" is a person copying.
    expect(reader.fromClient(Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x01, 0, 0, 1])).input).toBe(
      false,
    );
    expect(reader.fromClient(Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x08, 0, 0, 1])).input).toBe(
      true,
    );
  });

  it("removes ExtendedMouseButtons from SetEncodings so every PointerEvent stays 6 bytes", () => {
    const reader = rfbSession({ maxClipboardBytes: 1024, clipboard: NO_LIMITS });
    reader.fromClient(Buffer.from([1]));
    const encodings = Buffer.from([2, 0, 0, 3, 0, 0, 0, 7, 0xff, 0xff, 0xfe, 0xc4, 0xff, 0xff, 0xfe, 0xfe]);
    const { forward } = reader.fromClient(encodings);
    expect([...forward]).toEqual([2, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff, 0xfe, 0xfe]);
  });

  it("keeps a paste from the workspace when the clipboard policy says so, and says why", () => {
    const cut = (text: string) => Buffer.from([6, 0, 0, 0, 0, 0, 0, text.length, ...Buffer.from(text)]);
    const refused: string[] = [];
    const guard = (rule: { toWorkspace: boolean; maxBytes: number }) => ({
      rule,
      refused: (reason: string, bytes: number) => refused.push(`${reason}:${bytes}`),
    });
    const off = rfbSession({
      maxClipboardBytes: 1024,
      clipboard: guard({ toWorkspace: false, maxBytes: 100 }),
    });
    off.fromClient(Buffer.from([1]));
    const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const { forward, input } = off.fromClient(Buffer.concat([cut("secret"), key]));
    expect([...forward]).toEqual([...key]);
    expect(input).toBe(true);
    // Extended clipboard: "caps" passes (noVNC's own negotiation), "notify" is held back.
    const caps = Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x01, 0, 0, 1]);
    expect([...off.fromClient(caps).forward]).toEqual([...caps]);
    expect(
      off.fromClient(Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x08, 0, 0, 1])).forward,
    ).toHaveLength(0);

    const small = rfbSession({
      maxClipboardBytes: 1024,
      clipboard: guard({ toWorkspace: true, maxBytes: 4 }),
    });
    small.fromClient(Buffer.from([1]));
    expect(small.fromClient(cut("toolong")).forward).toHaveLength(0);
    expect([...small.fromClient(cut("ok")).forward]).toEqual([...cut("ok")]);
    expect(refused).toEqual([
      "clipboard_to_workspace_off:6",
      "clipboard_to_workspace_off:4",
      "clipboard_too_large:7",
    ]);
  });
});
