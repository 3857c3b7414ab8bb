#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('portcullis: dist/ is missing — run `npm ci` (or `npm run build`) in the repository first.');
  process.exit(1);
}
await import(entry.href);
