// Method: given a stored object, when a JSON patch (RFC 6902) is applied, then either the patched
// document or the typed error, with the Status code kube-apiserver v1.32 answers, comes back.
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../kernel/index.js';
import { applyJsonPatch, jsonPatchOperationsMax } from './json-patch.js';
import { patchErrorStatus, unprocessablePatchMessage, type PatchError } from './patch.errors.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.14' }] } } },
};

const failure = (patch: JsonValue): PatchError => {
  const result = applyJsonPatch(deployment, patch);
  if (result.ok) throw new Error('expected a failure');
  return result.error;
};

describe('given a deployment', () => {
  it('when kubectl patch --type=json replaces the image then only that image changes', () => {
    const result = applyJsonPatch(deployment, [
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.16' },
    ]);
    expect(result.ok && result.value).toEqual({
      ...deployment,
      spec: { replicas: 1, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.16' }] } } },
    });
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('nginx:1.14');
  });

  it('when a passing test guards an add and a remove then both apply in order', () => {
    const result = applyJsonPatch(deployment, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
      { op: 'remove', path: '/metadata/labels/app' },
    ]);
    expect(result.ok && result.value).toMatchObject({ metadata: { labels: { tier: 'front' } } });
    expect(result.ok && (result.value as typeof deployment).metadata.labels).not.toHaveProperty('app');
  });

  it('when a test operation fails then it is 422 Invalid with the failing path as the cause', () => {
    const error = failure([{ op: 'test', path: '/spec/replicas', value: 3 }]);
    expect(error).toEqual({ kind: 'UnprocessablePatch', message: 'testing value /spec/replicas failed: test failed' });
    expect(patchErrorStatus(error)).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: unprocessablePatchMessage,
      details: { causes: [{ type: 'UnexpectedServerResponse', message: 'testing value /spec/replicas failed: test failed' }] },
    });
  });

  it('when a path does not exist then it is 422 too (servers before 1.14 answered 500)', () => {
    expect(failure([{ op: 'remove', path: '/spec/paused' }]).kind).toBe('UnprocessablePatch');
    expect(failure([{ op: 'replace', path: '/status/x', value: 1 }]).kind).toBe('UnprocessablePatch');
    expect(failure([{ op: 'add', path: '/nope/deeper', value: 1 }]).message).toContain('/nope/deeper');
  });

  it('when an operation is unknown then it is 422', () => {
    expect(failure([{ op: 'frobnicate', path: '/spec' }])).toEqual({ kind: 'UnprocessablePatch', message: 'Unexpected kind: frobnicate' });
  });

  it('when the body is not a list of operations then it is 400 BadRequest', () => {
    const error = failure({ op: 'add', path: '/a', value: 1 });
    expect(error.kind).toBe('InvalidPatch');
    expect(patchErrorStatus(error)).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('when there are more operations than kube-apiserver allows then it is 413', () => {
    const ops = Array.from({ length: jsonPatchOperationsMax + 1 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
    const error = failure(ops);
    expect(patchErrorStatus(error)).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge' });
  });
});
