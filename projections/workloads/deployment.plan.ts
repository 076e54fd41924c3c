// What the Deployment controller decides for one Deployment, as a pure function of the Deployment,
// the ReplicaSets it controls, their pods and the time — kube-controller-manager's rolling update
// and recreate algorithms, one step per pass: create the new ReplicaSet, scale it up within
// maxSurge, scale old ones down within maxUnavailable, trim history, and write the status (with the
// Progressing and Available conditions `kubectl rollout status` reads).
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import {
  POD_TEMPLATE_HASH_LABEL,
  controllerRefOf,
  controllerReference,
  isControlledBy,
  sameStatus,
  labelsOf,
  phaseOf,
  templateHash,
  templatesEqualIgnoringHash,
  type OwnerRef,
} from './pod-template.js';
import { desiredReplicasOf, generationOf } from './replicaset.plan.js';

type Raw = Record<string, unknown>;

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations never copied onto its ReplicaSets (kubectl's rollback skips the same). */
const ANNOTATIONS_NOT_COPIED: ReadonlySet<string> = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

export interface ScaleStep {
  readonly rs: Raw;
  readonly from: number;
  readonly to: number;
}

export interface DeploymentPlan {
  /** A new ReplicaSet for the current template. */
  readonly create: JsonObject | undefined;
  /** spec.replicas changes, applied in order. */
  readonly scale: readonly ScaleStep[];
  /** Annotations to set on a ReplicaSet (revision bump after an undo, change-cause, desired-replicas). */
  readonly annotate: readonly { readonly rs: Raw; readonly annotations: Readonly<Record<string, string>> }[];
  /** Old ReplicaSets past revisionHistoryLimit. */
  readonly remove: readonly Raw[];
  /** The revision annotation the Deployment itself should carry (as upstream sets it; kubectl rollout undo patches it). */
  readonly revision: string | undefined;
  /** The status to write (compare with deploymentStatusEquals first). */
  readonly status: JsonObject;
}

export interface DeploymentClock {
  readonly nowMs: number;
  readonly nowIso: string;
}

const numberAt = (value: unknown, key: string): number => {
  const field = isJsonObject(value) ? value[key] : undefined;
  return typeof field === 'number' ? field : 0;
};
const specReplicas = (rs: Raw): number => numberAt(objectAt(rs, 'spec'), 'replicas');
const statusCount = (rs: Raw, key: string): number => numberAt(objectAt(rs, 'status'), key);
export const revisionOf = (rs: unknown): number => {
  const value = Number(stringAt(objectAt(objectAt(rs, 'metadata'), 'annotations'), REVISION_ANNOTATION) ?? '0');
  return Number.isInteger(value) && value > 0 ? value : 0;
};

/** An intstr (`3` or `'25%'`) as a count of `total`, rounding up or down. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return Math.max(0, Math.floor(value));
  if (typeof value === 'string' && /^\d+%$/.test(value)) {
    const exact = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return 0;
}

/** maxSurge and maxUnavailable resolved against `spec.replicas` (both 0 would deadlock: unavailable becomes 1). */
export function rollingBounds(deployment: Raw): { readonly maxSurge: number; readonly maxUnavailable: number } {
  const strategy = objectAt(objectAt(deployment, 'spec'), 'strategy');
  if (stringAt(strategy, 'type') === 'Recreate') return { maxSurge: 0, maxUnavailable: 0 };
  const rolling = objectAt(strategy, 'rollingUpdate') ?? {};
  const desired = desiredReplicasOf(deployment);
  const maxSurge = scaledValue(rolling['maxSurge'] ?? '25%', desired, true);
  const maxUnavailable = scaledValue(rolling['maxUnavailable'] ?? '25%', desired, false);
  return maxSurge === 0 && maxUnavailable === 0 ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge, maxUnavailable };
}

/** The ReplicaSets a Deployment controls, oldest first. */
export function replicaSetsOf(deployment: Raw, replicaSets: readonly Raw[]): Raw[] {
  const uid = uidOf(deployment);
  return replicaSets
    .filter((rs) => isControlledBy(rs, uid))
    .sort((a, b) => (stringAt(objectAt(a, 'metadata'), 'creationTimestamp') ?? '').localeCompare(stringAt(objectAt(b, 'metadata'), 'creationTimestamp') ?? '') || nameOf(a).localeCompare(nameOf(b)));
}

/** Plans one Deployment. `pods`: the pods in its namespace (Recreate waits for old ones to go). */
export function planDeployment(deployment: Raw, replicaSets: readonly Raw[], pods: readonly Raw[], clock: DeploymentClock): DeploymentPlan {
  const owned = replicaSetsOf(deployment, replicaSets);
  const template = objectAt(objectAt(deployment, 'spec'), 'template');
  const current = owned.find((rs) => templatesEqualIgnoringHash(objectAt(objectAt(rs, 'spec'), 'template'), template));
  const old = owned.filter((rs) => rs !== current);
  const paused = objectAt(deployment, 'spec')?.['paused'] === true;
  const beingDeleted = stringAt(objectAt(deployment, 'metadata'), 'deletionTimestamp') !== undefined;
  if (paused || beingDeleted) return { create: undefined, scale: [], annotate: [], remove: [], revision: undefined, status: statusOf(deployment, current, old, clock, { paused, created: undefined }) };

  const recreate = stringAt(objectAt(objectAt(deployment, 'spec'), 'strategy'), 'type') === 'Recreate';
  const maxOldRevision = Math.max(0, ...old.map(revisionOf));
  if (current === undefined) {
    const oldPodsRunning = recreate && oldPodsActive(old, pods);
    const replicas = recreate ? (old.some((rs) => specReplicas(rs) > 0) || oldPodsRunning ? 0 : desiredReplicasOf(deployment)) : newReplicaSetReplicas(deployment, 0, old);
    const created = newReplicaSet(deployment, maxOldRevision + 1, replicas);
    const scale = recreate ? old.filter((rs) => specReplicas(rs) > 0).map((rs) => ({ rs, from: specReplicas(rs), to: 0 })) : [];
    return { create: created, scale, annotate: [], remove: [], revision: String(maxOldRevision + 1), status: statusOf(deployment, undefined, old, clock, { paused, created }) };
  }

  const annotate = annotationChanges(deployment, current, maxOldRevision);
  const scale = recreate ? recreateSteps(deployment, current, old, pods) : rollingSteps(deployment, current, old);
  const revision = annotate[0]?.annotations[REVISION_ANNOTATION] ?? String(revisionOf(current));
  return { create: undefined, scale, annotate, remove: historyToRemove(deployment, old), revision, status: statusOf(deployment, current, old, clock, { paused, created: undefined }) };
}

/** Upstream's NewRSNewReplicas: scale the new ReplicaSet up as far as maxSurge allows. */
function newReplicaSetReplicas(deployment: Raw, currentNew: number, old: readonly Raw[]): number {
  const desired = desiredReplicasOf(deployment);
  if (currentNew >= desired) return desired;
  const { maxSurge } = rollingBounds(deployment);
  const total = currentNew + old.reduce((sum, rs) => sum + specReplicas(rs), 0);
  const room = desired + maxSurge - total;
  return room <= 0 ? currentNew : currentNew + Math.min(room, desired - currentNew);
}

/** One rolling-update step: scale the new ReplicaSet up if it may, else scale old ones down. */
function rollingSteps(deployment: Raw, current: Raw, old: readonly Raw[]): ScaleStep[] {
  const desired = desiredReplicasOf(deployment);
  const currentNew = specReplicas(current);
  const targetNew = newReplicaSetReplicas(deployment, currentNew, old);
  if (targetNew !== currentNew) return [{ rs: current, from: currentNew, to: targetNew }];
  const oldTotal = old.reduce((sum, rs) => sum + specReplicas(rs), 0);
  if (oldTotal === 0) return [];
  const { maxUnavailable } = rollingBounds(deployment);
  const all = [current, ...old];
  const allPods = all.reduce((sum, rs) => sum + specReplicas(rs), 0);
  const minAvailable = desired - maxUnavailable;
  const newUnavailable = Math.max(0, currentNew - statusCount(current, 'availableReplicas'));
  let budget = allPods - minAvailable - newUnavailable;
  if (budget <= 0) return [];
  const steps = new Map<Raw, number>(old.map((rs) => [rs, specReplicas(rs)]));
  // First the old pods that are not available anyway (upstream's cleanupUnhealthyReplicas).
  for (const rs of old) {
    const unhealthy = Math.max(0, (steps.get(rs) ?? 0) - statusCount(rs, 'availableReplicas'));
    const cut = Math.min(unhealthy, budget);
    if (cut > 0) steps.set(rs, (steps.get(rs) ?? 0) - cut);
    budget -= cut;
  }
  // Then available ones, oldest ReplicaSet first, while the available count stays above the minimum.
  const available = all.reduce((sum, rs) => sum + statusCount(rs, 'availableReplicas'), 0);
  let downBy = Math.min(budget, available - minAvailable);
  for (const rs of old) {
    if (downBy <= 0) break;
    const cut = Math.min(steps.get(rs) ?? 0, downBy);
    steps.set(rs, (steps.get(rs) ?? 0) - cut);
    downBy -= cut;
  }
  return old.filter((rs) => steps.get(rs) !== specReplicas(rs)).map((rs) => ({ rs, from: specReplicas(rs), to: steps.get(rs) ?? 0 }));
}

/** Recreate: old ReplicaSets to zero, then (once their pods are gone) the new one to the desired count. */
function recreateSteps(deployment: Raw, current: Raw, old: readonly Raw[], pods: readonly Raw[]): ScaleStep[] {
  const scaleDown = old.filter((rs) => specReplicas(rs) > 0).map((rs) => ({ rs, from: specReplicas(rs), to: 0 }));
  if (scaleDown.length > 0) return scaleDown;
  if (oldPodsActive(old, pods)) return [];
  const desired = desiredReplicasOf(deployment);
  return specReplicas(current) === desired ? [] : [{ rs: current, from: specReplicas(current), to: desired }];
}

/** Whether pods of the old ReplicaSets still run (terminating ones count: Recreate never overlaps). */
function oldPodsActive(old: readonly Raw[], pods: readonly Raw[]): boolean {
  const uids = new Set(old.map(uidOf));
  return pods.some((pod) => {
    const owner = controllerRefOf(pod);
    return owner !== undefined && uids.has(owner.uid) && phaseOf(pod) !== 'Succeeded' && phaseOf(pod) !== 'Failed';
  });
}

/** The Deployment's annotations a ReplicaSet carries (so `kubectl rollout undo` can copy them back). */
function copiedAnnotations(deployment: Raw): Record<string, string> {
  const annotations = objectAt(objectAt(deployment, 'metadata'), 'annotations') ?? {};
  return Object.fromEntries(Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !ANNOTATIONS_NOT_COPIED.has(entry[0])));
}

function replicaSetAnnotations(deployment: Raw, revision: number): Record<string, string> {
  const desired = desiredReplicasOf(deployment);
  return {
    ...copiedAnnotations(deployment),
    [REVISION_ANNOTATION]: String(revision),
    [DESIRED_REPLICAS_ANNOTATION]: String(desired),
    [MAX_REPLICAS_ANNOTATION]: String(desired + rollingBounds(deployment).maxSurge),
  };
}

/** The current ReplicaSet's annotations when they lag: a revision at or below an old one's (after an undo), changed copies. */
function annotationChanges(deployment: Raw, current: Raw, maxOldRevision: number): DeploymentPlan['annotate'] {
  const revision = revisionOf(current) > maxOldRevision ? revisionOf(current) : maxOldRevision + 1;
  const wanted = replicaSetAnnotations(deployment, revision);
  const stored = objectAt(objectAt(current, 'metadata'), 'annotations') ?? {};
  const changed = Object.entries(wanted).filter(([key, value]) => stored[key] !== value);
  return changed.length === 0 ? [] : [{ rs: current, annotations: Object.fromEntries(changed) }];
}

function newReplicaSet(deployment: Raw, revision: number, replicas: number): JsonObject {
  const collisionCount = numberAt(objectAt(deployment, 'status'), 'collisionCount');
  const spec = objectAt(deployment, 'spec') ?? {};
  const template = structuredClone(objectAt(spec, 'template') ?? {}) as Raw;
  const hash = templateHash(template, collisionCount);
  const templateMetadata = (objectAt(template, 'metadata') ?? {}) as Raw;
  const labels = { ...labelsOf(template), [POD_TEMPLATE_HASH_LABEL]: hash };
  template['metadata'] = { ...templateMetadata, labels };
  const selector = structuredClone(objectAt(spec, 'selector') ?? {}) as Raw;
  selector['matchLabels'] = { ...(objectAt(selector, 'matchLabels') ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const owner: OwnerRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: nameOf(deployment), uid: uidOf(deployment) };
  const minReadySeconds = numberAt(spec, 'minReadySeconds');
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${nameOf(deployment)}-${hash}`,
      namespace: namespaceOf(deployment),
      labels,
      annotations: replicaSetAnnotations(deployment, revision),
      ownerReferences: [controllerReference(owner)],
    },
    spec: { replicas, minReadySeconds, selector, template },
  } as JsonObject;
}

/** Old ReplicaSets at zero beyond spec.revisionHistoryLimit (default 10), oldest revision first. */
function historyToRemove(deployment: Raw, old: readonly Raw[]): Raw[] {
  const limitField = objectAt(deployment, 'spec')?.['revisionHistoryLimit'];
  const limit = typeof limitField === 'number' && limitField >= 0 ? limitField : 10;
  const idle = old.filter((rs) => specReplicas(rs) === 0 && statusCount(rs, 'replicas') === 0 && stringAt(objectAt(rs, 'metadata'), 'deletionTimestamp') === undefined);
  if (idle.length <= limit) return [];
  return [...idle].sort((a, b) => revisionOf(a) - revisionOf(b)).slice(0, idle.length - limit);
}

interface StatusContext {
  readonly paused: boolean;
  /** A ReplicaSet this pass creates (its name goes into the Progressing condition). */
  readonly created: JsonObject | undefined;
}

/** The Deployment's status from its ReplicaSets' statuses, with Available and Progressing conditions. */
function statusOf(deployment: Raw, current: Raw | undefined, old: readonly Raw[], clock: DeploymentClock, context: StatusContext): JsonObject {
  const all = current === undefined ? [...old] : [current, ...old];
  const sum = (key: string): number => all.reduce((total, rs) => total + statusCount(rs, key), 0);
  const desired = desiredReplicasOf(deployment);
  const replicas = sum('replicas');
  const updatedReplicas = current === undefined ? 0 : statusCount(current, 'replicas');
  const availableReplicas = sum('availableReplicas');
  const specTotal = all.reduce((total, rs) => total + specReplicas(rs), 0);
  const counts = { replicas, updatedReplicas, readyReplicas: sum('readyReplicas'), availableReplicas, unavailableReplicas: Math.max(0, specTotal - availableReplicas) };
  const previous = objectAt(deployment, 'status') ?? {};
  const { maxUnavailable } = rollingBounds(deployment);
  const available = availableReplicas >= desired - maxUnavailable
    ? { status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
    : { status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
  const progressing = progressingOf(deployment, current, counts, clock, context);
  const conditions = [withTimes(previous, 'Available', available, clock, false), withTimes(previous, 'Progressing', progressing.condition, clock, progressing.progressed)];
  const collisionCount = objectAt(deployment, 'status')?.['collisionCount'];
  return {
    observedGeneration: generationOf(deployment),
    ...counts,
    conditions,
    ...(typeof collisionCount === 'number' ? { collisionCount } : {}),
  } as JsonObject;
}

type Condition = { readonly status: string; readonly reason: string; readonly message: string };

function progressingOf(deployment: Raw, current: Raw | undefined, counts: { replicas: number; updatedReplicas: number; readyReplicas: number; availableReplicas: number }, clock: DeploymentClock, context: StatusContext): { condition: Condition; progressed: boolean } {
  if (context.paused) return { condition: { status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, progressed: false };
  if (context.created !== undefined) {
    const name = stringAt(objectAt(context.created, 'metadata'), 'name') ?? '';
    return { condition: { status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, progressed: true };
  }
  const name = current === undefined ? '' : nameOf(current);
  const desired = desiredReplicasOf(deployment);
  if (current !== undefined && counts.updatedReplicas === desired && counts.replicas === desired && counts.availableReplicas === desired) {
    return { condition: { status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, progressed: false };
  }
  const previous = objectAt(deployment, 'status') ?? {};
  const before = { updated: numberAt(previous, 'updatedReplicas'), old: numberAt(previous, 'replicas') - numberAt(previous, 'updatedReplicas'), ready: numberAt(previous, 'readyReplicas'), available: numberAt(previous, 'availableReplicas') };
  const progressed = counts.updatedReplicas > before.updated || counts.replicas - counts.updatedReplicas < before.old || counts.readyReplicas > before.ready || counts.availableReplicas > before.available;
  const stored = conditionOf(previous, 'Progressing');
  if (!progressed && stored !== undefined && stringAt(stored, 'reason') === 'ProgressDeadlineExceeded') {
    return { condition: { status: 'False', reason: 'ProgressDeadlineExceeded', message: stringAt(stored, 'message') ?? '' }, progressed: false };
  }
  const deadlineField = objectAt(deployment, 'spec')?.['progressDeadlineSeconds'];
  const deadlineSeconds = typeof deadlineField === 'number' ? deadlineField : 600;
  const lastUpdate = Date.parse(stringAt(stored, 'lastUpdateTime') ?? '');
  if (!progressed && !Number.isNaN(lastUpdate) && clock.nowMs - lastUpdate > deadlineSeconds * 1000) {
    return { condition: { status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, progressed: false };
  }
  const updating = { status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` };
  // A rollout that is moving keeps its condition (and so its deadline clock) unless it progressed.
  if (!progressed && stored !== undefined && stringAt(stored, 'status') === 'True' && stringAt(stored, 'reason') !== 'NewReplicaSetAvailable') {
    return { condition: { status: 'True', reason: stringAt(stored, 'reason') ?? updating.reason, message: stringAt(stored, 'message') ?? updating.message }, progressed: false };
  }
  return { condition: updating, progressed: true };
}

const conditionOf = (status: Raw, type: string): Raw | undefined => arrayAt(status, 'conditions').find((c): c is Raw => stringAt(c, 'type') === type) as Raw | undefined;

/** A condition with upstream's times: the transition time moves when the status does, the update time when anything does. */
function withTimes(previousStatus: Raw, type: string, condition: Condition, clock: DeploymentClock, progressed: boolean): JsonObject {
  const stored = conditionOf(previousStatus, type);
  const same = stored !== undefined && stringAt(stored, 'status') === condition.status;
  const unchanged = same && stringAt(stored, 'reason') === condition.reason && stringAt(stored, 'message') === condition.message && !progressed;
  return {
    type,
    ...condition,
    lastUpdateTime: unchanged ? (stringAt(stored, 'lastUpdateTime') ?? clock.nowIso) : clock.nowIso,
    lastTransitionTime: same ? (stringAt(stored, 'lastTransitionTime') ?? clock.nowIso) : clock.nowIso,
  };
}

/** Whether the stored status says `status` already. */
export const deploymentStatusEquals = (deployment: Raw, status: JsonObject): boolean => sameStatus(objectAt(deployment, 'status'), status);
