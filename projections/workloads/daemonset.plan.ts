// What the DaemonSet controller does for one DaemonSet, decided from what the API shows: which node
// must run a daemon pod (upstream's nodeShouldRunDaemonPod, with the tolerations every daemon pod
// gets), which pods to create and delete (manage, then the rolling update), which ControllerRevision
// holds the current template, and the status to write. Pure: objects in, a plan out; the controller
// shell executes it (daemonset-controller.ts).
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject } from '../../kernel/index.js';
import { arrayAt, isTrueAt, nameOf, namespaceOf, objectAt, stringAt } from '../kube/json-fields.js';
import { nodeAdmitsBySelectorAndTaints } from '../scheduler/placement.js';
import { controllerReference, isAvailablePod, isReadyPod, isTerminating, labelsOf, minReadySecondsOf, ownerRefOf, phaseOf, podFromTemplate, templateHash } from './pod-template.js';

type Raw = Record<string, unknown>;

/** The label naming the ControllerRevision (its hash) a daemon pod was made from. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';
/** The deprecated label upstream still puts on daemon pods: the DaemonSet's template generation. */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
/** Where kube-apiserver keeps a DaemonSet's template generation (absent here: metadata.generation stands in). */
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
/** Old revisions kept when the DaemonSet does not say (apps/v1 default). */
const REVISION_HISTORY_LIMIT_DEFAULT = 10;
/** Pods created or deleted for one DaemonSet in one pass at most (upstream's burstReplicas). */
export const POD_WRITES_PER_PASS_MAX = 250;

/** The DaemonSet's apiVersion and kind, for owner references and Events. */
export const DAEMONSET_API_VERSION = 'apps/v1';
export const DAEMONSET_KIND = 'DaemonSet';

/**
 * The tolerations the upstream DaemonSet controller adds to every daemon pod, so a daemon pod keeps
 * running on a node that goes NotReady or unreachable (edge autonomy: an edge cut off from the cloud
 * keeps its daemons) and lands on nodes under pressure, cordoned, or without a network plugin yet.
 */
export function daemonTolerations(hostNetwork: boolean): readonly JsonObject[] {
  const exists = (key: string, effect: string): JsonObject => ({ key, operator: 'Exists', effect });
  return [
    exists('node.kubernetes.io/not-ready', 'NoExecute'),
    exists('node.kubernetes.io/unreachable', 'NoExecute'),
    exists('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    exists('node.kubernetes.io/unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [exists('node.kubernetes.io/network-unavailable', 'NoSchedule')] : []),
  ];
}

/** A pod spec with the daemon tolerations added, each unless an identical one is there already. */
export function withDaemonTolerations(podSpec: Raw | undefined): Raw {
  const spec: Raw = structuredClone(podSpec ?? {});
  const tolerations = [...arrayAt(spec, 'tolerations')];
  const same = (a: unknown, b: JsonObject): boolean => ['key', 'operator', 'value', 'effect'].every((field) => (stringAt(a, field) ?? '') === (stringAt(b, field) ?? ''));
  for (const toleration of daemonTolerations(isTrueAt(spec, 'hostNetwork'))) if (!tolerations.some((t) => same(t, toleration))) tolerations.push(toleration);
  spec['tolerations'] = tolerations;
  return spec;
}

/** Whether a node should get a daemon pod, and whether one already there may stay (upstream's pair). */
export interface NodeFit {
  readonly shouldRun: boolean;
  readonly shouldContinueRunning: boolean;
}

/**
 * Upstream's nodeShouldRunDaemonPod: the node must match nodeSelector and required node affinity;
 * it should run the pod when the pod (with the daemon tolerations) tolerates its NoSchedule and
 * NoExecute taints, and a pod there may continue when its NoExecute taints are tolerated. A node's
 * Ready condition alone never excludes it: only taints do, so a NotReady edge still gets its pod.
 */
export function nodeFitOf(daemonPodSpec: Raw, node: Raw): NodeFit {
  if (nodeAdmitsBySelectorAndTaints(daemonPodSpec, node, ['NoSchedule', 'NoExecute'])) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: nodeAdmitsBySelectorAndTaints(daemonPodSpec, node, ['NoExecute']) };
}

const templateOf = (ds: Raw): Raw => objectAt(objectAt(ds, 'spec'), 'template') ?? {};
const numberAt = (value: unknown, key: string): number | undefined => {
  const n = (value as Raw | undefined)?.[key];
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
const generationOf = (object: unknown): number => numberAt(objectAt(object, 'metadata'), 'generation') ?? 0;
const collisionCountOf = (ds: Raw): number => numberAt(objectAt(ds, 'status'), 'collisionCount') ?? 0;
const nodeNameOf = (pod: unknown): string => stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '';
const revisionNumberOf = (revision: unknown): number => numberAt(revision, 'revision') ?? 0;
const revisionHashOf = (revision: unknown): string => labelsOf(revision)[REVISION_HASH_LABEL] ?? nameOf(revision);

/** The template generation pods are labelled with: kube-apiserver's annotation, else metadata.generation. */
function templateGenerationOf(ds: Raw): string {
  return stringAt(objectAt(objectAt(ds, 'metadata'), 'annotations'), TEMPLATE_GENERATION_ANNOTATION) ?? String(generationOf(ds));
}

/** The ControllerRevision data upstream stores: a strategic merge patch that replaces spec.template. */
const revisionDataOf = (ds: Raw): JsonObject => ({ spec: { template: { ...structuredClone(templateOf(ds)), $patch: 'replace' } } }) as JsonObject;

/** Whether a ControllerRevision holds the DaemonSet's current template. */
export function revisionMatches(ds: Raw, revision: Raw): boolean {
  const stored = objectAt(objectAt(objectAt(revision, 'data'), 'spec'), 'template');
  if (stored === undefined) return false;
  const { $patch: _directive, ...template } = stored;
  return isDeepStrictEqual(template, templateOf(ds));
}

/** The ControllerRevision recording the DaemonSet's current template as revision `number`. */
export function controllerRevisionOf(ds: Raw, hash: string, number: number): JsonObject {
  const annotations = objectAt(objectAt(ds, 'metadata'), 'annotations');
  const metadata: Raw = {
    name: `${nameOf(ds)}-${hash}`,
    namespace: namespaceOf(ds),
    labels: { ...labelsOf(templateOf(ds)), [REVISION_HASH_LABEL]: hash },
    ownerReferences: [controllerReference(ownerRefOf(ds, DAEMONSET_API_VERSION, DAEMONSET_KIND))],
  };
  if (annotations !== undefined) metadata['annotations'] = structuredClone(annotations);
  return { apiVersion: DAEMONSET_API_VERSION, kind: 'ControllerRevision', metadata, data: revisionDataOf(ds), revision: number } as JsonObject;
}

/** What to write so a ControllerRevision holds the current template as the newest revision. */
export type RevisionStep =
  /** The newest revision already holds it. */
  | { readonly kind: 'current'; readonly hash: string }
  /** No revision holds it: create one. */
  | { readonly kind: 'create'; readonly hash: string; readonly revision: JsonObject }
  /** An older revision holds it (a rollback): give it the next number. */
  | { readonly kind: 'renumber'; readonly hash: string; readonly revision: Raw; readonly number: number }
  /** The name `<ds>-<hash>` is taken by another template: bump status.collisionCount and hash again. */
  | { readonly kind: 'collision'; readonly collisionCount: number };

/** Upstream's constructHistory, as a decision over the DaemonSet's own ControllerRevisions. */
export function revisionStepOf(ds: Raw, revisions: readonly Raw[]): RevisionStep {
  const current = revisions.filter((r) => revisionMatches(ds, r)).sort((a, b) => revisionNumberOf(b) - revisionNumberOf(a))[0];
  const next = Math.max(0, ...revisions.filter((r) => !revisionMatches(ds, r)).map(revisionNumberOf)) + 1;
  if (current !== undefined) {
    const hash = revisionHashOf(current);
    return revisionNumberOf(current) < next ? { kind: 'renumber', hash, revision: current, number: next } : { kind: 'current', hash };
  }
  const hash = templateHash(templateOf(ds), collisionCountOf(ds));
  if (revisions.some((r) => nameOf(r) === `${nameOf(ds)}-${hash}`)) return { kind: 'collision', collisionCount: collisionCountOf(ds) + 1 };
  return { kind: 'create', hash, revision: controllerRevisionOf(ds, hash, next) };
}

/**
 * The pod to create on `nodeName`: the template with the daemon tolerations, the revision labels,
 * owned by the DaemonSet, and `spec.nodeName` set. Upstream pins a daemon pod with a node affinity
 * on metadata.name and lets kube-scheduler bind it; the affinity is kept for parity, but the pod is
 * bound here directly because the embedded scheduler treats a NotReady node as tainted not-ready
 * and would leave a daemon pod for a disconnected edge pending, while a daemon pod must land on
 * every node the DaemonSet selects (the edge receives it once it is back).
 */
export function daemonPodOf(ds: Raw, nodeName: string, hash: string): JsonObject {
  const template = structuredClone(templateOf(ds));
  const metadata: Raw = { ...(objectAt(template, 'metadata') ?? {}) };
  metadata['labels'] = { ...labelsOf(template), [TEMPLATE_GENERATION_LABEL]: templateGenerationOf(ds), [REVISION_HASH_LABEL]: hash };
  const spec = withDaemonTolerations(objectAt(template, 'spec'));
  const nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } };
  const affinity = objectAt(spec, 'affinity') ?? {};
  spec['affinity'] = { ...affinity, nodeAffinity: { ...(objectAt(affinity, 'nodeAffinity') ?? {}), ...nodeAffinity } };
  const owner = ownerRefOf(ds, DAEMONSET_API_VERSION, DAEMONSET_KIND);
  return podFromTemplate({ metadata, spec }, owner, `${nameOf(ds)}-`, namespaceOf(ds), { nodeName });
}

/** Upstream's podByCreationTimestampAndPhase: bound pods first, then the oldest, then by name. */
function byAge(a: Raw, b: Raw): number {
  const bound = Number(nodeNameOf(b) !== '') - Number(nodeNameOf(a) !== '');
  if (bound !== 0) return bound;
  const created = (stringAt(objectAt(a, 'metadata'), 'creationTimestamp') ?? '').localeCompare(stringAt(objectAt(b, 'metadata'), 'creationTimestamp') ?? '');
  return created !== 0 ? created : nameOf(a).localeCompare(nameOf(b));
}

const isTerminal = (pod: unknown): boolean => phaseOf(pod) === 'Succeeded' || phaseOf(pod) === 'Failed';

/**
 * Daemon pods by node name, oldest first. Pods that ended and are being deleted are left out unless
 * `withDeletedTerminal` (a replacement may be made while they go).
 */
export function podsByNode(pods: readonly Raw[], withDeletedTerminal: boolean): Map<string, Raw[]> {
  const byNode = new Map<string, Raw[]>();
  for (const pod of [...pods].sort(byAge)) {
    if (!withDeletedTerminal && isTerminal(pod) && isTerminating(pod)) continue;
    const node = nodeNameOf(pod);
    if (node === '') continue;
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  return byNode;
}

/** Whether a daemon pod was made from the revision with `hash`. */
export const isUpdatedPod = (pod: Raw, hash: string): boolean => labelsOf(pod)[REVISION_HASH_LABEL] === hash;

/** A daemon pod to delete, on which node, and why (for the log and the Events). */
export interface PodDeletion {
  readonly pod: Raw;
  readonly node: string;
  readonly why: 'failed' | 'succeeded' | 'excess' | 'misscheduled' | 'outdated';
}

interface PodChanges {
  readonly creates: readonly string[];
  readonly deletes: readonly PodDeletion[];
}

const noChanges: PodChanges = { creates: [], deletes: [] };

/** Whether the update strategy lets a new pod start beside the old one (RollingUpdate with maxSurge > 0). */
interface NodeContext {
  readonly hash: string;
  readonly surge: boolean;
  /** A failed pod on this node was deleted lately: this one waits (upstream's failed-pod backoff). */
  readonly inBackoff: boolean;
}

/** Upstream's podsShouldBeOnNode: what one node needs, given the DaemonSet's pods on it (oldest first). */
function manageNode(node: string, fit: NodeFit, daemonPods: readonly Raw[] | undefined, context: NodeContext): PodChanges {
  if (fit.shouldRun && daemonPods === undefined) return { creates: [node], deletes: [] };
  if (daemonPods === undefined) return noChanges;
  if (!fit.shouldContinueRunning) return { creates: [], deletes: daemonPods.filter((pod) => !isTerminating(pod)).map((pod) => ({ pod, node, why: 'misscheduled' })) };
  const deletes: PodDeletion[] = [];
  const running: Raw[] = [];
  for (const pod of daemonPods) {
    if (isTerminating(pod)) continue;
    if (phaseOf(pod) === 'Failed') {
      if (!context.inBackoff) deletes.push({ pod, node, why: 'failed' });
    } else if (phaseOf(pod) === 'Succeeded') deletes.push({ pod, node, why: 'succeeded' });
    else running.push(pod);
  }
  if (!context.surge) return { creates: [], deletes: [...deletes, ...running.slice(1).map((pod): PodDeletion => ({ pod, node, why: 'excess' }))] };
  if (running.length === 0) return { creates: fit.shouldRun ? [node] : [], deletes };
  return { creates: [], deletes: [...deletes, ...surgeExcess(running, context.hash).map((pod): PodDeletion => ({ pod, node, why: 'excess' }))] };
}

/**
 * With surge, two pods may share a node only while the new one is not ready and the old one is;
 * beyond the oldest of each kind every pod goes, and the old one goes once it is not needed.
 */
function surgeExcess(running: readonly Raw[], hash: string): Raw[] {
  let oldestNew: Raw | undefined;
  let oldestOld: Raw | undefined;
  const excess: Raw[] = [];
  for (const pod of running) {
    if (isUpdatedPod(pod, hash) && oldestNew === undefined) oldestNew = pod;
    else if (!isUpdatedPod(pod, hash) && oldestOld === undefined) oldestOld = pod;
    else excess.push(pod);
  }
  if (oldestNew !== undefined && oldestOld !== undefined && (!isReadyPod(oldestOld) || isReadyPod(oldestNew))) excess.push(oldestOld);
  return excess;
}

/** The one new and one old pod on a node; undefined when there are two of either (manage sorts that out first). */
function newAndOld(pods: readonly Raw[], hash: string): { readonly newPod: Raw | undefined; readonly oldPod: Raw | undefined } | undefined {
  let newPod: Raw | undefined;
  let oldPod: Raw | undefined;
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    if (isUpdatedPod(pod, hash)) {
      if (newPod !== undefined) return undefined;
      newPod = pod;
    } else {
      if (oldPod !== undefined) return undefined;
      oldPod = pod;
    }
  }
  return { newPod, oldPod };
}

/** An intOrString bound scaled on `total` (percentages round up, as upstream's UnavailableCount/SurgeCount). */
function scaledBound(value: unknown, total: number): number {
  if (typeof value === 'number') return Math.max(0, Math.floor(value));
  const percent = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  return percent?.[1] === undefined ? 0 : Math.ceil((Number(percent[1]) * total) / 100);
}

/** The rolling update's bounds; an impossible 0/0 means maxUnavailable 1, as upstream. */
function rollingBounds(ds: Raw, desired: number): { readonly maxSurge: number; readonly maxUnavailable: number } {
  const rolling = objectAt(objectAt(objectAt(ds, 'spec'), 'updateStrategy'), 'rollingUpdate');
  const maxSurge = scaledBound(rolling?.['maxSurge'] ?? 0, desired);
  const maxUnavailable = scaledBound(rolling?.['maxUnavailable'] ?? 1, desired);
  return { maxSurge, maxUnavailable: desired > 0 && maxSurge === 0 && maxUnavailable === 0 ? 1 : maxUnavailable };
}

const isRollingUpdate = (ds: Raw): boolean => (stringAt(objectAt(objectAt(ds, 'spec'), 'updateStrategy'), 'type') ?? 'RollingUpdate') === 'RollingUpdate';

/**
 * Upstream's rollingUpdate without surge: old pods that are unavailable may always be replaced; of
 * the rest, as many as maxUnavailable allows once the nodes already unavailable (no pod, a new pod
 * not yet available, a pod being replaced) are counted. Manage creates the new pod once the old is gone.
 */
function rollWithoutSurge(entries: ReadonlyMap<string, readonly Raw[]>, hash: string, maxUnavailable: number, available: (pod: Raw) => boolean): PodDeletion[] {
  let unavailable = 0;
  const replaceable: PodDeletion[] = [];
  const candidates: PodDeletion[] = [];
  for (const [node, pods] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
    const found = newAndOld(pods, hash);
    if (found === undefined || (found.newPod === undefined) === (found.oldPod === undefined)) unavailable += 1;
    else if (found.newPod !== undefined) unavailable += available(found.newPod) ? 0 : 1;
    else if (found.oldPod !== undefined && !available(found.oldPod)) {
      // Replacing it costs no availability, but the node is down all the same: it counts.
      replaceable.push({ pod: found.oldPod, node, why: 'outdated' });
      unavailable += 1;
    }
    else if (found.oldPod !== undefined) candidates.push({ pod: found.oldPod, node, why: 'outdated' });
  }
  const room = Math.min(candidates.length, Math.max(0, maxUnavailable - unavailable));
  return [...replaceable, ...candidates.slice(0, room)];
}

/**
 * Upstream's rollingUpdate with surge: a node whose old pod is unavailable gets its new pod at
 * once; others get one while fewer than maxSurge new pods are still coming up; an old pod goes once
 * the new pod beside it is available.
 */
function rollWithSurge(entries: ReadonlyMap<string, readonly Raw[]>, hash: string, maxSurge: number, available: (pod: Raw) => boolean): PodChanges {
  let surging = 0;
  const allowed: string[] = [];
  const candidates: string[] = [];
  const deletes: PodDeletion[] = [];
  for (const [node, pods] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
    const found = newAndOld(pods, hash);
    if (found === undefined || found.oldPod === undefined) continue;
    if (found.newPod === undefined) {
      if (!available(found.oldPod)) allowed.push(node);
      else candidates.push(node);
    } else if (!available(found.newPod)) surging += 1;
    else deletes.push({ pod: found.oldPod, node, why: 'outdated' });
  }
  const room = Math.min(candidates.length, Math.max(0, maxSurge - surging));
  return { creates: [...allowed, ...candidates.slice(0, room)], deletes };
}

/** The counts `kubectl get ds` and `kubectl rollout status` read. */
export interface DaemonSetCounts {
  readonly desiredNumberScheduled: number;
  readonly currentNumberScheduled: number;
  readonly numberMisscheduled: number;
  readonly numberReady: number;
  readonly numberAvailable: number;
  readonly numberUnavailable: number;
  readonly updatedNumberScheduled: number;
}

/** Upstream's updateDaemonSetStatus counts: per node that should run, its oldest pod decides. */
function countsOf(fits: ReadonlyMap<string, NodeFit>, byNode: ReadonlyMap<string, readonly Raw[]>, hash: string, available: (pod: Raw) => boolean): DaemonSetCounts {
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let availableCount = 0;
  let updated = 0;
  for (const [node, fit] of fits) {
    const pod = byNode.get(node)?.[0];
    if (!fit.shouldRun) {
      if (pod !== undefined) misscheduled += 1;
      continue;
    }
    desired += 1;
    if (pod === undefined) continue;
    current += 1;
    if (isReadyPod(pod)) ready += 1;
    if (available(pod)) availableCount += 1;
    if (isUpdatedPod(pod, hash)) updated += 1;
  }
  return {
    desiredNumberScheduled: desired,
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    numberAvailable: availableCount,
    numberUnavailable: desired - availableCount,
    updatedNumberScheduled: updated,
  };
}

/** The status to write, or undefined when the stored one already says all of it. */
function statusToWrite(ds: Raw, counts: DaemonSetCounts | undefined, observedGeneration: number, collisionCount: number): JsonObject | undefined {
  const stored = objectAt(ds, 'status') ?? {};
  const wanted: Raw = { ...stored, ...(counts ?? {}), observedGeneration };
  if (collisionCount > 0) wanted['collisionCount'] = collisionCount;
  const fields = Object.keys(wanted);
  return fields.every((field) => isDeepStrictEqual(stored[field] ?? 0, wanted[field])) ? undefined : (wanted as JsonObject);
}

/**
 * Old revisions beyond `spec.revisionHistoryLimit`, oldest first, that no pod still comes from
 * (upstream's cleanupHistory).
 */
function revisionsToPrune(ds: Raw, revisions: readonly Raw[], currentHash: string, pods: readonly Raw[]): Raw[] {
  const limit = numberAt(objectAt(ds, 'spec'), 'revisionHistoryLimit') ?? REVISION_HISTORY_LIMIT_DEFAULT;
  const old = revisions.filter((r) => revisionHashOf(r) !== currentHash).sort((a, b) => revisionNumberOf(a) - revisionNumberOf(b));
  let excess = old.length - limit;
  if (excess <= 0) return [];
  const live = new Set(pods.map((pod) => labelsOf(pod)[REVISION_HASH_LABEL]));
  const prune: Raw[] = [];
  for (const revision of old) {
    if (excess <= 0) break;
    if (live.has(revisionHashOf(revision))) continue;
    prune.push(revision);
    excess -= 1;
  }
  return prune;
}

/** Everything the controller knows about one DaemonSet when it plans. */
export interface DaemonSetView {
  readonly daemonSet: Raw;
  readonly nodes: readonly Raw[];
  /** The pods this DaemonSet controls (controller reference) whose labels match its selector. */
  readonly pods: readonly Raw[];
  /** The ControllerRevisions this DaemonSet controls. */
  readonly revisions: readonly Raw[];
  /** Wall time (ms since the epoch), for minReadySeconds. */
  readonly nowMs: number;
  /** False while creates or deletes this controller made are not yet seen in the watch: status only. */
  readonly expectationsSatisfied: boolean;
  /** Nodes where a failed daemon pod was deleted too recently to delete another. */
  readonly failedBackoffNodes: ReadonlySet<string>;
}

/** What to write for one DaemonSet, in this order: the revision, pod deletes and creates, status, history. */
export interface DaemonSetPlan {
  readonly revision: RevisionStep;
  /** Node names that get a new daemon pod (at most POD_WRITES_PER_PASS_MAX). */
  readonly creates: readonly string[];
  readonly deletes: readonly PodDeletion[];
  readonly status: JsonObject | undefined;
  readonly revisionsToDelete: readonly Raw[];
  /** Plan again after this long (a pod becomes available once minReadySeconds pass). */
  readonly recheckAfterMs: number | undefined;
}

/** Manage's changes over every node; when there are none, the rolling update's. */
function podChangesOf(ds: Raw, fits: ReadonlyMap<string, NodeFit>, byNode: ReadonlyMap<string, readonly Raw[]>, hash: string, desired: number, available: (pod: Raw) => boolean, backoff: ReadonlySet<string>): PodChanges {
  const bounds = rollingBounds(ds, desired);
  const surge = isRollingUpdate(ds) && bounds.maxSurge > 0;
  const creates: string[] = [];
  const deletes: PodDeletion[] = [];
  for (const [node, fit] of fits) {
    const changes = manageNode(node, fit, byNode.get(node), { hash, surge, inBackoff: backoff.has(node) });
    creates.push(...changes.creates);
    deletes.push(...changes.deletes);
  }
  // As upstream, the update waits for a pass where manage has nothing to do.
  if (creates.length > 0 || deletes.length > 0 || !isRollingUpdate(ds)) return { creates, deletes };
  const entries = new Map<string, readonly Raw[]>(byNode);
  for (const [node, fit] of fits) if (fit.shouldRun && !entries.has(node)) entries.set(node, []);
  if (surge) return rollWithSurge(entries, hash, bounds.maxSurge, available);
  return { creates: [], deletes: rollWithoutSurge(entries, hash, bounds.maxUnavailable, available) };
}

/** How long until the first ready pod becomes available (minReadySeconds), if any is waiting. */
function recheckAfterMsOf(pods: readonly Raw[], minReadySeconds: number, nowMs: number): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  const waits = pods
    .filter((pod) => isReadyPod(pod) && !isAvailablePod(pod, minReadySeconds, nowMs))
    .map((pod) => {
      const ready = arrayAt(objectAt(pod, 'status'), 'conditions').find((c) => stringAt(c, 'type') === 'Ready');
      const since = Date.parse(stringAt(ready, 'lastTransitionTime') ?? '');
      return Number.isNaN(since) ? minReadySeconds * 1000 : Math.max(1, since + minReadySeconds * 1000 - nowMs);
    });
  return waits.length === 0 ? undefined : Math.min(...waits);
}

/**
 * Upstream's syncDaemonSet as a decision: the current revision, then (when the controller's own
 * writes have all been seen) manage's creates and deletes or else the rolling update's, the status,
 * and the history to prune. Undefined for a DaemonSet being deleted (its pods go with it).
 * @example planDaemonSet({ daemonSet, nodes, pods, revisions, nowMs: Date.now(), expectationsSatisfied: true, failedBackoffNodes: new Set() })
 */
export function planDaemonSet(view: DaemonSetView): DaemonSetPlan | undefined {
  const ds = view.daemonSet;
  if (isTerminating(ds)) return undefined;
  const revision = revisionStepOf(ds, view.revisions);
  const storedObserved = numberAt(objectAt(ds, 'status'), 'observedGeneration') ?? 0;
  if (revision.kind === 'collision') {
    return { revision, creates: [], deletes: [], status: statusToWrite(ds, undefined, storedObserved, revision.collisionCount), revisionsToDelete: [], recheckAfterMs: undefined };
  }
  const minReadySeconds = minReadySecondsOf(ds);
  const available = (pod: Raw): boolean => isAvailablePod(pod, minReadySeconds, view.nowMs);
  const daemonSpec = withDaemonTolerations(objectAt(templateOf(ds), 'spec'));
  const fits = new Map(view.nodes.map((node) => [nameOf(node), nodeFitOf(daemonSpec, node)] as const));
  const byNode = podsByNode(view.pods, false);
  const counts = countsOf(fits, byNode, revision.hash, available);
  const status = statusToWrite(ds, counts, view.expectationsSatisfied ? generationOf(ds) : storedObserved, collisionCountOf(ds));
  const changes = view.expectationsSatisfied ? podChangesOf(ds, fits, byNode, revision.hash, counts.desiredNumberScheduled, available, view.failedBackoffNodes) : noChanges;
  return {
    revision,
    creates: changes.creates.slice(0, POD_WRITES_PER_PASS_MAX),
    deletes: changes.deletes.slice(0, POD_WRITES_PER_PASS_MAX),
    status,
    revisionsToDelete: view.expectationsSatisfied ? revisionsToPrune(ds, view.revisions, revision.hash, view.pods) : [],
    recheckAfterMs: recheckAfterMsOf(view.pods, minReadySeconds, view.nowMs),
  };
}
