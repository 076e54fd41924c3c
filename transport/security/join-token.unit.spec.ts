// Join tokens against the in-memory store. Method: time is a plain number passed in, so expiry is
// checked exactly at its boundary; every refusal kind is produced by the input that should cause it;
// the stored records are inspected to show the secret never lands in them.
import { describe, expect, it } from 'vitest';
import { issueCaCertificate } from '../../k8s/tls/certificate.issue.js';
import {
  EXPIRED_TOKEN_KEPT_MS,
  JOIN_TOKEN_PATTERN,
  JOIN_TOKEN_TTL_MS_DEFAULT,
  JOIN_TOKENS_MAX,
  type JoinTokenRecord,
  type JoinTokenStore,
  caCertificateSha256,
  inMemoryJoinTokenStore,
  joinTokenAuthority,
  parseJoinToken,
} from './join-token.js';

const NOW = Date.UTC(2025, 0, 1);
const HOUR_MS = 60 * 60 * 1000;

const caPem = (await issueCaCertificate({ commonName: 'test-ca', validityDays: 30, nowMs: NOW })).certPem;
const otherCaPem = (await issueCaCertificate({ commonName: 'other-ca', validityDays: 30, nowMs: NOW })).certPem;

function recordingStore(): JoinTokenStore & { records(): readonly JoinTokenRecord[] } {
  const inner = inMemoryJoinTokenStore();
  let last: readonly JoinTokenRecord[] = [];
  return {
    read: () => inner.read(),
    write: async (records) => {
      last = records;
      return inner.write(records);
    },
    records: () => last,
  };
}

async function created(tokens: ReturnType<typeof joinTokenAuthority>, options: { nowMs: number; ttlMs?: number }): Promise<string> {
  const result = await tokens.createJoinToken(options);
  if (!result.ok) throw new Error(`expected a token, got ${result.error.kind}: ${result.error.message}`);
  return result.value.token;
}

describe('a created token', () => {
  it('has the documented shape, carries the CA hash, and verifies until just before its expiry', async () => {
    const tokens = joinTokenAuthority({ store: inMemoryJoinTokenStore(), caCertPem: caPem });
    const token = await created(tokens, { nowMs: NOW });
    expect(token).toMatch(JOIN_TOKEN_PATTERN);
    expect(token.split('.')[2]).toBe(caCertificateSha256(caPem));
    expect(tokens.caSha256).toBe(caCertificateSha256(caPem));
    const verified = await tokens.verifyJoinToken(token, NOW + JOIN_TOKEN_TTL_MS_DEFAULT - 1);
    expect(verified).toEqual({ ok: true, value: { id: token.slice(0, 6), expiresAtMs: NOW + JOIN_TOKEN_TTL_MS_DEFAULT } });
  });

  it('is kept as a hash: the stored record holds neither the secret nor the token', async () => {
    const store = recordingStore();
    const tokens = joinTokenAuthority({ store, caCertPem: caPem });
    const token = await created(tokens, { nowMs: NOW });
    const secret = token.split('.')[1] ?? '';
    const serialized = JSON.stringify(store.records());
    expect(store.records()).toHaveLength(1);
    expect(serialized).not.toContain(secret);
    expect(store.records()[0]?.secretSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes a configurable ttl and refuses one outside 1 minute to 30 days', async () => {
    const tokens = joinTokenAuthority({ store: inMemoryJoinTokenStore(), caCertPem: caPem });
    const token = await created(tokens, { nowMs: NOW, ttlMs: HOUR_MS });
    expect((await tokens.verifyJoinToken(token, NOW + HOUR_MS - 1)).ok).toBe(true);
    expect((await tokens.verifyJoinToken(token, NOW + HOUR_MS)).ok).toBe(false);
    for (const ttlMs of [0, 59_999, 31 * 24 * HOUR_MS, 1.5 * HOUR_MS + 0.5]) {
      const refused = await tokens.createJoinToken({ nowMs: NOW, ttlMs });
      expect(refused.ok ? 'created' : refused.error.kind).toBe('TokenTtlInvalid');
    }
  });

  it('gets a fresh id and secret each time', async () => {
    const tokens = joinTokenAuthority({ store: inMemoryJoinTokenStore(), caCertPem: caPem });
    const all = await Promise.all(Array.from({ length: 20 }, () => created(tokens, { nowMs: NOW })));
    expect(new Set(all.map((token) => token.slice(0, 6))).size).toBe(20);
    expect(new Set(all.map((token) => token.split('.')[1])).size).toBe(20);
    // Concurrent creates are serialised, so none of the 20 records was lost to a read-modify-write race.
    for (const token of all) expect((await tokens.verifyJoinToken(token, NOW)).ok).toBe(true);
  });
});

describe('verifyJoinToken refuses', () => {
  const tokens = joinTokenAuthority({ store: inMemoryJoinTokenStore(), caCertPem: caPem });

  it.each([
    ['an empty string', ''],
    ['a kubeadm token without the CA hash', 'abcdef.0123456789abcdef'],
    ['uppercase characters', `ABCDEF.${'a'.repeat(32)}.${'0'.repeat(64)}`],
    ['a short secret', `abcdef.${'a'.repeat(31)}.${'0'.repeat(64)}`],
    ['trailing whitespace', `abcdef.${'a'.repeat(32)}.${'0'.repeat(64)} `],
    ['a very long string', 'a'.repeat(100_000)],
  ])('%s as TokenMalformed', async (_label, token) => {
    const result = await tokens.verifyJoinToken(token, NOW);
    expect(result.ok ? 'verified' : result.error.kind).toBe('TokenMalformed');
  });

  it('a well-formed token that was never created as TokenUnknown', async () => {
    const result = await tokens.verifyJoinToken(`abcdef.${'a'.repeat(32)}.${tokens.caSha256}`, NOW);
    expect(result.ok ? 'verified' : result.error.kind).toBe('TokenUnknown');
  });

  it('a known id with a wrong secret as TokenUnknown, without echoing the secret', async () => {
    const token = await created(tokens, { nowMs: NOW });
    const [id, , hash] = token.split('.');
    const guess = 'z'.repeat(32);
    const result = await tokens.verifyJoinToken(`${id}.${guess}.${hash}`, NOW);
    expect(result.ok ? 'verified' : result.error.kind).toBe('TokenUnknown');
    expect(result.ok ? '' : result.error.message).not.toContain(guess);
  });

  it('a real token presented to a cloud with another CA as TokenUnknown', async () => {
    const token = await created(tokens, { nowMs: NOW });
    const elsewhere = joinTokenAuthority({ store: inMemoryJoinTokenStore(), caCertPem: otherCaPem });
    const result = await elsewhere.verifyJoinToken(token, NOW);
    expect(result.ok ? 'verified' : result.error.message).toContain('another cluster CA');
  });

  it('an expired token as TokenExpired, from the expiry instant on, with the time in the message', async () => {
    const token = await created(tokens, { nowMs: NOW, ttlMs: HOUR_MS });
    const result = await tokens.verifyJoinToken(token, NOW + HOUR_MS);
    expect(result).toMatchObject({ ok: false, error: { kind: 'TokenExpired', expiredAtMs: NOW + HOUR_MS } });
    expect(result.ok ? '' : result.error.message).toContain(new Date(NOW + HOUR_MS).toISOString());
  });
});

describe('the store', () => {
  it('keeps expired records for a while (so edges hear "expired"), then prunes them on create', async () => {
    const store = recordingStore();
    const tokens = joinTokenAuthority({ store, caCertPem: caPem });
    const old = await created(tokens, { nowMs: NOW, ttlMs: HOUR_MS });
    const prunedAt = NOW + HOUR_MS + EXPIRED_TOKEN_KEPT_MS;
    await created(tokens, { nowMs: prunedAt - 1 });
    expect(store.records()).toHaveLength(2);
    await created(tokens, { nowMs: prunedAt });
    expect(store.records().map((record) => record.id)).not.toContain(old.slice(0, 6));
    const result = await tokens.verifyJoinToken(old, prunedAt);
    expect(result.ok ? 'verified' : result.error.kind).toBe('TokenUnknown');
  });

  it(`refuses a ${JOIN_TOKENS_MAX + 1}st live token`, async () => {
    const full: JoinTokenRecord[] = Array.from({ length: JOIN_TOKENS_MAX }, (_, index) => ({
      id: index.toString(36).padStart(6, '0'),
      secretSha256: '0'.repeat(64),
      createdAtMs: NOW,
      expiresAtMs: NOW + HOUR_MS,
    }));
    const tokens = joinTokenAuthority({ store: inMemoryJoinTokenStore(full), caCertPem: caPem });
    const result = await tokens.createJoinToken({ nowMs: NOW });
    expect(result.ok ? 'created' : result.error.kind).toBe('TokenStoreFull');
  });
});

describe('parseJoinToken', () => {
  it('splits a token into id, secret and CA hash', () => {
    const token = `k3x9qa.${'b'.repeat(32)}.${'c'.repeat(64)}`;
    expect(parseJoinToken(token)).toEqual({ ok: true, value: { id: 'k3x9qa', secret: 'b'.repeat(32), caSha256: 'c'.repeat(64) } });
    expect(parseJoinToken(42).ok).toBe(false);
  });
});
