#!/usr/bin/env node
// The `smalltalk` command: runs the compiled CLI (npm run build), or the sources through tsx in a checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const compiled = path.join(root, 'dist', 'cli.js');
let mod;
if (existsSync(compiled)) {
  mod = await import(pathToFileURL(compiled).href);
} else {
  await import('tsx/esm');
  mod = await import(pathToFileURL(path.join(root, 'src', 'cli.ts')).href);
}
const code = await mod.main(process.argv.slice(2));
if (code >= 0) process.exit(code);
