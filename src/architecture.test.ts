import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The import rules of docs/architecture.md, checked on the source: `platform/` imports no feature,
 * no feature imports another's repository or reaches through another's service to its `.repo`,
 * nothing below the root (compose.ts, app.ts and the entry points at the top of src/) imports it, and the
 * import graph has no circles.
 */
const SRC = path.resolve(import.meta.dirname);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const files = sources(SRC).map((f) => path.relative(SRC, f));
const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

/** file → the files of src/ it imports (type-only imports too: they tie the design just the same). */
const graph = new Map<string, string[]>(
  files.map((file) => {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const targets = [...text.matchAll(importRe)]
      .map((m) => path.normalize(path.join(path.dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts'))))
      .filter((t) => !t.startsWith('..'));
    return [file, targets];
  }),
);

const featureOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0] : null); // null: the composition root
const features = new Set(files.map(featureOf).filter((f): f is string => f !== null && f !== 'platform'));

test('platform/ imports no feature and no root file', () => {
  const bad = [...graph].flatMap(([file, targets]) =>
    featureOf(file) === 'platform' ? targets.filter((t) => featureOf(t) !== 'platform').map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(bad, []);
});

test("no feature imports another feature's repository", () => {
  const bad = [...graph].flatMap(([file, targets]) =>
    targets.filter((t) => path.basename(t) === 'repository.ts' && featureOf(t) !== featureOf(file)).map((t) => `${file} → ${t}`),
  );
  assert.deepEqual(bad, []);
});

test("no code reaches through another feature's service to its repository", () => {
  // `talks.repo.x(…)` outside talks/ (the live rooms are the rooms feature's: `live.repo`).
  const owner = (name: string) => (name === 'live' ? 'rooms' : name);
  const bad = files.flatMap((file) => {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    return [...text.matchAll(/\b([a-z]+)\.repo\b/g)]
      .map((m) => owner(m[1]))
      .filter((name) => features.has(name) && name !== featureOf(file))
      .map((name) => `${file} uses ${name}.repo`);
  });
  assert.deepEqual(bad, []);
});

test('the import graph has no circles', () => {
  // Tarjan's strongly connected components: a component of more than one file is a circle.
  let index = 0;
  const stack: string[] = [];
  const meta = new Map<string, { index: number; low: number; onStack: boolean }>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!meta.has(w)) {
        visit(w);
        meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.low);
      } else if (meta.get(w)!.onStack) meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.index);
    }
    if (meta.get(v)!.low === meta.get(v)!.index) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        meta.get(w)!.onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) visit(v);
  assert.deepEqual(circles, [], `files in an import circle:\n${circles.map((c) => c.join(', ')).join('\n')}`);
});

test('only the root and the entry points import the composition root', () => {
  const importers = [...graph].filter(([, targets]) => targets.includes('compose.ts')).map(([file]) => file);
  assert.deepEqual(importers.sort(), ['app.ts', 'cli.ts', 'server.ts']);
});

test('no feature imports the root (the files at the top of src/): each is handed what it needs', () => {
  const bad = [...graph].flatMap(([file, targets]) =>
    featureOf(file) !== null ? targets.filter((t) => featureOf(t) === null).map((t) => `${file} → ${t}`) : [],
  );
  assert.deepEqual(bad, []);
});
