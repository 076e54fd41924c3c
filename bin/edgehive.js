#!/usr/bin/env node
// Runs the edgehive CLI: straight from TypeScript via tsx in a source checkout (no build step after
// `npm ci`), or from the compiled `dist/` that `npm run build` produces when the sources are absent.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../cmd/main.ts', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(new URL('../dist/cmd/main.js', import.meta.url).href);
}
