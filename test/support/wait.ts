/** Waits until `check` returns a truthy value (polling an observable state, not guessing a delay). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Until the instant `at` (an expiry the server stated) has passed on this clock, and a millisecond more. */
export async function untilPast(at: string | number | Date): Promise<void> {
  const ms = new Date(at).getTime() - Date.now();
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${String(at)}`);
  if (ms >= 0) await new Promise((r) => setTimeout(r, ms + 1));
}
