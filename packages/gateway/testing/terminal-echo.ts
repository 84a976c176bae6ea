import { encodeTerminalInput } from "@neosc/core/terminal";

/**
 * Keystroke echo latency of a terminal: sends one key, times until the next output arrives
 * (the shell's echo), alternating a letter and backspace so the line stays short. Returns the
 * samples in milliseconds, sorted. Used by bench:terminal and bench:gateway.
 */
export async function measureKeystrokeEcho(
  send: (bytes: Uint8Array) => void,
  onOutput: (listener: () => void) => void,
  keys: number,
): Promise<number[]> {
  let waiting: (() => void) | null = null;
  onOutput(() => {
    const resolve = waiting;
    waiting = null;
    resolve?.();
  });
  const samples: number[] = [];
  for (let i = 0; i < keys; i++) {
    const echoed = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const started = process.hrtime.bigint();
    send(encodeTerminalInput(i % 2 === 0 ? "a" : "\x7f"));
    await echoed;
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    // Let the rest of the echo (backspace is three bytes) arrive before the next key.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return samples.sort((a, b) => a - b);
}
