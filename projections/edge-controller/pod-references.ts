// Which ConfigMaps and Secrets a pod references, as the Kubernetes node authorizer counts them:
// volumes (configMap, secret, projected sources), env valueFrom, envFrom, and imagePullSecrets. A
// node receives exactly these, never another node's secrets (PROTOCOL.md, Authorization).
import type { JsonObject } from '../../kernel/index.js';
import { arrayAt, objectAt, stringAt } from '../kube/json-fields.js';

export interface PodReferences {
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
}

/** A name field: a non-empty string. */
const nameAt = (value: unknown, key: string): string | undefined => {
  const name = stringAt(value, key);
  return name === '' ? undefined : name;
};

/** The names (in the pod's namespace) of the ConfigMaps and Secrets `pod` references. */
export function podReferences(pod: JsonObject): PodReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = objectAt(pod, 'spec');
  const addName = (into: Set<string>, name: string | undefined): void => {
    if (name !== undefined) into.add(name);
  };
  for (const volume of arrayAt(spec, 'volumes')) {
    addName(configMaps, nameAt(objectAt(volume, 'configMap'), 'name'));
    addName(secrets, nameAt(objectAt(volume, 'secret'), 'secretName'));
    for (const source of arrayAt(objectAt(volume, 'projected'), 'sources')) {
      addName(configMaps, nameAt(objectAt(source, 'configMap'), 'name'));
      addName(secrets, nameAt(objectAt(source, 'secret'), 'name'));
    }
  }
  const containers = [...arrayAt(spec, 'initContainers'), ...arrayAt(spec, 'containers'), ...arrayAt(spec, 'ephemeralContainers')];
  for (const container of containers) {
    for (const env of arrayAt(container, 'env')) {
      const from = objectAt(env, 'valueFrom');
      addName(configMaps, nameAt(objectAt(from, 'configMapKeyRef'), 'name'));
      addName(secrets, nameAt(objectAt(from, 'secretKeyRef'), 'name'));
    }
    for (const source of arrayAt(container, 'envFrom')) {
      addName(configMaps, nameAt(objectAt(source, 'configMapRef'), 'name'));
      addName(secrets, nameAt(objectAt(source, 'secretRef'), 'name'));
    }
  }
  for (const pull of arrayAt(spec, 'imagePullSecrets')) addName(secrets, nameAt(pull, 'name'));
  return { configMaps, secrets };
}
