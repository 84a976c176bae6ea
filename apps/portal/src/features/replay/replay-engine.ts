import { decodeRecording, type RecordingRecord } from "@neosc/core/recording";
import RFB from "@novnc/novnc";

/*
 * Replays a recorded desktop segment with noVNC in view-only mode: noVNC reads from a channel that
 * looks like a WebSocket (its `RFB(target, channel)` accepts one), and the engine pushes the
 * recorded server bytes into it at their recorded times. Seeking back starts a fresh noVNC and
 * fast-forwards from the start, since an RFB stream can only be decoded from its beginning.
 */

/** A gap without screen changes longer than this is shortened when idle skipping is on. */
const IDLE_GAP_MS = 2000;
/** What an idle gap is shortened to. */
const SKIPPED_GAP_MS = 300;

/** What noVNC needs of a WebSocket; what the viewer sends goes nowhere (there is no server). */
class RecordingChannel {
  binaryType = "arraybuffer";
  protocol = "";
  readyState = "open";
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  send(_data: unknown): void {}

  close(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.onclose?.({ code: 1000, reason: "", wasClean: true });
  }

  push(bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.slice().buffer });
  }
}

export interface Pointer {
  x: number;
  y: number;
  mask: number;
}

export interface ReplayState {
  positionMs: number;
  durationMs: number;
  playing: boolean;
  pointer: Pointer | null;
}

/** Reads an uncompressed desktop segment (`unpackSegment` checked it against the audit chain). */
export function openSegment(plain: Uint8Array): { records: RecordingRecord[]; truncated: boolean } {
  const { records, truncated } = decodeRecording(plain);
  return { records, truncated };
}

export class ReplayEngine {
  private rfb: RFB | null = null;
  private channel: RecordingChannel | null = null;
  /** Next record to deliver. */
  private index = 0;
  private position = 0;
  private timer: number | null = null;
  private lastTick = 0;
  private pointer: Pointer | null = null;
  speed = 1;
  skipIdle = true;
  readonly durationMs: number;

  constructor(
    private readonly screen: HTMLElement,
    private readonly records: RecordingRecord[],
    private readonly onChange: (state: ReplayState) => void,
  ) {
    this.durationMs = records.at(-1)?.at ?? 0;
    this.restart();
  }

  get playing(): boolean {
    return this.timer !== null;
  }

  play(): void {
    if (this.timer !== null) return;
    if (this.position >= this.durationMs) this.seek(0);
    this.lastTick = performance.now();
    this.timer = window.setInterval(() => this.tick(), 40);
    this.emit();
  }

  pause(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
    this.emit();
  }

  /** Jumps to `ms` (back: a fresh decoder fast-forwarded from the start). */
  seek(ms: number): void {
    const target = Math.max(0, Math.min(this.durationMs, ms));
    if (target < this.position) this.restart();
    this.deliverUntil(target);
    this.position = target;
    this.emit();
  }

  destroy(): void {
    this.pause();
    this.rfb?.disconnect();
    this.rfb = null;
    this.channel = null;
  }

  private restart() {
    this.rfb?.disconnect();
    const channel = new RecordingChannel();
    const rfb = new RFB(this.screen, channel as unknown as WebSocket, { shared: true });
    rfb.viewOnly = true;
    rfb.scaleViewport = true;
    rfb.clipViewport = false;
    rfb.resizeSession = false;
    rfb.focusOnClick = false;
    rfb.background = "rgb(10, 10, 10)";
    this.rfb = rfb;
    this.channel = channel;
    this.index = 0;
    this.position = 0;
    this.pointer = null;
  }

  private tick() {
    const now = performance.now();
    let next = this.position + (now - this.lastTick) * this.speed;
    this.lastTick = now;
    const upcoming = this.records[this.index];
    if (this.skipIdle && upcoming !== undefined && upcoming.at - this.position > IDLE_GAP_MS) {
      next = Math.max(next, upcoming.at - SKIPPED_GAP_MS);
    }
    this.deliverUntil(next);
    this.position = Math.min(next, this.durationMs);
    if (this.position >= this.durationMs) this.pause();
    else this.emit();
  }

  private deliverUntil(ms: number) {
    const channel = this.channel;
    if (channel === null) return;
    for (; this.index < this.records.length; this.index++) {
      const record = this.records[this.index];
      if (record === undefined || record.at > ms) break;
      if (record.kind === "server") channel.push(record.bytes);
      else this.pointer = { x: record.x, y: record.y, mask: record.mask };
    }
  }

  private emit() {
    this.onChange({
      positionMs: this.position,
      durationMs: this.durationMs,
      playing: this.timer !== null,
      pointer: this.pointer,
    });
  }
}
