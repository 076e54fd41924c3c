// `edgehive token create` as a user runs it. Method: given an empty data dir, when the real CLI runs,
// then the last stdout line is the token alone, in the documented format, pinning the CA it created
// in <dir>/pki, and the token file holds only its hash; a bad --ttl is a clear error with exit 1.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runCli } from '../replay/cli-harness.testing.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-token-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('prints a join token alone on the last line, pinning the CA of the data dir; a bad --ttl is exit 1', async () => {
  const dataDir = join(dir, 'data');
  const [created, badTtl] = await Promise.all([
    runCli(['token', 'create', '--data-dir', dataDir, '--ttl', '2h']),
    runCli(['token', 'create', '--data-dir', join(dir, 'other'), '--ttl', 'soon']),
  ]);
  expect(created.code).toBe(0);
  const lines = created.stdout.trimEnd().split('\n');
  const token = lines.at(-1) ?? '';
  expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{32}\.[0-9a-f]{64}$/);
  const [id = '', secret = '', caHash = ''] = token.split('.');
  const ca = new X509Certificate(readFileSync(join(dataDir, 'pki', 'ca.crt')));
  expect(caHash).toBe(createHash('sha256').update(ca.raw).digest('hex'));
  const validUntil = /valid until (\S+);/.exec(lines[0] ?? '')?.[1] ?? '';
  expect(Date.parse(validUntil) - Date.now()).toBeGreaterThan(110 * 60_000);
  expect(Date.parse(validUntil) - Date.now()).toBeLessThanOrEqual(120 * 60_000);

  const tokensFile = join(dataDir, 'join-tokens.json');
  expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
  const stored = readFileSync(tokensFile, 'utf8');
  expect(stored).toContain(id);
  expect(stored).not.toContain(secret);

  expect(badTtl.code).toBe(1);
  expect(badTtl.stderr).toContain("edgehive token create: --ttl takes a duration such as 30m, 1h, 7d or 1h30m, not 'soon'");
  expect(badTtl.stdout).toBe('');
});
