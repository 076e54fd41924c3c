// Which ConfigMaps and Secrets a pod references, as the Kubernetes node authorizer counts them:
// volumes (configMap, secret, projected sources), env valueFrom, envFrom, and imagePullSecrets. A
// node receives exactly these, never another node's secrets (PROTOCOL.md, Authorization).
import { isJsonObject, type JsonObject } from '../../kernel/index.js';

export interface PodReferences {
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
}

const objectAt = (value: unknown, key: string): Record<string, unknown> | undefined => {
  if (!isJsonObject(value)) return undefined;
  const child = value[key];
  return isJsonObject(child) ? child : undefined;
};
const arrayAt = (value: unknown, key: string): readonly unknown[] => {
  if (!isJsonObject(value)) return [];
  const child = value[key];
  return Array.isArray(child) ? child : [];
};
const stringAt = (value: unknown, key: string): string | undefined => {
  if (!isJsonObject(value)) return undefined;
  const child = value[key];
  return typeof child === 'string' && child !== '' ? child : undefined;
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
    addName(configMaps, stringAt(objectAt(volume, 'configMap'), 'name'));
    addName(secrets, stringAt(objectAt(volume, 'secret'), 'secretName'));
    for (const source of arrayAt(objectAt(volume, 'projected'), 'sources')) {
      addName(configMaps, stringAt(objectAt(source, 'configMap'), 'name'));
      addName(secrets, stringAt(objectAt(source, 'secret'), 'name'));
    }
  }
  const containers = [...arrayAt(spec, 'initContainers'), ...arrayAt(spec, 'containers'), ...arrayAt(spec, 'ephemeralContainers')];
  for (const container of containers) {
    for (const env of arrayAt(container, 'env')) {
      const from = objectAt(env, 'valueFrom');
      addName(configMaps, stringAt(objectAt(from, 'configMapKeyRef'), 'name'));
      addName(secrets, stringAt(objectAt(from, 'secretKeyRef'), 'name'));
    }
    for (const source of arrayAt(container, 'envFrom')) {
      addName(configMaps, stringAt(objectAt(source, 'configMapRef'), 'name'));
      addName(secrets, stringAt(objectAt(source, 'secretRef'), 'name'));
    }
  }
  for (const pull of arrayAt(spec, 'imagePullSecrets')) addName(secrets, stringAt(pull, 'name'));
  return { configMaps, secrets };
}
