import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The built front end (web/dist), two levels above this file in both src/ and dist/. */
export const webDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

interface ManifestEntry {
  file: string;
  css?: string[];
  imports?: string[];
}

let manifest: Record<string, ManifestEntry> | null = null;

function loadManifest(): Record<string, ManifestEntry> {
  if (manifest) return manifest;
  const file = path.join(webDist, '.vite', 'manifest.json');
  if (!existsSync(file)) throw new Error(`the front end is not built (${file} is missing): run npm run build`);
  manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ManifestEntry>;
  return manifest;
}

/** `<script>` and `<link>` tags of a front-end entry (`dashboard`, `talk` or `replay`), with their hashed names. */
export function assetTags(entry: 'dashboard' | 'talk' | 'replay'): string {
  const all = loadManifest();
  const key = `src/${entry}/main.tsx`;
  const root = all[key];
  if (!root) throw new Error(`no front-end entry ${key} in the manifest`);
  const css = new Set<string>();
  const preload = new Set<string>();
  const visit = (e: ManifestEntry) => {
    for (const c of e.css ?? []) css.add(c);
    for (const i of e.imports ?? []) {
      const dep = all[i];
      if (!dep) continue;
      preload.add(dep.file);
      visit(dep);
    }
  };
  visit(root);
  return [
    ...[...css].map((c) => `<link rel="stylesheet" href="/assets/${c.replace(/^assets\//, '')}">`),
    ...[...preload].map((f) => `<link rel="modulepreload" href="/assets/${f.replace(/^assets\//, '')}">`),
    `<script type="module" src="/assets/${root.file.replace(/^assets\//, '')}"></script>`,
  ].join('\n');
}

/** Serves web/dist/assets at /assets/ (immutable, hashed names). */
export async function serveAssets(app: FastifyInstance) {
  if (!existsSync(path.join(webDist, 'assets'))) {
    app.log.warn('the front end is not built (web/dist is missing): run npm run build');
    return;
  }
  await app.register(fastifyStatic, {
    root: path.join(webDist, 'assets'),
    prefix: '/assets/',
    immutable: true,
    maxAge: '365d',
    wildcard: true,
  });
}
