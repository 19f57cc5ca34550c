#!/usr/bin/env node
// The `meshlog` command. The TypeScript sources compile to ../dist during the root
// `npm install` (the workspace's `prepare` script runs `tsc -b`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('meshlog: not built yet; run `npm install` (or `npm run build`) at the repository root\n');
  process.exit(2);
}
await import(main.href);
