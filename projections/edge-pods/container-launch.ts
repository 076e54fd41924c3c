// A container's launch from its Pod, as the kubelet builds one: env with `valueFrom` and `envFrom`
// resolved from the ConfigMaps and Secrets the edge holds, volumes filled from them, the memory
// limit in bytes. Pure: a missing ConfigMap or key is a CreateContainerConfigError value with the
// kubelet's wording, shown by `kubectl describe`, never an exception.
import { err, ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { ContainerLaunch, EnvVar, RuntimeError, VolumeFile, VolumeMount } from '../../runtime/index.js';
import { arrayAt, isTrueAt, objectAt, stringAt } from '../kube/json-fields.js';

/** The ConfigMaps and Secrets the edge holds, by namespace and name. */
export interface HeldObjects {
  configMap(namespace: string, name: string): JsonObject | undefined;
  secret(namespace: string, name: string): JsonObject | undefined;
}

type Raw = Record<string, unknown>;

const configError = (message: string): Result<never, RuntimeError> => err({ reason: 'CreateContainerConfigError', message });

/** A ConfigMap's or Secret's entries as text (Secret data is base64, as the API stores it). */
function entriesOf(kind: 'configmap' | 'secret', object: JsonObject): Map<string, string> {
  const entries = new Map<string, string>();
  const data = objectAt(object, 'data') ?? {};
  for (const [key, value] of Object.entries(data)) if (typeof value === 'string') entries.set(key, kind === 'secret' ? Buffer.from(value, 'base64').toString('utf8') : value);
  if (kind === 'configmap') for (const [key, value] of Object.entries(objectAt(object, 'binaryData') ?? {})) if (typeof value === 'string') entries.set(key, Buffer.from(value, 'base64').toString('utf8'));
  return entries;
}

/** Values of `fieldRef` the edge knows (host network: podIP is the host's). */
function fieldValue(pod: JsonObject, path: string, hostIP: string): string | undefined {
  const metadata = objectAt(pod, 'metadata');
  switch (path) {
    case 'metadata.name':
      return stringAt(metadata, 'name');
    case 'metadata.namespace':
      return stringAt(metadata, 'namespace');
    case 'metadata.uid':
      return stringAt(metadata, 'uid');
    case 'spec.nodeName':
      return stringAt(objectAt(pod, 'spec'), 'nodeName');
    case 'status.hostIP':
    case 'status.podIP':
      return hostIP;
    default: {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(path)?.[1];
      if (label !== undefined) return stringAt(objectAt(metadata, 'labels'), label) ?? '';
      const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path)?.[1];
      return annotation === undefined ? undefined : (stringAt(objectAt(metadata, 'annotations'), annotation) ?? '');
    }
  }
}

interface Context {
  readonly pod: JsonObject;
  readonly namespace: string;
  readonly held: HeldObjects;
  readonly hostIP: string;
}

function lookup(context: Context, kind: 'configmap' | 'secret', name: string): Map<string, string> | undefined {
  const object = kind === 'configmap' ? context.held.configMap(context.namespace, name) : context.held.secret(context.namespace, name);
  return object === undefined ? undefined : entriesOf(kind, object);
}

const noun = (kind: 'configmap' | 'secret'): string => (kind === 'configmap' ? 'configmap' : 'secret');

function envValue(context: Context, env: unknown): Result<string | undefined, RuntimeError> {
  const name = stringAt(env, 'name') ?? '';
  const from = objectAt(env, 'valueFrom');
  if (from === undefined) return ok(stringAt(env, 'value') ?? '');
  for (const [field, kind] of [['configMapKeyRef', 'configmap'], ['secretKeyRef', 'secret']] as const) {
    const ref = objectAt(from, field);
    if (ref === undefined) continue;
    const entries = lookup(context, kind, stringAt(ref, 'name') ?? '');
    const value = entries?.get(stringAt(ref, 'key') ?? '');
    if (value !== undefined) return ok(value);
    if (isTrueAt(ref, 'optional')) return ok(undefined);
    return configError(entries === undefined ? `${noun(kind)} "${stringAt(ref, 'name') ?? ''}" not found` : `couldn't find key ${stringAt(ref, 'key') ?? ''} in ${noun(kind)} ${context.namespace}/${stringAt(ref, 'name') ?? ''}`);
  }
  const fieldPath = stringAt(objectAt(from, 'fieldRef'), 'fieldPath');
  if (fieldPath !== undefined) {
    const value = fieldValue(context.pod, fieldPath, context.hostIP);
    return value === undefined ? configError(`env ${name}: fieldRef ${fieldPath} is not supported at the edge`) : ok(value);
  }
  return configError(`env ${name}: valueFrom ${Object.keys(from).join(', ')} is not supported at the edge`);
}

function envOf(context: Context, container: unknown): Result<EnvVar[], RuntimeError> {
  const env: EnvVar[] = [];
  for (const source of arrayAt(container, 'envFrom')) {
    const prefix = stringAt(source, 'prefix') ?? '';
    for (const [field, kind] of [['configMapRef', 'configmap'], ['secretRef', 'secret']] as const) {
      const ref = objectAt(source, field);
      if (ref === undefined) continue;
      const entries = lookup(context, kind, stringAt(ref, 'name') ?? '');
      if (entries === undefined && !isTrueAt(ref, 'optional')) return configError(`${noun(kind)} "${stringAt(ref, 'name') ?? ''}" not found`);
      for (const [key, value] of entries ?? []) env.push({ name: `${prefix}${key}`, value });
    }
  }
  for (const item of arrayAt(container, 'env')) {
    const value = envValue(context, item);
    if (!value.ok) return value;
    if (value.value !== undefined) env.push({ name: stringAt(item, 'name') ?? '', value: value.value });
  }
  return ok(env);
}

function volumeFiles(context: Context, kind: 'configmap' | 'secret', name: string, source: Raw): Result<VolumeFile[] | undefined, RuntimeError> {
  const entries = lookup(context, kind, name);
  if (entries === undefined) return isTrueAt(source, 'optional') ? ok(undefined) : configError(`${noun(kind)} "${name}" not found`);
  const items = arrayAt(source, 'items');
  if (items.length === 0) return ok([...entries].map(([key, data]) => ({ key, data })));
  const files: VolumeFile[] = [];
  for (const item of items) {
    const key = stringAt(item, 'key') ?? '';
    const data = entries.get(key);
    if (data === undefined) return configError(`couldn't find key ${key} in ${noun(kind)} ${context.namespace}/${name}`);
    files.push({ key: stringAt(item, 'path') ?? key, data });
  }
  return ok(files);
}

function volumesOf(context: Context, container: unknown): Result<VolumeMount[], RuntimeError> {
  const podVolumes = new Map(arrayAt(objectAt(context.pod, 'spec'), 'volumes').map((v) => [stringAt(v, 'name') ?? '', v] as const));
  const mounts: VolumeMount[] = [];
  for (const mount of arrayAt(container, 'volumeMounts')) {
    const name = stringAt(mount, 'name') ?? '';
    const mountPath = stringAt(mount, 'mountPath') ?? '';
    const volume = podVolumes.get(name);
    if (volume === undefined) return configError(`volumeMount ${name}: the pod has no volume of that name`);
    if (objectAt(volume, 'emptyDir') !== undefined) {
      mounts.push({ name, mountPath, source: { kind: 'emptyDir' } });
      continue;
    }
    const configMap = objectAt(volume, 'configMap');
    const secret = objectAt(volume, 'secret');
    if (configMap === undefined && secret === undefined) return configError(`volume ${name}: only configMap, secret and emptyDir volumes are supported by the process runtime`);
    const kind = configMap !== undefined ? 'configmap' : 'secret';
    const source = (configMap ?? secret) as Raw;
    const files = volumeFiles(context, kind, stringAt(source, kind === 'configmap' ? 'name' : 'secretName') ?? '', source);
    if (!files.ok) return files;
    mounts.push({ name, mountPath, source: kind === 'configmap' ? { kind: 'configMap', files: files.value ?? [] } : { kind: 'secret', files: files.value ?? [] } });
  }
  return ok(mounts);
}

const QUANTITY_SUFFIXES: Readonly<Record<string, number>> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** A Kubernetes memory quantity (`64Mi`, `1G`, `128974848`, `129e6`) in bytes; undefined when malformed. */
export function quantityBytes(quantity: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?(?:[eE]\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (match === null) return undefined;
  const bytes = Math.ceil(Number(match[1]) * (QUANTITY_SUFFIXES[match[2] ?? ''] ?? Number.NaN));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * The launch of one run of `containerName` of `pod`.
 * @example launchOf(pod, 'app', 'run-3', held, '192.0.2.7') // ok({ command: ['node', …], env: [...], volumes: [...] … })
 */
export function launchOf(pod: JsonObject, containerName: string, runId: string, held: HeldObjects, hostIP: string): Result<ContainerLaunch, RuntimeError> {
  const metadata = objectAt(pod, 'metadata');
  const spec = objectAt(pod, 'spec');
  const namespace = stringAt(metadata, 'namespace') ?? 'default';
  const container = [...arrayAt(spec, 'initContainers'), ...arrayAt(spec, 'containers')].find((c) => stringAt(c, 'name') === containerName);
  if (container === undefined) return configError(`the pod has no container ${containerName}`);
  const context: Context = { pod, namespace, held, hostIP };
  const env = envOf(context, container);
  if (!env.ok) return env;
  const volumes = volumesOf(context, container);
  if (!volumes.ok) return volumes;
  const memory = stringAt(objectAt(objectAt(container, 'resources'), 'limits'), 'memory');
  const memoryBytesMax = memory === undefined ? null : quantityBytes(memory);
  if (memoryBytesMax === undefined) return configError(`resources.limits.memory ${JSON.stringify(memory)} is not a quantity`);
  const command = arrayAt(container, 'command').filter((s): s is string => typeof s === 'string');
  const args = arrayAt(container, 'args').filter((s): s is string => typeof s === 'string');
  return ok({
    pod: { namespace, name: stringAt(metadata, 'name') ?? '', uid: stringAt(metadata, 'uid') ?? '' },
    container: containerName,
    runId,
    command,
    args,
    env: env.value,
    workingDir: stringAt(container, 'workingDir') ?? null,
    volumes: volumes.value,
    memoryBytesMax,
  });
}
