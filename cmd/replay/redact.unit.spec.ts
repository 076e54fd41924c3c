// Redaction of secret values in replay output. Method: given values that hold secrets at various
// depths, when redacted, then every secret value is replaced and nothing else changes.
import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('replaces the values of a Secret, keeps its keys and metadata', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: 'YWRh', pass: 'c2VjcmV0' }, stringData: { extra: 'plain' } };
    expect(redactSecrets(secret)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      data: { user: '<redacted>', pass: '<redacted>' },
      stringData: { extra: '<redacted>' },
    });
  });

  it('finds Secrets nested in event data and secret-named fields anywhere', () => {
    const event = { object: { kind: 'Secret', data: { k: 'v' } }, list: [{ password: 'hunter2' }], token: 'abc', plain: 'visible' };
    expect(redactSecrets(event)).toEqual({
      object: { kind: 'Secret', data: { k: '<redacted>' } },
      list: [{ password: '<redacted>' }],
      token: '<redacted>',
      plain: 'visible',
    });
  });

  it('leaves ConfigMap data alone', () => {
    const configMap = { kind: 'ConfigMap', data: { mode: 'fast' } };
    expect(redactSecrets(configMap)).toEqual(configMap);
  });
});
