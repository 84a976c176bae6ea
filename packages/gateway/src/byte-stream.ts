/**
 * Bytes arriving in chunks, read in exact lengths: what a handshake needs from a WebSocket (one
 * message may hold part of a field or several) and from a socket alike.
 */
export class ByteStream {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { need: number; resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | null =
    null;
  private failure: Error | null = null;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  }

  /** Fails the pending and every later read (the other side went away). */
  fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(this.failure);
  }

  read(count: number): Promise<Buffer> {
    if (this.waiter !== null) return Promise.reject(new Error("one read at a time"));
    if (this.length >= count) return Promise.resolve(this.take(count));
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { need: count, resolve, reject };
    });
  }

  /** Whatever arrived beyond the handshake, handed over to the relay. */
  drain(): Buffer {
    return this.take(this.length);
  }

  private wake() {
    if (this.waiter === null || this.length < this.waiter.need) return;
    const { need, resolve } = this.waiter;
    this.waiter = null;
    resolve(this.take(need));
  }

  private take(count: number): Buffer {
    const all =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    const taken = all.subarray(0, count);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return taken;
  }
}
