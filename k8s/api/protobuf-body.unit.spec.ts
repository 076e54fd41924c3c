// Protobuf bodies as kubectl 1.32 sends them. Method: given bytes captured from
// `kubectl create configmap c1 --from-literal=a=b` and `kubectl create namespace n1`, when decoded,
// then the JSON object is what the same command sends as JSON; malformed or unknown bodies are
// refused with a reason, never half-read.
import { describe, expect, it } from 'vitest';
import { decodeProtobufBody } from './protobuf-body.js';

const configMapBody = Buffer.from('6b3873000a0f0a0276311209436f6e6669674d6170121c0a120a02633112001a0022002a0032003800420012060a01611201621a002200', 'hex');
const namespaceBody = Buffer.from('6b3873000a0f0a02763112094e616d657370616365121a0a120a026e3112001a0022002a0032003800420012001a020a001a002200', 'hex');

describe('decoding kubectl protobuf bodies', () => {
  it('reads a ConfigMap', () => {
    expect(decodeProtobufBody(configMapBody)).toEqual({ ok: true, value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: 'b' } } });
  });

  it('reads a Namespace, leaving out the empty spec and status fields', () => {
    expect(decodeProtobufBody(namespaceBody)).toEqual({ ok: true, value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n1' }, spec: {}, status: {} } });
  });

  it('refuses a body without the k8s magic', () => {
    expect(decodeProtobufBody(Buffer.from('{"kind":"ConfigMap"}'))).toEqual({ ok: false, error: 'the body is not a Kubernetes protobuf envelope (no k8s\\0 magic)' });
  });

  it('refuses a truncated body', () => {
    const result = decodeProtobufBody(configMapBody.subarray(0, configMapBody.length - 12));
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/^cannot decode the protobuf body: truncated/);
  });

  it('refuses a field it does not understand instead of dropping it', () => {
    // ConfigMap field 9 (unknown here) with a non-empty string, appended inside the raw object.
    const raw = Buffer.concat([Buffer.from('0a040a026331', 'hex'), Buffer.from('4a0178', 'hex')]);
    const envelope = Buffer.concat([Buffer.from('k8s\u0000', 'binary'), Buffer.from('0a0f0a0276311209436f6e6669674d6170', 'hex'), Buffer.from([0x12, raw.length]), raw]);
    expect(decodeProtobufBody(envelope)).toEqual({ ok: false, error: 'cannot decode the protobuf body: field ConfigMap#9 is not understood by this server' });
  });

  it('names the kinds it reads when another kind arrives', () => {
    const envelope = Buffer.concat([Buffer.from('k8s\u0000', 'binary'), Buffer.from('0a0d0a02763112075365727669636512020a00', 'hex')]);
    expect(decodeProtobufBody(envelope)).toEqual({ ok: false, error: 'protobuf bodies are accepted for ConfigMap, Secret, Namespace, Deployment; send Service as JSON (kubectl create -f / apply -f)' });
  });
});
