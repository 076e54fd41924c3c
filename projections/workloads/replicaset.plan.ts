// What the ReplicaSet controller decides for one ReplicaSet, as a pure function of the ReplicaSet,
// the pods in its namespace and the time: pods to create, pods to delete (the cheapest to lose
// first, kube-controller-manager's ranking), orphans to adopt, and the status to write.
import { isJsonObject } from '../../kernel/index.js';
import { arrayAt, nameOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import {
  controllerRefOf,
  isActivePod,
  isAvailablePod,
  isReadyPod,
  isTerminating,
  labelsOf,
  minReadySecondsOf,
  phaseOf,
  sameStatus,
  selectorMatches,
} from './pod-template.js';

type Raw = Record<string, unknown>;

/** Pods one pass creates or deletes for one ReplicaSet at most (upstream's burstReplicas). */
export const REPLICAS_BURST_MAX = 500;

/** The status subresource of a ReplicaSet, as kube-controller-manager writes it. */
export interface ReplicaSetStatus {
  readonly replicas: number;
  readonly fullyLabeledReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly observedGeneration: number;
}

export interface ReplicaSetPlan {
  /** How many pods to create from the template. */
  readonly create: number;
  /** Pods to delete, in order. */
  readonly delete: readonly Raw[];
  /** Pods matching the selector with no controller: take them (as upstream's adoption). */
  readonly adopt: readonly Raw[];
  readonly status: ReplicaSetStatus;
}

/** `spec.replicas` (1 when missing, as the API server defaults it). */
export const desiredReplicasOf = (workload: unknown): number => {
  const value = objectAt(workload, 'spec')?.['replicas'];
  return typeof value === 'number' && value >= 0 ? value : 1;
};

/** `metadata.generation`, 0 when missing. */
export const generationOf = (object: unknown): number => {
  const value = objectAt(object, 'metadata')?.['generation'];
  return typeof value === 'number' ? value : 0;
};

/**
 * The pods a ReplicaSet owns among `pods`: controlled by its uid. Orphans that match its selector
 * come separately (to adopt), and pods of other controllers are never counted.
 */
export function podsOfReplicaSet(rs: Raw, pods: readonly Raw[]): { readonly owned: Raw[]; readonly orphans: Raw[] } {
  const uid = uidOf(rs);
  const selector = objectAt(objectAt(rs, 'spec'), 'selector');
  const owned: Raw[] = [];
  const orphans: Raw[] = [];
  for (const pod of pods) {
    const ref = controllerRefOf(pod);
    if (ref !== undefined) {
      if (ref.uid === uid) owned.push(pod);
    } else if (!isTerminating(pod) && selectorMatches(selector, labelsOf(pod))) {
      orphans.push(pod);
    }
  }
  return { owned, orphans };
}

/** Plans one ReplicaSet. `reconcileReplicas` false (creates or deletes of its own still in flight): status only. */
export function planReplicaSet(rs: Raw, pods: readonly Raw[], nowMs: number, reconcileReplicas = true): ReplicaSetPlan {
  const { owned, orphans } = podsOfReplicaSet(rs, pods);
  const beingDeleted = stringAt(objectAt(rs, 'metadata'), 'deletionTimestamp') !== undefined;
  const adopt = beingDeleted ? [] : orphans;
  const active = [...owned, ...adopt].filter(isActivePod);
  const status = statusOf(rs, active, nowMs);
  if (!reconcileReplicas || beingDeleted) return { create: 0, delete: [], adopt, status };
  const diff = desiredReplicasOf(rs) - active.length;
  if (diff > 0) return { create: Math.min(diff, REPLICAS_BURST_MAX), delete: [], adopt, status };
  if (diff < 0) return { create: 0, delete: rankForDeletion(active).slice(0, Math.min(-diff, REPLICAS_BURST_MAX)), adopt, status };
  return { create: 0, delete: [], adopt, status };
}

function statusOf(rs: Raw, active: readonly Raw[], nowMs: number): ReplicaSetStatus {
  const templateLabels = labelsOf(objectAt(objectAt(rs, 'spec'), 'template'));
  const minReady = minReadySecondsOf(rs);
  const fullyLabeled = active.filter((pod) => {
    const labels = labelsOf(pod);
    return Object.entries(templateLabels).every(([key, value]) => labels[key] === value);
  });
  return {
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled.length,
    readyReplicas: active.filter(isReadyPod).length,
    availableReplicas: active.filter((pod) => isAvailablePod(pod, minReady, nowMs)).length,
    observedGeneration: generationOf(rs),
  };
}

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, '': 0, Unknown: 1, Running: 2 };

const restartsOf = (pod: Raw): number =>
  arrayAt(objectAt(pod, 'status'), 'containerStatuses').reduce<number>((sum, c) => sum + (isJsonObject(c) && typeof c['restartCount'] === 'number' ? c['restartCount'] : 0), 0);

/**
 * Pods ordered cheapest-to-lose first, as kube-controller-manager ranks them: unscheduled before
 * scheduled, Pending before Unknown before Running, not ready before ready, more restarts first,
 * newer before older (name breaks ties, so the order is total and a pass is deterministic).
 */
export function rankForDeletion(pods: readonly Raw[]): Raw[] {
  const key = (pod: Raw) => ({
    scheduled: (stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '') === '' ? 0 : 1,
    phase: PHASE_RANK[phaseOf(pod)] ?? 2,
    ready: isReadyPod(pod) ? 1 : 0,
    restarts: restartsOf(pod),
    created: stringAt(objectAt(pod, 'metadata'), 'creationTimestamp') ?? '',
  });
  return [...pods].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka.scheduled - kb.scheduled || ka.phase - kb.phase || ka.ready - kb.ready || kb.restarts - ka.restarts || kb.created.localeCompare(ka.created) || nameOf(a).localeCompare(nameOf(b));
  });
}

/** Whether the stored status already says `status` (then no write is needed). */
export function replicaSetStatusEquals(rs: Raw, status: ReplicaSetStatus): boolean {
  // Only the fields this controller writes: conditions others write are not ours to compare.
  const stored = objectAt(rs, 'status') ?? {};
  return sameStatus(Object.fromEntries(Object.keys(status).map((key) => [key, stored[key]])), status);
}
