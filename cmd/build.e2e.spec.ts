// `npm run build` yields plain JavaScript that runs without tsx. Method: compile with the build
// config into a temp dir, then run the compiled CLI as a child process.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'edgehive-build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('compiles to JS whose CLI runs under plain node', () => {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'dist')], { stdio: 'pipe' });
  // The compiled tree resolves its dependencies as an installed package would.
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  symlinkSync(join(root, 'package.json'), join(out, 'package.json'));
  const help = spawnSync(process.execPath, [join(out, 'dist/cmd/main.js'), '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('replay [options] <journal>');
  const missing = spawnSync(process.execPath, [join(out, 'dist/cmd/main.js'), 'replay', join(out, 'none.db')], { encoding: 'utf8' });
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('does not exist');
});
