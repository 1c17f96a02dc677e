/**
 * How long an in-memory PGlite app takes to build (createServices: database, migrations, every
 * feature), from an empty database and from a copy of a migrated snapshot (what the tests do,
 * test/support/pglite-snapshot.ts). Alternates the two, so both see the same machine.
 *   npx tsx bench/startup/run.ts [rounds=5]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeServices, createServices } from '../../src/compose.js';
import { loadConfig } from '../../src/platform/config.js';
import { migrate, openDatabase } from '../../src/platform/db/index.js';

const rounds = Number(process.argv[2] ?? 5);
const config = loadConfig({
  DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'smalltalk-bench-startup-')),
  SECRET_KEY: 'bench-secret-key-0123456789abcdefghijklmnop',
  LOG_LEVEL: 'silent',
  PUBLIC_URL: 'http://127.0.0.1:1',
});

const seed = await openDatabase(config, { inMemory: true });
await migrate(seed.db, 'public');
const snapshot = await (seed.snapshot as () => Promise<Blob>)();
await seed.close();

const timed = async (fromSnapshot?: Blob) => {
  const started = performance.now();
  const services = await createServices(config, { inMemory: true, fromSnapshot });
  const ms = performance.now() - started;
  await closeServices(services);
  return ms;
};
const empty: number[] = [];
const copied: number[] = [];
for (let i = 0; i < rounds; i++) {
  empty.push(await timed());
  copied.push(await timed(snapshot));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`load ${os.loadavg()[0].toFixed(1)}, ${os.cpus().length} cores, ${rounds} rounds, snapshot ${(snapshot.size / 1e6).toFixed(1)} MB`);
console.log(`from an empty database: median ${median(empty).toFixed(0)} ms`);
console.log(`from the migrated snapshot: median ${median(copied).toFixed(0)} ms`);
console.log(`ratio snapshot / empty: ${(median(copied) / median(empty)).toFixed(2)}`);
