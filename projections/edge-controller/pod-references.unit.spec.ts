// podReferences: given pod specs that name ConfigMaps and Secrets in every place Kubernetes allows,
// then exactly those names come back, split by kind; names in other fields never count.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { podReferences } from './pod-references.js';

const podWith = (spec: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec });

describe('podReferences', () => {
  it('finds ConfigMaps and Secrets in volumes, projected volumes, env, envFrom, init containers and imagePullSecrets', () => {
    const refs = podReferences(
      podWith({
        volumes: [
          { name: 'a', configMap: { name: 'cm-volume' } },
          { name: 'b', secret: { secretName: 'secret-volume' } },
          { name: 'c', projected: { sources: [{ configMap: { name: 'cm-projected' } }, { secret: { name: 'secret-projected' } }] } },
          { name: 'd', emptyDir: {} },
        ],
        initContainers: [{ name: 'init', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'secret-init-env', key: 'k' } } }] }],
        containers: [
          {
            name: 'app',
            env: [{ name: 'A', value: 'plain' }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm-env', key: 'k' } } }, { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            envFrom: [{ configMapRef: { name: 'cm-envfrom' } }, { secretRef: { name: 'secret-envfrom' } }],
          },
        ],
        imagePullSecrets: [{ name: 'secret-pull' }],
      }),
    );
    expect([...refs.configMaps].sort()).toEqual(['cm-env', 'cm-envfrom', 'cm-projected', 'cm-volume']);
    expect([...refs.secrets].sort()).toEqual(['secret-envfrom', 'secret-init-env', 'secret-projected', 'secret-pull', 'secret-volume']);
  });

  it('finds nothing in a pod that references nothing, or whose spec is malformed', () => {
    expect(podReferences(podWith({ containers: [{ name: 'app', image: 'x', args: ['cm-volume'] }] }))).toEqual({ configMaps: new Set(), secrets: new Set() });
    expect(podReferences({ metadata: { name: 'p' }, spec: 'nonsense' })).toEqual({ configMaps: new Set(), secrets: new Set() });
    expect(podReferences(podWith({ volumes: [{ configMap: { name: 7 } }, null], containers: 'x' }))).toEqual({ configMaps: new Set(), secrets: new Set() });
  });
});
