#!/usr/bin/env node
// `npm run bench -- <suite> [options]`: runs a benchmark suite from bench/dist
// (built by the root `npm install`), prints a table and merges its figures
// into bench/results/latest.json.
import { existsSync } from 'node:fs';
const main = new URL('./dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('bench: not built; run `npm install` (or `npx tsc -b`) first');
  process.exit(2);
}
await import(main.href);
