// launchOf, given/when/then: given a Pod and the ConfigMaps and Secrets the edge holds, the launch
// carries the env and volume files the kubelet would give the container, and whatever is missing
// is a CreateContainerConfigError with the kubelet's wording.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { launchOf, quantityBytes, type HeldObjects } from './container-launch.js';

const held: HeldObjects = {
  configMap: (namespace, name) => (namespace === 'shop' && name === 'settings' ? { metadata: { name }, data: { MODE: 'eco', LEVEL: '3' } } : undefined),
  secret: (namespace, name) => (namespace === 'shop' && name === 'creds' ? { metadata: { name }, data: { token: Buffer.from('s3cret').toString('base64') } } : undefined),
};

const podWith = (container: JsonObject, volumes: JsonObject[] = []): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: 'u-1', labels: { app: 'web' } },
  spec: { nodeName: 'edge-1', volumes, containers: [{ name: 'app', command: ['node'], args: ['server.js'], ...container }] },
});

describe('launchOf', () => {
  it('resolves env values, ConfigMap and Secret keys, envFrom with a prefix, and fields of the pod', () => {
    const pod = podWith({
      envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
      env: [
        { name: 'PLAIN', value: 'x' },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
        { name: 'MAYBE', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      ],
      workingDir: '/srv',
      resources: { limits: { memory: '64Mi' } },
    });
    const launch = launchOf(pod, 'app', 'run-1', held, '192.0.2.7');
    expect(launch).toEqual({
      ok: true,
      value: {
        pod: { namespace: 'shop', name: 'web', uid: 'u-1' },
        container: 'app',
        runId: 'run-1',
        command: ['node'],
        args: ['server.js'],
        env: [
          { name: 'CFG_MODE', value: 'eco' },
          { name: 'CFG_LEVEL', value: '3' },
          { name: 'PLAIN', value: 'x' },
          { name: 'TOKEN', value: 's3cret' },
          { name: 'MODE', value: 'eco' },
          { name: 'POD', value: 'web' },
          { name: 'IP', value: '192.0.2.7' },
          { name: 'APP', value: 'web' },
        ],
        workingDir: '/srv',
        volumes: [],
        memoryBytesMax: 64 * 1024 * 1024,
      },
    });
  });

  it('fills configMap, secret (decoded, with items) and emptyDir volumes that the container mounts', () => {
    const pod = podWith({ volumeMounts: [{ name: 'cfg', mountPath: '/etc/app' }, { name: 'sec', mountPath: '/run/secrets' }, { name: 'tmp', mountPath: '/tmp/x' }] }, [
      { name: 'cfg', configMap: { name: 'settings' } },
      { name: 'sec', secret: { secretName: 'creds', items: [{ key: 'token', path: 'api-token' }] } },
      { name: 'tmp', emptyDir: {} },
      { name: 'unmounted', configMap: { name: 'absent' } },
    ]);
    const launch = launchOf(pod, 'app', 'run-1', held, '127.0.0.1');
    expect(launch.ok && launch.value.volumes).toEqual([
      { name: 'cfg', mountPath: '/etc/app', source: { kind: 'configMap', files: [{ key: 'MODE', data: 'eco' }, { key: 'LEVEL', data: '3' }] } },
      { name: 'sec', mountPath: '/run/secrets', source: { kind: 'secret', files: [{ key: 'api-token', data: 's3cret' }] } },
      { name: 'tmp', mountPath: '/tmp/x', source: { kind: 'emptyDir' } },
    ]);
  });

  it('refuses with the kubelet’s CreateContainerConfigError when a ConfigMap, Secret or key is missing, or a volume cannot be served', () => {
    const refusal = (container: JsonObject, volumes: JsonObject[] = []) => launchOf(podWith(container, volumes), 'app', 'r', held, '127.0.0.1');
    expect(refusal({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k' } } }] })).toEqual({ ok: false, error: { reason: 'CreateContainerConfigError', message: 'configmap "absent" not found' } });
    expect(refusal({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }] })).toEqual({ ok: false, error: { reason: 'CreateContainerConfigError', message: "couldn't find key nope in secret shop/creds" } });
    expect(refusal({ envFrom: [{ secretRef: { name: 'gone' } }] })).toMatchObject({ ok: false, error: { message: 'secret "gone" not found' } });
    expect(refusal({ volumeMounts: [{ name: 'host', mountPath: '/x' }] }, [{ name: 'host', hostPath: { path: '/' } }])).toMatchObject({ ok: false, error: { reason: 'CreateContainerConfigError' } });
    expect(refusal({ resources: { limits: { memory: 'lots' } } })).toMatchObject({ ok: false, error: { message: 'resources.limits.memory "lots" is not a quantity' } });
    expect(launchOf(podWith({}), 'sidecar', 'r', held, '127.0.0.1')).toMatchObject({ ok: false, error: { message: 'the pod has no container sidecar' } });
  });
});

describe('quantityBytes', () => {
  it('reads binary and decimal suffixes and exponents, and refuses anything else', () => {
    expect([quantityBytes('64Mi'), quantityBytes('1G'), quantityBytes('128974848'), quantityBytes('129e6'), quantityBytes('1.5Ki')]).toEqual([67108864, 1e9, 128974848, 129e6, 1536]);
    expect([quantityBytes('lots'), quantityBytes('-1Mi'), quantityBytes('0'), quantityBytes('1Xi')]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
