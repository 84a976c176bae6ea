/** Polls until `check` returns a value (not undefined), or fails with what it saw last. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not reached in ${timeoutMs} ms${last === undefined ? "" : `: ${String(last)}`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
