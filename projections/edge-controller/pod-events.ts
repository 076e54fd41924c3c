// The Kubernetes Events the kubelet would have recorded, derived from two consecutive statuses an
// edge reported (a pod's or a node's), so `kubectl describe` shows what happened at the edge.
// Pure: a status seen twice derives nothing, and the cloud can rebuild the previous status from the
// API after a restart.
import { isJsonObject } from '../../kernel/index.js';
import { arrayAt, objectAt, stringAt } from '../kube/json-fields.js';

/** One Event to record on the object the statuses belong to, in kubelet's words. */
export interface DerivedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** The container it is about, for `involvedObject.fieldPath` (`spec.containers{app}`). */
  readonly fieldPath?: string;
  /** Who records it when not the kubelet (RegisteredNode comes from the node controller). */
  readonly component?: 'node-controller';
}

/** What the pod events name besides the statuses. */
export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The Pod carries a deletionTimestamp: a container stopping now is being killed for it. */
  readonly deleting: boolean;
}

/** Waiting or terminated reasons of a container that could not be created or started (kubelet's `Failed`). */
const START_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'StartError',
  'ErrImagePull',
  'InvalidImageName',
]);

type Raw = Record<string, unknown>;

interface ContainerView {
  readonly name: string;
  readonly fieldPath: string;
  readonly status: Raw | undefined;
}

/** Containers by name with their status in `status` (init containers first, as the kubelet starts them). */
function containersOf(status: unknown): Map<string, ContainerView> {
  const views = new Map<string, ContainerView>();
  for (const [key, field] of [['initContainerStatuses', 'initContainers'], ['containerStatuses', 'containers']] as const) {
    for (const entry of arrayAt(status, key)) {
      const name = stringAt(entry, 'name');
      if (name === undefined || !isJsonObject(entry)) continue;
      views.set(name, { name, fieldPath: `spec.${field}{${name}}`, status: entry });
    }
  }
  return views;
}

const stateOf = (container: Raw | undefined, key: 'state' | 'lastState', which: 'running' | 'terminated' | 'waiting'): Raw | undefined =>
  objectAt(objectAt(container, key), which);

/** The start times of the runs a container status shows (current run and the one before). */
function runStarts(container: Raw | undefined): Set<string> {
  const starts = new Set<string>();
  for (const at of [
    stringAt(stateOf(container, 'state', 'running'), 'startedAt'),
    stringAt(stateOf(container, 'state', 'terminated'), 'startedAt'),
    stringAt(stateOf(container, 'lastState', 'terminated'), 'startedAt'),
  ]) {
    if (at !== undefined) starts.add(at);
  }
  return starts;
}

/** The ends of runs a container status shows, keyed by finish time and start time (a run's identity). */
function runEnds(container: Raw | undefined): Map<string, Raw> {
  const ends = new Map<string, Raw>();
  for (const terminated of [stateOf(container, 'state', 'terminated'), stateOf(container, 'lastState', 'terminated')]) {
    if (terminated === undefined) continue;
    ends.set(`${stringAt(terminated, 'finishedAt') ?? ''}|${stringAt(terminated, 'startedAt') ?? ''}`, terminated);
  }
  return ends;
}

const waitingReason = (container: Raw | undefined): string | undefined => stringAt(stateOf(container, 'state', 'waiting'), 'reason');
const isRunning = (container: Raw | undefined): boolean => stateOf(container, 'state', 'running') !== undefined;
const lastEndKey = (container: Raw | undefined): string => {
  const last = stateOf(container, 'lastState', 'terminated');
  return `${stringAt(last, 'finishedAt') ?? ''}|${stringAt(last, 'startedAt') ?? ''}`;
};

/** Events about runs that began or ended between the two statuses of one container. */
function runEvents(pod: PodIdentity, c: ContainerView, before: Raw | undefined): DerivedEvent[] {
  const events: DerivedEvent[] = [];
  const seenStarts = runStarts(before);
  const newStarts = [...runStarts(c.status)].filter((at) => !seenStarts.has(at)).length;
  for (let run = 0; run < newStarts; run++) {
    events.push({ type: 'Normal', reason: 'Created', message: `Created container: ${c.name}`, fieldPath: c.fieldPath });
    events.push({ type: 'Normal', reason: 'Started', message: `Started container ${c.name}`, fieldPath: c.fieldPath });
  }
  const seenEnds = runEnds(before);
  for (const [key, terminated] of runEnds(c.status)) {
    if (seenEnds.has(key)) continue;
    const reason = stringAt(terminated, 'reason') ?? '';
    const message = stringAt(terminated, 'message') ?? reason;
    if (START_FAILURE_REASONS.has(reason)) events.push({ type: 'Warning', reason: 'Failed', message: `Error: ${message}`, fieldPath: c.fieldPath });
    if (reason === 'OOMKilled') events.push({ type: 'Warning', reason: 'OOMKilled', message: `Container ${c.name} was killed: out of memory`, fieldPath: c.fieldPath });
  }
  if (pod.deleting && isRunning(before) && !isRunning(c.status)) {
    events.push({ type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}`, fieldPath: c.fieldPath });
  }
  return events;
}

/** Events about the container's waiting state and readiness between the two statuses. */
function waitingEvents(pod: PodIdentity, c: ContainerView, before: Raw | undefined): DerivedEvent[] {
  const events: DerivedEvent[] = [];
  const waiting = waitingReason(c.status);
  const newEpisode = waiting !== waitingReason(before) || lastEndKey(c.status) !== lastEndKey(before);
  if (waiting === 'CrashLoopBackOff' && newEpisode) {
    events.push({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})`, fieldPath: c.fieldPath });
  }
  if (waiting !== undefined && START_FAILURE_REASONS.has(waiting) && newEpisode) {
    const message = stringAt(stateOf(c.status, 'state', 'waiting'), 'message') ?? waiting;
    events.push({ type: 'Warning', reason: 'Failed', message: `Error: ${message}`, fieldPath: c.fieldPath });
  }
  // A running container turns unready only when its readiness probe fails (the edge reports a
  // container without one as ready), so this is the probe failure kubelet records as Unhealthy.
  const sameRun = isRunning(before) && stringAt(stateOf(before, 'state', 'running'), 'startedAt') === stringAt(stateOf(c.status, 'state', 'running'), 'startedAt');
  if (sameRun && before?.['ready'] === true && c.status?.['ready'] === false) {
    events.push({ type: 'Warning', reason: 'Unhealthy', message: 'Readiness probe failed', fieldPath: c.fieldPath });
  }
  return events;
}

/**
 * The Events the kubelet records for what changed between `previous` (undefined: nothing known)
 * and `next`, two PodStatus objects of the same pod, in the order they happened per container.
 *
 * ```ts
 * podEventsBetween(pod, { containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ContainerCreating' } } }] },
 *   { containerStatuses: [{ name: 'app', state: { running: { startedAt: '…' } } }] });
 * // → Created "Created container: app", Started "Started container app"
 * ```
 */
export function podEventsBetween(pod: PodIdentity, previous: unknown, next: unknown): DerivedEvent[] {
  const before = containersOf(previous);
  const events: DerivedEvent[] = [];
  const reason = stringAt(next, 'reason');
  if (reason !== undefined && reason !== stringAt(previous, 'reason')) {
    events.push({ type: 'Warning', reason: 'Failed', message: `Error: ${stringAt(next, 'message') ?? reason}` });
  }
  for (const container of containersOf(next).values()) {
    const was = before.get(container.name)?.status;
    events.push(...runEvents(pod, container, was), ...waitingEvents(pod, container, was));
  }
  return events;
}

/** Node conditions whose transitions the kubelet records, with the reason for each status. */
const NODE_CONDITION_REASONS: Readonly<Record<string, { readonly True: string; readonly other: string }>> = {
  Ready: { True: 'NodeReady', other: 'NodeNotReady' },
  MemoryPressure: { True: 'NodeHasInsufficientMemory', other: 'NodeHasSufficientMemory' },
  DiskPressure: { True: 'NodeHasDiskPressure', other: 'NodeHasNoDiskPressure' },
  PIDPressure: { True: 'NodeHasInsufficientPID', other: 'NodeHasSufficientPID' },
};

const conditionStatus = (status: unknown, type: string): string | undefined =>
  stringAt(arrayAt(status, 'conditions').find((c) => stringAt(c, 'type') === type), 'status');

/**
 * The Events the kubelet (and, for RegisteredNode, the node controller) records on a Node between
 * two NodeStatus objects: `registered` when this write created the Node.
 */
export function nodeEventsBetween(nodeName: string, previous: unknown, next: unknown, registered: boolean): DerivedEvent[] {
  const events: DerivedEvent[] = [];
  if (registered) {
    events.push({ type: 'Normal', reason: 'Starting', message: 'Starting kubelet.' });
    events.push({ type: 'Normal', reason: 'RegisteredNode', message: `Node ${nodeName} event: Registered Node ${nodeName} in Controller`, component: 'node-controller' });
  }
  for (const [type, reasons] of Object.entries(NODE_CONDITION_REASONS)) {
    const now = conditionStatus(next, type);
    if (now === undefined || now === conditionStatus(previous, type)) continue;
    const reason = now === 'True' ? reasons.True : reasons.other;
    events.push({ type: 'Normal', reason, message: `Node ${nodeName} status is now: ${reason}` });
  }
  return events;
}
