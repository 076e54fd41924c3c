// What the API server does to objects on the way in: system metadata, defaults the real server
// applies (so `kubectl get -o yaml` shows the fields users expect), generation bumps, and which
// parts of an update each endpoint may change.
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import type { FieldError } from './status.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const clone = <T>(value: T): T => structuredClone(value);

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** `web-` → `web-x7k2q`, as apimachinery's SimpleNameGenerator does. */
export function generatedName(prefix: string, random: () => number): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += generateNameAlphabet[Math.floor(random() * generateNameAlphabet.length)];
  return `${prefix.slice(0, 58)}${suffix}`;
}

const imagePullPolicyFor = (image: unknown): string => {
  const text = String(image ?? '');
  const tag = text.includes('@') ? 'digest' : /:[^/]+$/.test(text) ? text.slice(text.lastIndexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
};

function defaultContainer(c: Any): void {
  c.imagePullPolicy ??= imagePullPolicyFor(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of (c.ports ?? []) as Any[]) p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: Any): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  for (const c of [...((spec.containers ?? []) as Any[]), ...((spec.initContainers ?? []) as Any[])]) defaultContainer(c);
}

function defaultTemplateOwner(object: Any): void {
  object.spec ??= {};
  object.spec.template ??= {};
  object.spec.template.spec ??= {};
  defaultPodSpec(object.spec.template.spec);
  object.spec.revisionHistoryLimit ??= 10;
}

/** The defaults kube-apiserver fills in per kind (the subset kubectl users see). */
export function applyKindDefaults(kind: string, input: JsonObject, ctx: { readonly allocateClusterIp: () => string }): JsonObject {
  const object = clone(input) as Any;
  switch (kind) {
    case 'Pod':
      object.spec ??= {};
      defaultPodSpec(object.spec);
      object.status ??= {};
      object.status.phase ??= 'Pending';
      object.status.qosClass ??= 'BestEffort';
      break;
    case 'Deployment':
      defaultTemplateOwner(object);
      object.spec.replicas ??= 1;
      object.spec.progressDeadlineSeconds ??= 600;
      object.spec.strategy ??= {};
      object.spec.strategy.type ||= 'RollingUpdate';
      if (object.spec.strategy.type === 'RollingUpdate') object.spec.strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
      break;
    case 'ReplicaSet':
      defaultTemplateOwner(object);
      object.spec.replicas ??= 1;
      delete object.spec.revisionHistoryLimit;
      break;
    case 'DaemonSet':
      defaultTemplateOwner(object);
      object.spec.updateStrategy ??= {};
      object.spec.updateStrategy.type ||= 'RollingUpdate';
      if (object.spec.updateStrategy.type === 'RollingUpdate') object.spec.updateStrategy.rollingUpdate ??= { maxUnavailable: 1, maxSurge: 0 };
      break;
    case 'Service':
      object.spec ??= {};
      object.spec.type ??= 'ClusterIP';
      object.spec.sessionAffinity ??= 'None';
      object.spec.internalTrafficPolicy ??= 'Cluster';
      object.spec.ipFamilies ??= ['IPv4'];
      object.spec.ipFamilyPolicy ??= 'SingleStack';
      if (object.spec.clusterIP === undefined || object.spec.clusterIP === '') object.spec.clusterIP = ctx.allocateClusterIp();
      object.spec.clusterIPs ??= object.spec.clusterIP === 'None' ? ['None'] : [object.spec.clusterIP];
      for (const p of (object.spec.ports ?? []) as Any[]) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      object.status ??= { loadBalancer: {} };
      break;
    case 'Secret':
      object.type ??= 'Opaque';
      if (object.stringData !== undefined) {
        // stringData is write-only: merged into data, base64, and never stored (as upstream).
        object.data = { ...(object.data ?? {}), ...Object.fromEntries(Object.entries(object.stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(String(v)).toString('base64')])) };
        delete object.stringData;
      }
      break;
    case 'Namespace':
      object.spec ??= {};
      object.spec.finalizers ??= ['kubernetes'];
      object.status ??= {};
      // A namespace being deleted stays Terminating whatever a status write says.
      object.status.phase = object.metadata?.deletionTimestamp !== undefined ? 'Terminating' : (object.status.phase ?? 'Active');
      object.metadata.labels = { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata.name };
      break;
    case 'Lease':
      object.spec ??= {};
      break;
    default:
      break;
  }
  return object as JsonObject;
}

/** The system fields of a new object. */
export function withCreationMetadata(object: JsonObject, meta: { readonly name: string; readonly namespace: string | undefined; readonly uid: string; readonly now: string; readonly tracksGeneration: boolean }): JsonObject {
  const current = (object['metadata'] ?? {}) as Any;
  const metadata: Any = { ...current, name: meta.name, uid: meta.uid, creationTimestamp: meta.now };
  if (meta.namespace !== undefined) metadata.namespace = meta.namespace;
  else delete metadata.namespace;
  if (meta.tracksGeneration) metadata.generation = 1;
  delete metadata.resourceVersion;
  delete metadata.deletionTimestamp;
  delete metadata.deletionGracePeriodSeconds;
  delete metadata.selfLink;
  return { ...object, metadata };
}

/**
 * An update keeps what clients may not change (uid, creationTimestamp, deletion fields, and the
 * part the other endpoint owns: status for the main resource, everything else for /status), and
 * bumps the generation when anything but metadata and status changed.
 */
export function mergeUpdate(old: JsonObject, incoming: JsonObject, options: { readonly subresource: 'status' | undefined; readonly hasStatusSubresource: boolean; readonly tracksGeneration: boolean }): JsonObject {
  const before = old as Any;
  let next: Any;
  if (options.subresource === 'status') {
    next = { ...clone(before), status: clone((incoming as Any).status) };
    if (next.status === undefined) delete next.status;
  } else {
    next = clone(incoming) as Any;
    if (options.hasStatusSubresource) {
      if (before.status === undefined) delete next.status;
      else next.status = clone(before.status);
    }
  }
  const meta: Any = { ...(next.metadata ?? {}) };
  for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace', 'name'] as const) {
    if (before.metadata?.[key] === undefined) delete meta[key];
    else meta[key] = before.metadata[key];
  }
  next.metadata = meta;
  if (options.tracksGeneration && options.subresource === undefined && specChanged(before, next)) meta.generation = (before.metadata?.generation ?? 0) + 1;
  return next as JsonObject;
}

function specChanged(before: Any, after: Any): boolean {
  const strip = (o: Any): Any => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  return !isDeepStrictEqual(strip(before), strip(after));
}

/** Upstream's pod update rule: only images, activeDeadlineSeconds, tolerations (additions) and grace may change. */
export function podSpecUpdateErrors(before: JsonObject, after: JsonObject): FieldError[] {
  const a = clone(((before as Any).spec ?? {}) as Any);
  const b = clone(((after as Any).spec ?? {}) as Any);
  for (const spec of [a, b]) {
    for (const c of [...((spec.containers ?? []) as Any[]), ...((spec.initContainers ?? []) as Any[])]) delete c.image;
    delete spec.activeDeadlineSeconds;
    delete spec.tolerations;
    delete spec.terminationGracePeriodSeconds;
  }
  if (isDeepStrictEqual(a, b)) return [];
  return [
    {
      field: 'spec',
      type: 'FieldValueForbidden',
      message:
        'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    },
  ];
}

/** Empty metadata maps and lists vanish, as Go's `omitempty` drops them when upstream stores ObjectMeta. */
export function withTidyMetadata(object: JsonObject): JsonObject {
  const meta = { ...((object as Any).metadata ?? {}) } as Any;
  let changed = false;
  for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields']) {
    const value = meta[key];
    if (value !== undefined && (value === null || (Array.isArray(value) ? value.length === 0 : typeof value === 'object' && Object.keys(value).length === 0))) {
      delete meta[key];
      changed = true;
    }
  }
  return changed ? ({ ...object, metadata: meta } as JsonObject) : object;
}

export const finalizersOf = (object: JsonObject): readonly string[] => (((object as Any).metadata?.finalizers ?? []) as string[]);
/** A namespace's spec.finalizers (`kubernetes` until the namespace controller has emptied it). */
export const namespaceFinalizersOf = (namespace: JsonObject): readonly string[] => (((namespace as Any).spec?.finalizers ?? []) as string[]);
export const isBeingDeleted = (object: JsonObject): boolean => (object as Any).metadata?.deletionTimestamp !== undefined;
export const labelsOf = (object: JsonObject): Readonly<Record<string, string>> => ((object as Any).metadata?.labels ?? {}) as Record<string, string>;
export const metadataOf = (object: JsonObject): Any => ((object as Any).metadata ?? {}) as Any;
export const jsonClone = (value: JsonValue): JsonValue => clone(value);
