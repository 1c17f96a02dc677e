import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * A CPU profile of this process's main thread over one part of a bench (the joins, say), written to
 * `path` for Chrome's DevTools or `speedscope`: with BENCH_CPU_PROFILE=dir, bench:sfu profiles its
 * server's main thread while the listeners join. Returns the function that stops it and writes the file.
 */
export async function profileMainThread(path: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
  };
}
