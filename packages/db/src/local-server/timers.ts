/* Timers of the launcher. */

export function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** A timer for races that does not keep the process alive on its own. */
export function grace(ms: number): Promise<false> {
  return new Promise((done) => setTimeout(() => done(false), ms).unref());
}
