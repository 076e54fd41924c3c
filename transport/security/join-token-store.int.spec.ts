// The join-token file and `createJoinTokenInDataDir` against a real temp folder. Method: write
// through one authority, read through a fresh one (as the cloud process reads what
// `edgehive token create` wrote), and inspect the file's mode and bytes directly.
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueCaCertificate } from '../../k8s/tls/certificate.issue.js';
import { JOIN_TOKEN_PATTERN, joinTokenAuthority } from './join-token.js';
import { createJoinTokenInDataDir } from './join-token.data-dir.js';
import { JOIN_TOKENS_FILE_NAME, fileJoinTokenStore, joinTokensPath } from './join-token-store.fs.js';
import { expectOk } from './security.testing.js';

let dir: string;
const NOW = Date.now();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgehive-tokens-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fileJoinTokenStore', () => {
  it('writes an owner-only file holding hashes, which a fresh reader verifies against', async () => {
    const caCertPem = (await issueCaCertificate({ commonName: 'ca', validityDays: 1, nowMs: NOW })).certPem;
    const writer = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dir)), caCertPem });
    const { token } = expectOk(await writer.createJoinToken({ nowMs: NOW }), 'token');
    const path = join(dir, JOIN_TOKENS_FILE_NAME);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(token.split('.')[1]);
    expect(JSON.parse(text)).toMatchObject({ version: 1, tokens: [{ id: token.slice(0, 6) }] });
    const reader = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dir)), caCertPem });
    expect(await reader.verifyJoinToken(token, NOW)).toMatchObject({ ok: true, value: { id: token.slice(0, 6) } });
  });

  it('reports a damaged file as TokenStoreFailed instead of accepting or dropping tokens', async () => {
    const caCertPem = (await issueCaCertificate({ commonName: 'ca', validityDays: 1, nowMs: NOW })).certPem;
    const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dir)), caCertPem });
    const anyToken = `abcdef.${'a'.repeat(32)}.${tokens.caSha256}`;
    for (const content of ['{not json', '{"version":2,"tokens":[]}', '{"version":1,"tokens":[{"id":"abcdef"}]}']) {
      await writeFile(joinTokensPath(dir), content);
      const verified = await tokens.verifyJoinToken(anyToken, NOW);
      expect(verified.ok ? 'verified' : verified.error.kind).toBe('TokenStoreFailed');
      const created = await tokens.createJoinToken({ nowMs: NOW });
      expect(created.ok ? 'created' : created.error.kind).toBe('TokenStoreFailed');
    }
  });
});

describe('createJoinTokenInDataDir', () => {
  it('creates the PKI on first use and pins its CA; a second call reuses that CA', async () => {
    const first = expectOk(await createJoinTokenInDataDir(dir, { nowMs: NOW }), 'token');
    expect(first.token).toMatch(JOIN_TOKEN_PATTERN);
    const caPem = await readFile(join(dir, 'pki', 'ca.crt'), 'utf8');
    const caSha256 = createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
    expect(first.caSha256).toBe(caSha256);
    const second = expectOk(await createJoinTokenInDataDir(dir, { nowMs: NOW, ttlMs: 60 * 60 * 1000 }), 'token');
    expect(second.caSha256).toBe(caSha256);
    expect(second.id).not.toBe(first.id);
    expect(second.expiresAtMs).toBe(NOW + 60 * 60 * 1000);
  });

  it('refuses a damaged CA rather than replacing it', async () => {
    expectOk(await createJoinTokenInDataDir(dir, { nowMs: NOW }), 'token');
    await writeFile(join(dir, 'pki', 'ca.crt'), 'garbage');
    const result = await createJoinTokenInDataDir(dir, { nowMs: NOW });
    expect(result.ok ? 'created' : result.error.kind).toBe('PkiUnavailable');
    expect(await readFile(join(dir, 'pki', 'ca.crt'), 'utf8')).toBe('garbage');
  });
});
