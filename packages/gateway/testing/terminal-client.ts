import { type GatewayNotice, gatewaySubprotocols, parseGatewayNotice } from "@neosc/core/connection";
import { encodeTerminalInput, encodeTerminalPaste, encodeTerminalResize } from "@neosc/core/terminal";
import { WebSocket } from "ws";

/** A terminal viewer over the gateway's WebSocket, as the portal's xterm.js viewer speaks it. */
export class TerminalTestClient {
  /** Every output byte so far, as text. */
  output = "";
  /** The gateway's notices so far (text messages, never part of the output). */
  readonly notices: (GatewayNotice & { receivedAt: number; afterOutput: number })[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { pattern: RegExp; from: number; resolve: (match: RegExpMatchArray) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const notice = parseGatewayNotice(data.toString("utf8"));
        // `afterOutput`: how much output came before it (a notice's place in the stream).
        if (notice !== null)
          this.notices.push({ ...notice, receivedAt: Date.now(), afterOutput: this.output.length });
        return;
      }
      this.output += data.toString("utf8");
      this.waiters = this.waiters.filter((waiter) => {
        const match = this.output.slice(waiter.from).match(waiter.pattern);
        if (match) waiter.resolve(match);
        return !match;
      });
    });
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  static open(
    url: string,
    options: { ticket: string; origin: string; cookie: string },
  ): Promise<TerminalTestClient> {
    const ws = new WebSocket(url, gatewaySubprotocols(options.ticket), {
      origin: options.origin,
      headers: { cookie: options.cookie },
    });
    const client = new TerminalTestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  type(text: string): void {
    this.ws.send(encodeTerminalInput(text));
  }

  paste(text: string): void {
    this.ws.send(encodeTerminalPaste(text));
  }

  resize(cols: number, rows: number): void {
    this.ws.send(encodeTerminalResize(cols, rows));
  }

  send(bytes: Uint8Array | number[]): void {
    this.ws.send(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /** Output matching `pattern` that arrives after `from` (default: anything so far). */
  waitFor(pattern: RegExp, { from = 0, timeoutMs = 10_000 } = {}): Promise<RegExpMatchArray> {
    const match = this.output.slice(from).match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`no ${pattern} in terminal output: ${JSON.stringify(this.output.slice(-500))}`)),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        from,
        resolve: (found) => {
          clearTimeout(timer);
          resolve(found);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
