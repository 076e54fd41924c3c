// What the workload controllers (ReplicaSet, Deployment, DaemonSet) share about pods they own: label
// selectors, controller references, pods made from a template, and when a pod counts as active,
// ready or available. Pure functions over objects read from the API.
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { requirementMatches } from '../kube/selector-requirement.js';

type Raw = Record<string, unknown>;

/** The owner of objects a controller creates: its apiVersion, kind, name and uid. */
export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** `metadata.labels` as strings. */
export function labelsOf(object: unknown): Record<string, string> {
  const labels = objectAt(objectAt(object, 'metadata'), 'labels') ?? {};
  return Object.fromEntries(Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * Whether `labels` satisfy a metav1.LabelSelector (matchLabels and matchExpressions). An empty or
 * missing selector matches nothing here: workload APIs require a non-empty one, and a controller
 * must never claim every pod in a namespace.
 */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const matchLabels = objectAt(selector, 'matchLabels') ?? {};
  const expressions = arrayAt(selector, 'matchExpressions');
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  return expressions.every((expression) => requirementMatches(expression, labels, false));
}

/** The ownerReference with `controller: true`, if any. */
export function controllerRefOf(object: unknown): { readonly kind: string; readonly name: string; readonly uid: string } | undefined {
  const ref = arrayAt(objectAt(object, 'metadata'), 'ownerReferences').find((r) => isJsonObject(r) && r['controller'] === true);
  if (ref === undefined) return undefined;
  return { kind: stringAt(ref, 'kind') ?? '', name: stringAt(ref, 'name') ?? '', uid: stringAt(ref, 'uid') ?? '' };
}

/** Whether `object` is controlled by the owner with this uid. */
export const isControlledBy = (object: unknown, ownerUid: string): boolean => controllerRefOf(object)?.uid === ownerUid;

/** The ownerReference a controller puts on what it creates (garbage-collected with the owner). */
export function controllerReference(owner: OwnerRef): JsonObject {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** The owner reference of an object read from the API. */
export const ownerRefOf = (object: unknown, apiVersion: string, kind: string): OwnerRef => ({ apiVersion, kind, name: nameOf(object), uid: uidOf(object) });

/**
 * A new pod from a pod template: the template's labels, annotations and spec, named
 * `<generateNamePrefix>` plus a random suffix by the API server, controlled by `owner`.
 */
export function podFromTemplate(template: unknown, owner: OwnerRef, generateNamePrefix: string, namespace: string, extra: { readonly nodeName?: string } = {}): JsonObject {
  const metadata = objectAt(template, 'metadata') ?? {};
  const spec: Raw = structuredClone(objectAt(template, 'spec') ?? {});
  if (extra.nodeName !== undefined) spec['nodeName'] = extra.nodeName;
  const podMetadata: Raw = { generateName: generateNamePrefix, namespace, ownerReferences: [controllerReference(owner)] };
  const labels = objectAt(metadata, 'labels');
  const annotations = objectAt(metadata, 'annotations');
  if (labels !== undefined) podMetadata['labels'] = structuredClone(labels);
  if (annotations !== undefined) podMetadata['annotations'] = structuredClone(annotations);
  return { apiVersion: 'v1', kind: 'Pod', metadata: podMetadata, spec } as JsonObject;
}

/** `status.phase` of a pod ('' when none yet). */
export const phaseOf = (pod: unknown): string => stringAt(objectAt(pod, 'status'), 'phase') ?? '';

/** Whether the pod is being deleted. */
export const isTerminating = (pod: unknown): boolean => stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') !== undefined;

/** Active, as controllers count replicas: not ended and not being deleted. */
export const isActivePod = (pod: unknown): boolean => phaseOf(pod) !== 'Succeeded' && phaseOf(pod) !== 'Failed' && !isTerminating(pod);

/** The pod's Ready condition when it is True, else undefined. */
function readyCondition(pod: unknown): Raw | undefined {
  const condition = arrayAt(objectAt(pod, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'Ready');
  return condition !== undefined && stringAt(condition, 'status') === 'True' ? (condition as Raw) : undefined;
}

/** Ready: Running with the Ready condition True. */
export const isReadyPod = (pod: unknown): boolean => phaseOf(pod) === 'Running' && readyCondition(pod) !== undefined;

/**
 * Available: ready for at least `minReadySeconds` by `now` (ms since the epoch). A Ready condition
 * without a transition time counts as ready since ever.
 */
export function isAvailablePod(pod: unknown, minReadySeconds: number, nowMs: number): boolean {
  if (!isReadyPod(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(stringAt(readyCondition(pod), 'lastTransitionTime') ?? '');
  return Number.isNaN(since) || since + minReadySeconds * 1000 <= nowMs;
}

/** `spec.minReadySeconds`, 0 when missing. */
export const minReadySecondsOf = (workload: unknown): number => {
  const value = objectAt(workload, 'spec')?.['minReadySeconds'];
  return typeof value === 'number' && value > 0 ? value : 0;
};

/** FNV-1a, 32 bits: the hash family Kubernetes uses for pod-template-hash. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Raw)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes, so a hash never spells a word. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The `pod-template-hash` label value of a template (and the Deployment's collisionCount), as the
 * Deployment and DaemonSet controllers name ReplicaSets and revisions: `<name>-<hash>`.
 */
export function templateHash(template: unknown, collisionCount = 0): string {
  const hash = fnv1a32(`${canonicalJson(template)}#${collisionCount}`);
  return [...hash.toString(10)].map((digit) => SAFE_ALPHABET[Number(digit) % SAFE_ALPHABET.length]).join('');
}

/** The label a Deployment's ReplicaSets and their pods carry: the hash of the pod template. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** A template without the pod-template-hash label, as a canonical string. */
function templateKeyIgnoringHash(template: unknown): string {
  const copy = structuredClone(template ?? {}) as Raw;
  const labels = objectAt(objectAt(copy, 'metadata'), 'labels');
  if (labels !== undefined) delete labels[POD_TEMPLATE_HASH_LABEL];
  return canonicalJson(copy);
}

/** Whether two pod templates are the same once the pod-template-hash label is ignored (upstream's EqualIgnoreHash). */
export const templatesEqualIgnoringHash = (a: unknown, b: unknown): boolean => templateKeyIgnoringHash(a) === templateKeyIgnoringHash(b);

/** A status without zero counts, empty strings or nulls: how a real API server stores one (omitempty). */
function withoutEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmpty);
  if (value !== null && typeof value === 'object') {
    const kept = Object.entries(value).filter(([, v]) => v !== 0 && v !== '' && v !== null && v !== undefined);
    return Object.fromEntries(kept.map(([k, v]) => [k, withoutEmpty(v)]));
  }
  return value;
}

/**
 * Whether a stored status already says what a controller would write, whatever the key order and
 * whether zero counts were kept or omitted — so a controller never rewrites an unchanged status
 * (each write is a watch event that would start another pass).
 */
export const sameStatus = (stored: unknown, wanted: unknown): boolean => canonicalJson(withoutEmpty(stored ?? {})) === canonicalJson(withoutEmpty(wanted ?? {}));

/** A time as Kubernetes stores metav1.Time: RFC 3339 in whole seconds. */
export const kubeTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
