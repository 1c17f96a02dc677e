import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/platform/db/index.js';
import type { Config } from '../../src/platform/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MIGRATIONS = path.join(ROOT, 'src', 'platform', 'db', 'migrations');

let cached: Promise<Blob> | null = null;

/**
 * A migrated, empty PGlite database that every in-memory test app opens a copy of. Creating an
 * empty PGlite database (its initdb, in WebAssembly) is most of an app's start-up: about 3 times
 * what opening a copy takes (measured in docs/benchmarks.md, "Test start-up"). The snapshot is
 * kept in the temp directory under a name made of the migrations' text and PGlite's version, so
 * every test process of a run shares one, and a changed migration makes a new one.
 */
export function pgliteSnapshot(config: Config): Promise<Blob> {
  cached ??= load(config).catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function load(config: Config): Promise<Blob> {
  const file = path.join(os.tmpdir(), `smalltalk-test-pglite-${snapshotKey()}.tar`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const db = await openDatabase(config, { inMemory: true });
  try {
    await migrate(db.db, 'public');
    const snapshot = await (db.snapshot as () => Promise<Blob>)();
    // Written aside and renamed: a test process running beside this one never reads half a file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, Buffer.from(await snapshot.arrayBuffer()));
    renameSync(partial, file);
    return snapshot;
  } finally {
    await db.close();
  }
}

function snapshotKey(): string {
  const hash = createHash('sha256');
  const pglite = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string };
  hash.update(pglite.version);
  for (const name of readdirSync(MIGRATIONS).sort()) hash.update(name).update(readFileSync(path.join(MIGRATIONS, name)));
  return hash.digest('hex').slice(0, 16);
}
