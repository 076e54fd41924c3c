// The whole-system simulator's Kubernetes API server: objects as real Kubernetes JSON under one
// revision counter, written by the embedded server's own rules (defaults, generation bumps, the
// status subresource, graceful pod deletion, finalizers, uid and resourceVersion preconditions),
// watched synchronously, and replaced wholesale by resets (a restored backup or a recreated
// cluster). Synchronous and deterministic: time comes from SimulatedTime, ids from counters.
import { isDeepStrictEqual } from 'node:util';
import { err, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../kernel/index.js';
import { applyKindDefaults, mergeUpdate, podSpecUpdateErrors, withCreationMetadata, withTidyMetadata } from '../k8s/api/object-rules.js';
import { mergePatch } from '../k8s/patch/merge-patch.js';
import type { ReflectorEvent } from '../projections/kube/reflector.js';
import { kubeTime } from '../projections/workloads/pod-template.js';
import type { SimulatedTime } from './simulated-time.testing.js';
import { SIMULATION_EPOCH_MS } from './system-ports.testing.js';

/** The resources the simulated API serves. */
export type Plural = 'namespaces' | 'nodes' | 'pods' | 'configmaps' | 'secrets' | 'replicasets' | 'deployments' | 'devices' | 'devicemodels';

/** Every plural, in the order a relist after a reset reports them (owners before dependents). */
export const PLURALS: readonly Plural[] = ['namespaces', 'nodes', 'configmaps', 'secrets', 'devicemodels', 'devices', 'deployments', 'replicasets', 'pods'];

/** A refused write, as the API server's Status reason names it. */
export type ApiError = { readonly kind: 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid'; readonly message: string };

/** What the API server knows of a resource (the embedded server's resource table, k8s/api/resources.ts). */
export interface ResourceRule {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly statusSubresource: boolean;
  readonly tracksGeneration: boolean;
}

/** The served resources: custom resources (devices, devicemodels) always track generation, as upstream. */
export const RESOURCES: Readonly<Record<Plural, ResourceRule>> = {
  namespaces: { apiVersion: 'v1', kind: 'Namespace', namespaced: false, statusSubresource: true, tracksGeneration: false },
  nodes: { apiVersion: 'v1', kind: 'Node', namespaced: false, statusSubresource: true, tracksGeneration: false },
  pods: { apiVersion: 'v1', kind: 'Pod', namespaced: true, statusSubresource: true, tracksGeneration: true },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true, statusSubresource: false, tracksGeneration: false },
  secrets: { apiVersion: 'v1', kind: 'Secret', namespaced: true, statusSubresource: false, tracksGeneration: false },
  replicasets: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true, statusSubresource: true, tracksGeneration: true },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true, statusSubresource: true, tracksGeneration: true },
  devices: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', namespaced: true, statusSubresource: true, tracksGeneration: true },
  devicemodels: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', namespaced: true, statusSubresource: false, tracksGeneration: true },
};

/** The plural serving `kind` of API group `group` ('' for core), if the simulation serves it. */
export function pluralOfKind(group: string, kind: string): Plural | undefined {
  return PLURALS.find((p) => RESOURCES[p].kind === kind && groupOfApiVersion(RESOURCES[p].apiVersion) === group);
}

/** `apps/v1` → `apps`, `v1` → ''. */
export const groupOfApiVersion = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** The label every simulated Node carries (KubeEdge's edge role). */
export const EDGE_NODE_LABEL = 'node-role.kubernetes.io/edge';
/** The DeviceModel `createDevice` instantiates, created once per namespace. */
export const THERMO_MODEL = 'thermo-model';
/** Its properties: a reading the device reports, and two values the cloud sets. */
export const THERMO_PROPERTIES: readonly { readonly name: string; readonly type: string; readonly accessMode: string }[] = [
  { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
  { name: 'target', type: 'INT', accessMode: 'ReadWrite' },
  { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' },
];

/** The first revision of a fresh cluster, and the one a reset restarts from (so restored revisions are lower). */
const FIRST_REVISION = 100;
const RESET_REVISION = 10;
/** Positions `lostMask` can name: the bits of a double's integer range. */
const LOST_MASK_BITS = 52;
/** The generateName suffix alphabet of apimachinery (no vowels, no look-alikes); 5 letters as upstream. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const NAME_SUFFIX_LETTERS = 5;
/** A multiplier coprime to 27^5: suffixes look scattered yet never repeat. */
const NAME_SCATTER = 7_919;
/** A Pod's grace when its spec names none (as the API server defaults terminationGracePeriodSeconds). */
const POD_GRACE_SECONDS_DEFAULT = 30;

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Stored {
  readonly plural: Plural;
  readonly object: JsonObject;
}

const keyOf = (plural: Plural, namespace: string, name: string): string => `${plural}/${namespace}/${name}`;
const meta = (object: JsonObject): Any => ((object as Any)['metadata'] ?? {}) as Any;
const isBeingDeleted = (object: JsonObject): boolean => meta(object)['deletionTimestamp'] !== undefined;
const finalizersOf = (object: JsonObject): readonly string[] => (meta(object)['finalizers'] ?? []) as string[];
const withoutRevision = (object: JsonObject): JsonObject => ({ ...object, metadata: { ...meta(object), resourceVersion: null } });
const refused = (kind: ApiError['kind'], message: string): { readonly ok: false; readonly error: ApiError } => err({ kind, message });

/** Freezes a stored object through and through: nobody may change the API's state behind its back. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The ConfigMaps a pod references, read independently of production's podReferences (the oracle must not share its bugs). */
function configMapNamesOf(pod: JsonObject): string[] {
  const spec = ((pod as Any)['spec'] ?? {}) as Any;
  const names: string[] = [];
  for (const volume of (spec['volumes'] ?? []) as Any[]) {
    if (typeof volume?.configMap?.name === 'string') names.push(volume.configMap.name);
    for (const source of (volume?.projected?.sources ?? []) as Any[]) if (typeof source?.configMap?.name === 'string') names.push(source.configMap.name);
  }
  for (const container of [...((spec['initContainers'] ?? []) as Any[]), ...((spec['containers'] ?? []) as Any[])]) {
    for (const env of (container?.env ?? []) as Any[]) if (typeof env?.valueFrom?.configMapKeyRef?.name === 'string') names.push(env.valueFrom.configMapKeyRef.name);
    for (const from of (container?.envFrom ?? []) as Any[]) if (typeof from?.configMapRef?.name === 'string') names.push(from.configMapRef.name);
  }
  return names;
}

/** The Secrets a pod references (env, envFrom, volumes), read independently of production's podReferences. */
function secretNamesOf(pod: JsonObject): string[] {
  const spec = ((pod as Any)['spec'] ?? {}) as Any;
  const names: string[] = [];
  for (const volume of (spec['volumes'] ?? []) as Any[]) if (typeof volume?.secret?.secretName === 'string') names.push(volume.secret.secretName);
  for (const container of [...((spec['initContainers'] ?? []) as Any[]), ...((spec['containers'] ?? []) as Any[])]) {
    for (const env of (container?.env ?? []) as Any[]) if (typeof env?.valueFrom?.secretKeyRef?.name === 'string') names.push(env.valueFrom.secretKeyRef.name);
    for (const from of (container?.envFrom ?? []) as Any[]) if (typeof from?.secretRef?.name === 'string') names.push(from.secretRef.name);
  }
  return names;
}

/** `spec.nodeName` of a pod or Device, when set. */
function boundNodeOf(object: JsonObject): string | undefined {
  const node = (object as Any)['spec']?.['nodeName'];
  return typeof node === 'string' && node !== '' ? node : undefined;
}

const deviceModelNameOf = (device: JsonObject): string => String((device as Any)['spec']?.['deviceModelRef']?.['name'] ?? '');

/**
 * The simulated API server. Every change reaches the watchers synchronously, in order, as the
 * ReflectorEvents production's reflectors emit.
 * @example
 * const api = new SimulatedApi(time, ['edge-a', 'edge-b']);
 * api.watch((plural, event) => view.apply(viewedKindOf(plural), event));
 * api.createDeployment('default', 'web', 3);
 */
export class SimulatedApi {
  readonly #time: SimulatedTime;
  /** Objects by `plural/namespace/name`, in creation order (the positions `reset`'s lostMask names). */
  readonly #objects = new Map<string, Stored>();
  /** The keys of each resource's objects, so a list costs that resource, not the store. */
  readonly #keys = new Map<Plural, Set<string>>(PLURALS.map((p) => [p, new Set()]));
  readonly #listeners = new Set<(plural: Plural, event: ReflectorEvent) => void>();
  readonly #everInScope = new Map<string, Set<string>>();
  #serial = 1;
  /** The data as the last `backup` saw it. */
  #backup: readonly Stored[] | undefined;
  #revision = FIRST_REVISION;
  #uids = 0;
  #generatedNames = 0;
  #rollouts = 0;

  constructor(time: SimulatedTime, nodes: readonly string[], options: { readonly nodesReady?: boolean } = {}) {
    this.#time = time;
    for (const namespace of ['default', 'kube-system']) this.#mustCreate('namespaces', { metadata: { name: namespace } });
    for (const node of nodes) this.#mustCreate('nodes', nodeObject(node, options.nodesReady ?? true, this.#nowIso()));
  }

  /** 1, and one more per reset. */
  get serial(): number {
    return this.#serial;
  }

  /** The uid of namespace kube-system, as production's clusterId. */
  get clusterId(): string {
    return String(meta(this.#objects.get(keyOf('namespaces', '', 'kube-system'))!.object)['uid']);
  }

  /** The newest revision of the store, in decimal. */
  get resourceVersion(): string {
    return String(this.#revision);
  }

  /**
   * Invariant 5's oracle, independent of ClusterView: node → uid of every object ever in that
   * node's scope (its bound pods, the ConfigMaps they reference, its Devices, their DeviceModels,
   * its Node), updated after every write and before the watchers hear of it.
   */
  get everInScope(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#everInScope;
  }

  get(plural: Plural, namespace: string, name: string): JsonObject | undefined {
    return this.#objects.get(keyOf(plural, RESOURCES[plural].namespaced ? namespace : '', name))?.object;
  }

  /** The objects of a resource, by namespace then name, as etcd lists them. */
  list(plural: Plural): readonly JsonObject[] {
    const items: { key: string; object: JsonObject }[] = [];
    for (const key of this.#keys.get(plural)!) items.push({ key, object: this.#objects.get(key)!.object });
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((i) => i.object);
  }

  /** A `listed` event of the resource's current state: where a (re)started reflector begins. */
  listed(plural: Plural): ReflectorEvent {
    return { type: 'listed', objects: this.list(plural), resourceVersion: this.resourceVersion };
  }

  /** Calls `listener` on every change from now on; returns the unsubscribe. */
  watch(listener: (plural: Plural, event: ReflectorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Creates an object: a uid, resourceVersion, creationTimestamp and (where tracked) generation 1
   * are minted, `generateName` gets a suffix, the API server's defaults are applied.
   */
  create(plural: Plural, object: JsonObject): Result<JsonObject, ApiError> {
    const rule = RESOURCES[plural];
    const given = meta(object);
    const namespace = rule.namespaced ? (typeof given['namespace'] === 'string' && given['namespace'] !== '' ? given['namespace'] : 'default') : '';
    const generateName = typeof given['generateName'] === 'string' && given['generateName'] !== '' ? given['generateName'] : undefined;
    const name = typeof given['name'] === 'string' && given['name'] !== '' ? given['name'] : generateName === undefined ? undefined : this.#generatedName(generateName);
    if (name === undefined) return refused('Invalid', `${rule.kind} is invalid: metadata.name: Required value: name or generateName is required`);
    if (rule.namespaced && !this.#objects.has(keyOf('namespaces', '', namespace))) return refused('NotFound', `namespaces "${namespace}" not found`);
    const key = keyOf(plural, namespace, name);
    if (this.#objects.has(key)) return refused('AlreadyExists', `${plural} "${name}" already exists`);
    // Status is the status subresource's to write: a create drops it, as upstream's strategies do (a Node registers with its own).
    const { status: _status, ...withoutStatus } = object as Any;
    const typed: JsonObject = { ...(rule.statusSubresource && plural !== 'nodes' ? withoutStatus : object), apiVersion: rule.apiVersion, kind: rule.kind };
    const minted = withCreationMetadata(typed, { name, namespace: rule.namespaced ? namespace : undefined, uid: this.#mintUid(), now: this.#nowIso(), tracksGeneration: rule.tracksGeneration });
    return ok(this.#write(plural, key, applyKindDefaults(rule.kind, withTidyMetadata(minted), { allocateClusterIp: () => '' }), 'ADDED'));
  }

  /**
   * Replaces an object's spec and metadata (not its status: the status subresource owns that).
   * `metadata.resourceVersion` and `metadata.uid`, when given, are preconditions; a change outside
   * metadata and status bumps the generation; an unchanged object is not written at all.
   */
  update(plural: Plural, object: JsonObject): Result<JsonObject, ApiError> {
    const rule = RESOURCES[plural];
    const given = meta(object);
    const namespace = rule.namespaced ? String(given['namespace'] ?? 'default') : '';
    const key = keyOf(plural, namespace, String(given['name'] ?? ''));
    const current = this.#objects.get(key)?.object;
    if (current === undefined) return refused('NotFound', `${plural} "${String(given['name'])}" not found`);
    const precondition = this.#preconditionFailure(plural, current, { uid: given['uid'], resourceVersion: given['resourceVersion'] });
    if (precondition !== undefined) return err(precondition);
    const merged = mergeUpdate(current, withTidyMetadata(object), { subresource: undefined, hasStatusSubresource: rule.statusSubresource, tracksGeneration: rule.tracksGeneration });
    const next = applyKindDefaults(rule.kind, merged, { allocateClusterIp: () => '' });
    const podErrors = plural === 'pods' ? podSpecUpdateErrors(current, next) : [];
    if (podErrors.length > 0) return refused('Invalid', `Pod "${String(given['name'])}" is invalid: ${podErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    if (isBeingDeleted(current) && finalizersOf(next).some((f) => !finalizersOf(current).includes(f))) {
      return refused('Invalid', 'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted');
    }
    return ok(this.#commit(plural, key, current, next));
  }

  /**
   * A JSON merge patch (RFC 7386) through the status subresource: `mergePatch` is the patch of the
   * whole object, as production's patch…Status bodies are (`{ status: { phase: 'Running' } }`), and
   * only its `status` takes effect. Preconditions: `precondition`, and any `metadata.uid` or
   * `metadata.resourceVersion` in the patch. A patch without `status` is refused (Invalid): the
   * real server would ignore it silently, which would hide a caller's mistake here.
   */
  patchStatus(plural: Plural, namespace: string, name: string, precondition: { readonly uid: string; readonly resourceVersion?: string }, mergePatchBody: JsonObject): Result<JsonObject, ApiError> {
    const rule = RESOURCES[plural];
    if (!rule.statusSubresource) return refused('NotFound', `${plural} has no status subresource`);
    if (!isJsonObject(mergePatchBody['status'])) return refused('Invalid', 'a status patch must carry a `status` object (the patch is of the whole object)');
    const key = keyOf(plural, rule.namespaced ? namespace : '', name);
    const current = this.#objects.get(key)?.object;
    if (current === undefined) return refused('NotFound', `${plural} "${name}" not found`);
    const inPatch = isJsonObject(mergePatchBody['metadata']) ? mergePatchBody['metadata'] : {};
    for (const check of [precondition, { uid: inPatch['uid'], resourceVersion: inPatch['resourceVersion'] }]) {
      const failure = this.#preconditionFailure(plural, current, check);
      if (failure !== undefined) return err(failure);
    }
    const status = mergePatch((current as Any)['status'] as JsonValue | undefined, mergePatchBody['status']);
    const merged = mergeUpdate(current, { ...current, status } as JsonObject, { subresource: 'status', hasStatusSubresource: true, tracksGeneration: rule.tracksGeneration });
    return ok(this.#commit(plural, key, current, applyKindDefaults(rule.kind, merged, { allocateClusterIp: () => '' })));
  }

  /**
   * Deletes an object. A pod bound to a node, deleted with a grace above 0 (default: its
   * terminationGracePeriodSeconds, else 30), and an object with finalizers, only become
   * terminating (deletionTimestamp set); a terminating pod goes when deleted again with grace 0
   * (the kubelet's final delete) and no finalizers hold it. A second graceful delete changes
   * nothing. Dependents are not touched: the garbage collector deletes them (background cascade).
   */
  delete(plural: Plural, namespace: string, name: string, options: { readonly uid?: string; readonly resourceVersion?: string; readonly gracePeriodSeconds?: number } = {}): Result<'deleted' | 'terminating', ApiError> {
    const key = keyOf(plural, RESOURCES[plural].namespaced ? namespace : '', name);
    const current = this.#objects.get(key)?.object;
    if (current === undefined) return refused('NotFound', `${plural} "${name}" not found`);
    if (plural === 'namespaces') return refused('Invalid', 'namespaces are not deleted in the simulation');
    const precondition = this.#preconditionFailure(plural, current, options);
    if (precondition !== undefined) return err(precondition);
    const spec = ((current as Any)['spec'] ?? {}) as Any;
    const bound = plural === 'pods' && typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '';
    const grace = bound ? (options.gracePeriodSeconds ?? spec['terminationGracePeriodSeconds'] ?? POD_GRACE_SECONDS_DEFAULT) : 0;
    const graceful = grace > 0 && !(isBeingDeleted(current) && options.gracePeriodSeconds === 0);
    const held = finalizersOf(current).length > 0;
    if (isBeingDeleted(current) && (graceful || (held && meta(current)['deletionGracePeriodSeconds'] === 0))) return ok('terminating');
    if (graceful || held) {
      const deletion = { deletionTimestamp: meta(current)['deletionTimestamp'] ?? this.#nowIso(), deletionGracePeriodSeconds: graceful ? grace : 0 };
      this.#commit(plural, key, current, { ...current, metadata: { ...meta(current), ...deletion } });
      return ok('terminating');
    }
    this.#remove(plural, key, current);
    return ok('deleted');
  }

  /**
   * Binds a pending pod to a node, as the pods/binding subresource does: spec.nodeName is set and
   * the PodScheduled condition becomes True; the generation stays. Refused for a pod already bound
   * or being deleted, or under another uid.
   */
  bind(namespace: string, name: string, uid: string, node: string): Result<JsonObject, ApiError> {
    const key = keyOf('pods', namespace, name);
    const current = this.#objects.get(key)?.object;
    if (current === undefined) return refused('NotFound', `pods "${name}" not found`);
    const precondition = this.#preconditionFailure('pods', current, { uid });
    if (precondition !== undefined) return err(precondition);
    const spec = ((current as Any)['spec'] ?? {}) as Any;
    if (typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '') return refused('Conflict', `pod ${name} is already assigned to node "${spec['nodeName']}"`);
    if (isBeingDeleted(current)) return refused('Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    const status = ((current as Any)['status'] ?? {}) as Any;
    const conditions = [...((status['conditions'] ?? []) as Any[]).filter((c) => c?.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.#nowIso() }];
    return ok(this.#commit('pods', key, current, { ...current, spec: { ...spec, nodeName: node }, status: { ...status, conditions } } as JsonObject));
  }

  /**
   * The API server's data is replaced, under a new clusterId (kube-system always gets a new uid).
   * `sameUids`: restored from a backup (same uids, content and status, lower resourceVersions);
   * else recreated under new uids, as re-applied manifests would be: generation 1, no status
   * (Nodes and Namespaces keep theirs), owner references following their owners' new uids, and
   * objects that were being deleted not recreated. Objects (other than Namespaces and Nodes, which
   * always survive) at the creation-order positions set in `lostMask` did not make it. The watchers
   * then get a `listed` event per resource, as reflectors relist after their watch broke.
   */
  /** Takes a backup of the data as it is now (etcdctl snapshot save), for a later `reset` from it. */
  backup(): void {
    this.#backup = [...this.#objects.values()];
  }

  reset(sameUids: boolean, lostMask: number, fromBackup = false): void {
    this.#serial += 1;
    this.#revision = RESET_REVISION;
    // From the backup: objects, specs and statuses as they were then (later changes are gone).
    const before = fromBackup && this.#backup !== undefined ? this.#backup : [...this.#objects.values()];
    this.#objects.clear();
    for (const keys of this.#keys.values()) keys.clear();
    const survivors = this.#survivorsOf(before, sameUids, lostMask);
    const newUids = new Map<string, string>();
    for (const { object } of survivors) {
      const uid = String(meta(object)['uid']);
      const kubeSystem = RESOURCES.namespaces.kind === (object as Any)['kind'] && meta(object)['name'] === 'kube-system';
      newUids.set(uid, sameUids && !kubeSystem ? uid : this.#mintUid());
    }
    for (const { plural, object } of survivors) {
      const restored = sameUids ? object : this.#recreated(plural, object, newUids);
      const uid = newUids.get(String(meta(object)['uid']))!;
      this.#revision += 1;
      const stored = deepFreeze({ ...restored, metadata: { ...meta(restored), uid, resourceVersion: String(this.#revision) } } as JsonObject);
      this.#put(keyOf(plural, String(meta(stored)['namespace'] ?? ''), String(meta(stored)['name'])), { plural, object: stored });
    }
    this.#noteScopes();
    for (const plural of PLURALS) {
      const event = this.listed(plural);
      for (const listener of [...this.#listeners]) listener(plural, event);
    }
  }

  // ---- workload helpers for the world's commands: each returns what it did, never throws ----
  // Those that create something first create its namespace if it is missing.

  /** A pod running `sleep infinity` in one container `main`; without `node` it waits for the scheduler. */
  createPod(namespace: string, name: string, options: { readonly node?: string; readonly restartPolicy?: string; readonly configMap?: string; readonly secret?: string } = {}): Result<JsonObject, ApiError> {
    const container: Any = { name: 'main', image: 'busybox:1.36', command: ['sleep', 'infinity'] };
    const env: Any[] = [];
    if (options.configMap !== undefined) env.push({ name: 'CONFIG_VALUE', valueFrom: { configMapKeyRef: { name: options.configMap, key: 'value' } } });
    if (options.secret !== undefined) env.push({ name: 'SECRET_VALUE', valueFrom: { secretKeyRef: { name: options.secret, key: 'value' } } });
    if (env.length > 0) container['env'] = env;
    const spec: Any = { containers: [container] };
    if (options.node !== undefined) spec['nodeName'] = options.node;
    if (options.restartPolicy !== undefined) spec['restartPolicy'] = options.restartPolicy;
    this.#ensureNamespace(namespace);
    return this.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec } as JsonObject);
  }

  /** A graceful delete, as `kubectl delete pod` sends it. */
  deletePod(namespace: string, name: string): Result<'deleted' | 'terminating', ApiError> {
    return this.delete('pods', namespace, name);
  }

  /** A Deployment of `replicas` pods labelled `app: <name>`, rolling update with the API's defaults. */
  createDeployment(namespace: string, name: string, replicas: number): Result<JsonObject, ApiError> {
    this.#ensureNamespace(namespace);
    const labels = { app: name };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', 'infinity'], env: [{ name: 'ROLLOUT', value: '0' }] }] } };
    return this.create('deployments', { metadata: { name, namespace, labels }, spec: { replicas, selector: { matchLabels: labels }, template } } as JsonObject);
  }

  /** `kubectl scale deployment --replicas`. */
  scaleDeployment(namespace: string, name: string, replicas: number): Result<JsonObject, ApiError> {
    return this.#change('deployments', namespace, name, (d) => ({ ...d, spec: { ...d['spec'], replicas } }));
  }

  /** A template change (the `ROLLOUT` env value), so the Deployment rolls out a new ReplicaSet. */
  rolloutDeployment(namespace: string, name: string): Result<JsonObject, ApiError> {
    this.#rollouts += 1;
    const rollout = String(this.#rollouts);
    return this.#change('deployments', namespace, name, (d) => {
      const template = structuredClone(d['spec']?.['template'] ?? {}) as Any;
      for (const container of (template['spec']?.['containers'] ?? []) as Any[]) container['env'] = [...((container['env'] ?? []) as Any[]).filter((e) => e?.name !== 'ROLLOUT'), { name: 'ROLLOUT', value: rollout }];
      return { ...d, spec: { ...d['spec'], template } };
    });
  }

  /** Deletes the Deployment alone; the garbage collector takes its ReplicaSets and their pods. */
  deleteDeployment(namespace: string, name: string): Result<'deleted' | 'terminating', ApiError> {
    return this.delete('deployments', namespace, name);
  }

  /** Creates or updates a Secret with `data.value` (base64, as the API stores it). */
  putSecret(namespace: string, name: string, value: string): Result<JsonObject, ApiError> {
    this.#ensureNamespace(namespace);
    const data = { value: Buffer.from(value).toString('base64') };
    if (this.get('secrets', namespace, name) === undefined) return this.create('secrets', { metadata: { name, namespace }, type: 'Opaque', data });
    return this.#change('secrets', namespace, name, (c) => ({ ...c, data }));
  }

  /** Creates or updates a ConfigMap with `data.value`. */
  putConfigMap(namespace: string, name: string, value: string): Result<JsonObject, ApiError> {
    this.#ensureNamespace(namespace);
    if (this.get('configmaps', namespace, name) === undefined) return this.create('configmaps', { metadata: { name, namespace }, data: { value } });
    return this.#change('configmaps', namespace, name, (c) => ({ ...c, data: { ...c['data'], value } }));
  }

  /** A Device of the thermo model (created in its namespace on first use) on `node`, with desired values. */
  createDevice(namespace: string, name: string, node: string, desired: Readonly<Record<string, string>>): Result<JsonObject, ApiError> {
    this.#ensureNamespace(namespace);
    if (this.get('devicemodels', namespace, THERMO_MODEL) === undefined) {
      const model = this.create('devicemodels', { metadata: { name: THERMO_MODEL, namespace }, spec: { protocol: 'mqtt-sim', properties: THERMO_PROPERTIES.map((p) => ({ ...p })) } });
      if (!model.ok) return model;
    }
    const typeOf = (property: string): string => (THERMO_PROPERTIES.find((p) => p.name === property)?.type ?? 'STRING').toLowerCase();
    const names = [...new Set([...THERMO_PROPERTIES.map((p) => p.name), ...Object.keys(desired)])];
    const properties = names.map((property) => (desired[property] === undefined ? { name: property } : { name: property, desired: { value: desired[property], metadata: { type: typeOf(property) } } }));
    return this.create('devices', { metadata: { name, namespace }, spec: { deviceModelRef: { name: THERMO_MODEL }, nodeName: node, protocol: { protocolName: 'mqtt-sim' }, properties } } as JsonObject);
  }

  /** Sets one property's desired value: a spec change, so the generation (the twin's cloud version) bumps. */
  setDeviceDesired(namespace: string, name: string, property: string, value: string): Result<JsonObject, ApiError> {
    return this.#change('devices', namespace, name, (d) => {
      const properties = ((d['spec']?.['properties'] ?? []) as Any[]).map((p) => ({ ...p }));
      const entry = properties.find((p) => p['name'] === property);
      const desired = { ...(entry?.['desired'] ?? { metadata: { type: 'string' } }), value };
      if (entry === undefined) properties.push({ name: property, desired });
      else entry['desired'] = desired;
      return { ...d, spec: { ...d['spec'], properties } };
    });
  }

  /** Binds the Device to another node. */
  moveDevice(namespace: string, name: string, node: string): Result<JsonObject, ApiError> {
    return this.#change('devices', namespace, name, (d) => ({ ...d, spec: { ...d['spec'], nodeName: node } }));
  }

  deleteDevice(namespace: string, name: string): Result<'deleted' | 'terminating', ApiError> {
    return this.delete('devices', namespace, name);
  }

  // ---- internals ----

  /** The helpers act as a user who applies the namespace's manifest first. */
  #ensureNamespace(namespace: string): void {
    if (this.get('namespaces', '', namespace) === undefined) this.#mustCreate('namespaces', { metadata: { name: namespace } });
  }

  /** A read-modify-write at the revision read. */
  #change(plural: Plural, namespace: string, name: string, change: (object: Any) => Any): Result<JsonObject, ApiError> {
    const current = this.get(plural, namespace, name);
    if (current === undefined) return refused('NotFound', `${plural} "${name}" not found`);
    return this.update(plural, change(structuredClone(current) as Any) as JsonObject);
  }

  #preconditionFailure(plural: Plural, current: JsonObject, expected: { readonly uid?: unknown; readonly resourceVersion?: unknown }): ApiError | undefined {
    const actual = meta(current);
    if (expected.uid !== undefined && expected.uid !== null && expected.uid !== actual['uid']) {
      return { kind: 'Conflict', message: `Precondition failed: UID in precondition: ${String(expected.uid)}, UID in object meta: ${String(actual['uid'])}` };
    }
    if (expected.resourceVersion !== undefined && expected.resourceVersion !== null && String(expected.resourceVersion) !== actual['resourceVersion']) {
      return { kind: 'Conflict', message: `Operation cannot be fulfilled on ${plural} "${String(actual['name'])}": the object has been modified; please apply your changes to the latest version and try again` };
    }
    return undefined;
  }

  /** Writes `next` over `current` unless nothing changed; an object whose last finalizer went while being deleted is removed. */
  #commit(plural: Plural, key: string, current: JsonObject, next: JsonObject): JsonObject {
    if (isDeepStrictEqual(withoutRevision(next), withoutRevision(current))) return current;
    const written = this.#write(plural, key, next, 'MODIFIED');
    const waitsForGrace = plural === 'pods' && Number(meta(written)['deletionGracePeriodSeconds'] ?? 0) > 0;
    if (isBeingDeleted(written) && finalizersOf(written).length === 0 && !waitsForGrace) this.#remove(plural, key, written);
    return written;
  }

  #write(plural: Plural, key: string, object: JsonObject, type: 'ADDED' | 'MODIFIED'): JsonObject {
    this.#revision += 1;
    const stored = deepFreeze(structuredClone({ ...object, metadata: { ...meta(object), resourceVersion: String(this.#revision) } }) as JsonObject);
    this.#put(key, { plural, object: stored });
    this.#noteScopeOf(plural, stored);
    this.#emit(plural, { type, object: stored, resourceVersion: String(this.#revision) });
    return stored;
  }

  /** Removes the object; the DELETED event carries its last state at the deletion's revision, as upstream's watch does. */
  #remove(plural: Plural, key: string, current: JsonObject): void {
    this.#revision += 1;
    const last = deepFreeze({ ...current, metadata: { ...meta(current), resourceVersion: String(this.#revision) } } as JsonObject);
    this.#objects.delete(key);
    this.#keys.get(plural)!.delete(key);
    this.#emit(plural, { type: 'DELETED', object: last, resourceVersion: String(this.#revision) });
  }

  #put(key: string, stored: Stored): void {
    this.#objects.set(key, stored);
    this.#keys.get(stored.plural)!.add(key);
  }

  #emit(plural: Plural, event: ReflectorEvent): void {
    for (const listener of [...this.#listeners]) listener(plural, event);
  }

  #mustCreate(plural: Plural, object: JsonObject): void {
    const created = this.create(plural, object);
    if (!created.ok) throw new Error(`bootstrap ${plural}: ${created.error.message}`);
  }

  /** Namespaces and Nodes first (they always survive), then the rest in creation order, less the lost ones. */
  #survivorsOf(before: readonly Stored[], sameUids: boolean, lostMask: number): Stored[] {
    const infrastructure = before.filter((s) => s.plural === 'namespaces' || s.plural === 'nodes');
    const rest = before.filter((s) => s.plural !== 'namespaces' && s.plural !== 'nodes');
    const kept = rest.filter((s, position) => {
      const lost = position < LOST_MASK_BITS && Math.floor(lostMask / 2 ** position) % 2 === 1;
      return !lost && (sameUids || !isBeingDeleted(s.object));
    });
    return [...infrastructure, ...kept];
  }

  /** An object as re-applied manifests recreate it: new identity, generation 1, owner references remapped, status only for Nodes and Namespaces. */
  #recreated(plural: Plural, object: JsonObject, newUids: ReadonlyMap<string, string>): JsonObject {
    const metadata: Any = { ...meta(object), creationTimestamp: this.#nowIso() };
    if (RESOURCES[plural].tracksGeneration) metadata['generation'] = 1;
    const owners = (metadata['ownerReferences'] ?? []) as Any[];
    // An owner that did not make it keeps its old uid: the reference dangles, and the garbage collector takes the dependent.
    if (owners.length > 0) metadata['ownerReferences'] = owners.map((o) => ({ ...o, uid: newUids.get(String(o?.uid)) ?? o?.uid }));
    const { status: _status, ...withoutStatus } = object as Any;
    const keepsStatus = plural === 'nodes' || plural === 'namespaces';
    return applyKindDefaults(RESOURCES[plural].kind, { ...(keepsStatus ? object : withoutStatus), metadata } as JsonObject, { allocateClusterIp: () => '' });
  }

  /** After a reset: every object's scope, from scratch. */
  #noteScopes(): void {
    for (const { plural, object } of this.#objects.values()) this.#noteScopeOf(plural, object);
  }

  /**
   * Adds to the nodes' records what `object`'s write brought into their scope: itself and what it
   * references (a bound pod, a bound Device, a Node), or the bound objects referencing it (a
   * ConfigMap, a DeviceModel). Records only grow: they are what was ever in scope.
   */
  #noteScopeOf(plural: Plural, object: JsonObject): void {
    const namespace = String(meta(object)['namespace'] ?? '');
    const name = String(meta(object)['name']);
    switch (plural) {
      case 'nodes':
        return this.#addToScope(name, object);
      case 'pods':
      case 'devices': {
        const node = boundNodeOf(object);
        if (node === undefined) return;
        this.#addToScope(node, object);
        const referenced =
          plural === 'pods'
            ? [...configMapNamesOf(object).map((n) => this.get('configmaps', namespace, n)), ...secretNamesOf(object).map((n) => this.get('secrets', namespace, n))]
            : [this.get('devicemodels', namespace, deviceModelNameOf(object))];
        for (const target of referenced) if (target !== undefined) this.#addToScope(node, target);
        return;
      }
      case 'configmaps':
      case 'secrets':
      case 'devicemodels': {
        const referrers =
          plural === 'configmaps'
            ? this.list('pods').filter((p) => configMapNamesOf(p).includes(name))
            : plural === 'secrets'
              ? this.list('pods').filter((p) => secretNamesOf(p).includes(name))
              : this.list('devices').filter((d) => deviceModelNameOf(d) === name);
        for (const referrer of referrers) {
          const node = boundNodeOf(referrer);
          if (node !== undefined && meta(referrer)['namespace'] === namespace) this.#addToScope(node, object);
        }
        return;
      }
      case 'namespaces':
      case 'replicasets':
      case 'deployments':
        return;
    }
  }

  #addToScope(node: string, object: JsonObject): void {
    let uids = this.#everInScope.get(node);
    if (uids === undefined) this.#everInScope.set(node, (uids = new Set()));
    uids.add(String(meta(object)['uid']));
  }

  #mintUid(): string {
    this.#uids += 1;
    return `c${this.#serial}-u${this.#uids}`;
  }

  /** `web-` → `web-x7k2q`: deterministic, never repeating within a run. */
  #generatedName(prefix: string): string {
    this.#generatedNames += 1;
    let n = (this.#generatedNames * NAME_SCATTER) % NAME_ALPHABET.length ** NAME_SUFFIX_LETTERS;
    let suffix = '';
    for (let i = 0; i < NAME_SUFFIX_LETTERS; i++, n = Math.floor(n / NAME_ALPHABET.length)) suffix += NAME_ALPHABET[n % NAME_ALPHABET.length];
    return `${prefix.slice(0, 58)}${suffix}`;
  }

  #nowIso(): string {
    return kubeTime(SIMULATION_EPOCH_MS + this.#time.now);
  }
}

/** A registered edge Node; Ready (as its kubelet would have reported) unless told otherwise. */
function nodeObject(name: string, ready: boolean, now: string): JsonObject {
  const condition = ready
    ? { type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge node is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }
    : { type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'edge node never posted its status', lastHeartbeatTime: now, lastTransitionTime: now };
  return { metadata: { name, labels: { [EDGE_NODE_LABEL]: '', 'kubernetes.io/hostname': name } }, spec: {}, status: { conditions: [condition] } };
}
