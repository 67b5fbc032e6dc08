// Polling helpers for tests that wait on another process (a daemon, the kernel): wait for a
// condition, never for a fixed time.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `what` and the last value on timeout. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms: ${what} (last: ${String(last)})`);
    await sleep(intervalMs);
  }
}
