import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The import rules of docs/architecture.md, checked on the source: `platform/` imports no feature,
 * no feature imports another's repository or reaches through another's service to its `.repo`,
 * and the import graph has no circles beyond the ones still listed below (each to be removed by the
 * redesign; the test also fails when a listed one has gone, so the list only shrinks).
 */
const SRC = path.resolve(import.meta.dirname);

/**
 * Files still in the one import circle left: services.ts both declares `Services` (what features
 * take) and installs the features (features.ts), which import that type back. Issue 17, item 1.
 * (reminders/ and replays/ were written on the same installer pattern in parallel with this test.)
 */
const KNOWN_CIRCLES = new Set<string>([
  'captions/captioner.ts',
  'captions/feature.ts',
  'captions/routes.ts',
  'dashboard/feature.ts',
  'dashboard/participants.ts',
  'dashboard/routes.ts',
  'features.ts',
  'recordings/feature.ts',
  'recordings/recorder.ts',
  'reminders/feature.ts',
  'replays/feature.ts',
  'replays/page.ts',
  'rooms/index.ts',
  'rooms/routes.ts',
  'rooms/signalling.ts',
  'services.ts',
  'webhooks/index.ts',
]);

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

test('the import graph has no circles (beyond the known ones, which only shrink)', () => {
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
  const inCircles = new Set(circles.flat());
  const added = [...inCircles].filter((f) => !KNOWN_CIRCLES.has(f)).sort();
  const gone = [...KNOWN_CIRCLES].filter((f) => !inCircles.has(f)).sort();
  assert.deepEqual(added, [], `new files in an import circle:\n${circles.map((c) => c.join(', ')).join('\n')}`);
  assert.deepEqual(gone, [], 'these files are no longer in a circle: remove them from KNOWN_CIRCLES');
});
