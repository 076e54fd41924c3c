// KubeEdge's EdgeController, upstream half: the up events an edge reports become Kubernetes writes
// through client-node. Pod status goes to pods/status (only while the pod with that uid exists: a
// status for a deleted or re-created pod is dropped), node status to nodes/status after the Node is
// registered with the edge role label, and what changed between two statuses becomes the Events the
// kubelet would have recorded. Each status write carries the edge position it reflects and is
// skipped when the stored one is not older (status-writer.position.ts), so an event applied again
// after a cloud crash (PROTOCOL.md, Up), or by a paused old owner, changes nothing. Writes are
// coalesced and rate-limited per object (status-writer.queue.ts).
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { systemClock, type Clock, type JsonObject } from '../../kernel/index.js';
import type { UpEffects, UpEvent } from '../../transport/index.js';
import { EventRecorder, type InvolvedObject } from '../kube/event-recorder.js';
import { objectAt, stringAt, uidOf } from '../kube/json-fields.js';
import { rawGet } from '../kube/raw-api.js';
import { NODE_STATUS_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED } from '../reports/edge-reports.js';
import { nodeEventsBetween, podEventsBetween, type DerivedEvent } from './pod-events.js';
import {
  JOURNAL_LINEAGE_ANNOTATION,
  fenceVerdict,
  formatPosition,
  journalLineageVerdict,
  lineageOf,
  recordJournal,
  storedPositionOf,
  withPosition,
  withoutPosition,
  type EdgePosition,
  type FenceVerdict,
} from './status-writer.position.js';
import { CoalescingWriteQueue, STATUS_WRITE_LIMITS_DEFAULT, type StatusWriteLimits, type WriteQueueCounts } from './status-writer.queue.js';

/** The label KubeEdge puts on edge nodes, which nodeSelectors for edge workloads use. */
export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';

export interface StatusWriterLog {
  warn(fields: object, message: string): void;
}

/** What the writer may be given besides the API; every field has a default. */
export interface StatusWriterOptions {
  readonly limits?: StatusWriteLimits;
  /** Wall time for Event timestamps, monotonic time and sleeps for the rate limits. */
  readonly clock?: Clock;
}

/** Writes of one status that meet a concurrent change before one lands (then the effect fails and is retried). */
const STATUS_WRITE_ATTEMPTS_MAX = 5;
/** Statuses remembered to derive Events from; past this the oldest is forgotten (its next Events compare with the API's). */
const PREVIOUS_STATUSES_MAX = 10_000;
/** (node, journal) pairs known to be recorded in the node's lineage; past this the memory starts over. */
const JOURNALS_RECORDED_MAX = 4_096;
/** Events derived and not yet written; past this new ones are dropped (Events are best effort). */
const EVENTS_QUEUED_MAX = 1_000;

const statusCodeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const podPath = (namespace: string, name: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
const nodePath = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`;

/** One object's write, as the queue holds it until its turn. */
type StatusJob =
  | { readonly kind: 'podStatus'; readonly node: string; readonly position: EdgePosition; readonly namespace: string; readonly name: string; readonly uid: string; readonly status: Record<string, unknown> }
  | { readonly kind: 'podDeleted'; readonly node: string; readonly position: EdgePosition; readonly namespace: string; readonly name: string; readonly uid: string }
  | { readonly kind: 'nodeStatus'; readonly node: string; readonly position: EdgePosition; readonly status: Record<string, unknown>; readonly labels: Record<string, unknown> };

/** Of two jobs for one object, the later in the edge's log (another journal: the one that came last). */
const newerJob = (held: StatusJob, arriving: StatusJob): StatusJob =>
  held.position.journalId === arriving.position.journalId && held.position.seq > arriving.position.seq ? held : arriving;

/** The pod job a report describes, or undefined when it lacks resource, UID or Status. */
function podJobOf(node: string, position: EdgePosition, data: unknown): Extract<StatusJob, { kind: 'podStatus' }> | undefined {
  const [namespace, , name] = stringAt(data, 'resource')?.split('/') ?? [];
  const uid = stringAt(data, 'UID');
  const status = objectAt(data, 'Status');
  if (namespace === undefined || name === undefined || uid === undefined || uid === '' || status === undefined) return undefined;
  return { kind: 'podStatus', node, position, namespace, name, uid, status };
}

/** The fence once the lineage was consulted when it had to be (a verdict still asking it cannot happen: it needs a stored position). */
const settledVerdict = (stored: EdgePosition | undefined, incoming: EdgePosition, lineage: readonly string[]): FenceVerdict => {
  const first = fenceVerdict(stored, incoming);
  return first.kind === 'askLineage' && stored !== undefined ? journalLineageVerdict(lineage, stored, incoming) : first;
};

/**
 * The UpEffects of a CloudHub against the Kubernetes API. Event types it does not know are applied
 * as nothing (logged once per type), so a newer edge never stalls an older cloud's up log.
 *
 * ```ts
 * const effects = new EdgeStatusWriter(kc, log, (node) => !hub.isDecommissioned(node), { limits: STATUS_WRITE_LIMITS_DEFAULT });
 * ```
 */
export class EdgeStatusWriter implements UpEffects {
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #queue: CoalescingWriteQueue<StatusJob>;
  readonly #kubelet: EventRecorder;
  readonly #nodeController: EventRecorder;
  readonly #unknownTypes = new Set<string>();
  /** `pod/<uid>` or `node/<name>` → the status this writer last wrote and its position, oldest first. */
  readonly #previous = new Map<string, { readonly position: EdgePosition; readonly status: Record<string, unknown> }>();
  readonly #journalsRecorded = new Set<string>();
  #events: Promise<void> = Promise.resolve();
  #eventsQueued = 0;

  constructor(
    kc: KubeConfig,
    private readonly log: StatusWriterLog = { warn: () => undefined },
    /** Whether a node may (re)register its Node: not once it was deleted (decommissioned), DESIGN.md. */
    private readonly mayRegister: (nodeName: string) => boolean = () => true,
    options: StatusWriterOptions = {},
  ) {
    const clock = options.clock ?? systemClock;
    this.#kc = kc;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#queue = new CoalescingWriteQueue<StatusJob>({ write: (_key, job) => this.#write(job), newest: newerJob, limits: options.limits ?? STATUS_WRITE_LIMITS_DEFAULT, clock });
    const now = (): Date => new Date(clock.nowMs());
    this.#kubelet = new EventRecorder(kc, 'kubelet', now, log);
    this.#nodeController = new EventRecorder(kc, 'node-controller', now, log);
  }

  /** Status write requests so far and the writes that covered them. */
  get writeCounts(): WriteQueueCounts {
    return this.#queue.counts;
  }

  /** Resolves once every Event derived so far was written or given up (for shutdown and specs). */
  eventsSettled(): Promise<void> {
    return this.#events;
  }

  /** Resolves once a write covering this event (its own or a later one for the same object) landed. */
  async perform(nodeName: string, journalId: string, seq: number, event: UpEvent): Promise<void> {
    const position = { journalId, seq };
    switch (event.type) {
      case POD_STATUS_REPORTED: {
        const job = podJobOf(nodeName, position, event.data);
        if (job === undefined) return this.log.warn({ node: nodeName, resource: stringAt(event.data, 'resource') }, 'pod status report without resource, UID or Status; applied as nothing');
        return this.#queue.submit(`pod/${job.uid}`, job);
      }
      case NODE_STATUS_REPORTED: {
        const job: StatusJob = { kind: 'nodeStatus', node: nodeName, position, status: objectAt(event.data, 'Status') ?? {}, labels: objectAt(event.data, 'Labels') ?? {} };
        return this.#queue.submit(`node/${nodeName}`, job);
      }
      case POD_TERMINATION_COMPLETED: {
        const [namespace, , name] = stringAt(event.data, 'resource')?.split('/') ?? [];
        const uid = stringAt(event.data, 'UID');
        if (namespace === undefined || name === undefined || uid === undefined) return this.log.warn({ node: nodeName }, 'pod termination report without resource or UID; applied as nothing');
        return this.#queue.submit(`pod/${uid}`, { kind: 'podDeleted', node: nodeName, position, namespace, name, uid });
      }
      default:
        if (!this.#unknownTypes.has(event.type)) {
          this.#unknownTypes.add(event.type);
          this.log.warn({ node: nodeName, type: event.type }, 'up event type with no Kubernetes write; applied as nothing');
        }
    }
  }

  async #write(job: StatusJob): Promise<void> {
    switch (job.kind) {
      case 'podStatus':
        return this.#podStatus(job);
      case 'podDeleted':
        return this.#podDeleted(job);
      case 'nodeStatus':
        return this.#nodeStatus(job);
    }
  }

  async #podStatus(job: Extract<StatusJob, { kind: 'podStatus' }>): Promise<void> {
    if ((await this.#journalRecorded(job.node, job.position.journalId)) === 'retired') return this.#stale(job, `journal ${job.position.journalId} was retired on node ${job.node}`);
    for (let attempt = 1; ; attempt++) {
      const written = await this.#writePodStatus(job);
      if (written !== 'conflict') return;
      if (attempt >= STATUS_WRITE_ATTEMPTS_MAX) throw new Error(`pod ${job.namespace}/${job.name}: status write conflicted ${attempt} times`);
    }
  }

  /**
   * One read-compare-write at the pod's current revision, when the pod with that uid still exists:
   * the resourceVersion precondition makes the position comparison and the write atomic (and covers
   * a re-creation in between; a real API server also refuses a patch whose metadata.uid differs).
   */
  async #writePodStatus(job: Extract<StatusJob, { kind: 'podStatus' }>): Promise<'written' | 'skipped' | 'gone' | 'conflict'> {
    const read = await rawGet(this.#kc, podPath(job.namespace, job.name));
    if (!read.ok && read.error.status !== 404) throw new Error(`pod ${job.namespace}/${job.name}: read failed: ${read.error.message}`);
    if (!read.ok || uidOf(read.value) !== job.uid) {
      this.#previous.delete(`pod/${job.uid}`);
      return 'gone';
    }
    const pod = read.value;
    const stored = objectAt(pod, 'status');
    const verdict = await this.#fence(job.node, storedPositionOf(stored), job.position);
    if (verdict.kind === 'skip') {
      this.#skipped(job, storedPositionOf(stored), verdict.why);
      return 'skipped';
    }
    const metadata = objectAt(pod, 'metadata');
    try {
      await this.#core.patchNamespacedPodStatus(
        { name: job.name, namespace: job.namespace, body: { metadata: { uid: job.uid, resourceVersion: stringAt(metadata, 'resourceVersion') }, status: withPosition(job.status, job.position, stored) } },
        mergePatch,
      );
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404) return 'gone';
      if (code === 409) return 'conflict';
      throw error;
    }
    const identity = { namespace: job.namespace, name: job.name, uid: job.uid, deleting: stringAt(metadata, 'deletionTimestamp') !== undefined };
    const events = podEventsBetween(identity, this.#previousStatus(`pod/${job.uid}`, stored), job.status);
    this.#remember(`pod/${job.uid}`, job.position, job.status);
    this.#emit(this.#kubelet, { apiVersion: 'v1', kind: 'Pod', name: job.name, namespace: job.namespace, uid: job.uid }, job.node, events);
    return 'written';
  }

  /** The kubelet's final delete: grace 0, only the pod with that uid (a re-created one stays). */
  async #podDeleted(job: Extract<StatusJob, { kind: 'podDeleted' }>): Promise<void> {
    this.#previous.delete(`pod/${job.uid}`);
    try {
      await this.#core.deleteNamespacedPod({ name: job.name, namespace: job.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: job.uid } } });
    } catch (error) {
      const code = statusCodeOf(error);
      if (code === 404 || code === 409) return;
      throw error;
    }
  }

  async #nodeStatus(job: Extract<StatusJob, { kind: 'nodeStatus' }>): Promise<void> {
    let registered = false;
    for (let attempt = 1; ; attempt++) {
      if (!this.mayRegister(job.node)) {
        this.log.warn({ node: job.node }, 'status of a deleted node; not registering it again');
        return;
      }
      const read = await rawGet(this.#kc, nodePath(job.node));
      if (!read.ok && read.error.status !== 404) throw new Error(`node ${job.node}: read failed: ${read.error.message}`);
      const written = read.ok ? await this.#writeNodeStatus(job, read.value, registered) : await this.#register(job);
      if (written === 'registered') registered = true;
      if (written === 'written' || written === 'skipped') return;
      if (attempt >= STATUS_WRITE_ATTEMPTS_MAX) throw new Error(`node ${job.node}: status write conflicted ${attempt} times`);
    }
  }

  /**
   * One read-compare-write of a Node's status: the writer's journal goes into the node's lineage
   * first (a metadata patch), then the status with its position, each at the revision it compared.
   */
  async #writeNodeStatus(job: Extract<StatusJob, { kind: 'nodeStatus' }>, node: JsonObject, registered: boolean): Promise<'written' | 'skipped' | 'conflict'> {
    const step = recordJournal(lineageOf(node), job.position.journalId);
    if (step.kind === 'retired') {
      this.#stale(job, `journal ${job.position.journalId} was retired on node ${job.node}`);
      return 'skipped';
    }
    let resourceVersion = stringAt(objectAt(node, 'metadata'), 'resourceVersion');
    const lineage = step.kind === 'record' ? step.lineage : lineageOf(node);
    try {
      if (step.kind === 'record') {
        const patched = await this.#core.patchNode({ name: job.node, body: { metadata: { resourceVersion, annotations: { [JOURNAL_LINEAGE_ANNOTATION]: step.annotation } } } }, mergePatch);
        resourceVersion = patched.metadata?.resourceVersion;
      }
      this.#rememberJournal(job.node, job.position.journalId);
      const stored = objectAt(node, 'status');
      const verdict = settledVerdict(storedPositionOf(stored), job.position, lineage);
      if (verdict.kind === 'skip') {
        this.#skipped(job, storedPositionOf(stored), verdict.why);
        return 'skipped';
      }
      await this.#core.patchNodeStatus({ name: job.node, body: { metadata: { resourceVersion }, status: withPosition(job.status, job.position, stored) } }, mergePatch);
      const events = nodeEventsBetween(job.node, this.#previousStatus(`node/${job.node}`, stored), job.status, registered);
      this.#remember(`node/${job.node}`, job.position, job.status);
      // The kubelet's node reference: no namespace (its Events land in default) and the name as uid.
      this.#emit(this.#kubelet, { apiVersion: 'v1', kind: 'Node', name: job.node, namespace: '', uid: job.node }, job.node, events);
      return 'written';
    } catch (error) {
      // 404: deleted meanwhile; the next attempt reads that and registers it (if it still may).
      if (statusCodeOf(error) === 409 || statusCodeOf(error) === 404) return 'conflict';
      throw error;
    }
  }

  /** Creates the Node with the edge role label and this journal as its lineage (KubeEdge registers through `node insert`). */
  async #register(job: Extract<StatusJob, { kind: 'nodeStatus' }>): Promise<'registered' | 'conflict'> {
    const labels = Object.fromEntries(Object.entries(job.labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    const step = recordJournal([], job.position.journalId);
    const annotations: Record<string, string> = step.kind === 'record' ? { [JOURNAL_LINEAGE_ANNOTATION]: step.annotation } : {};
    const body: V1Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: job.node, labels: { ...labels, [EDGE_ROLE_LABEL]: '' }, annotations } };
    try {
      await this.#core.createNode({ body });
      return 'registered';
    } catch (error) {
      // Created meanwhile by another writer: registered all the same, by someone else.
      if (statusCodeOf(error) !== 409) throw error;
      return 'conflict';
    }
  }

  /**
   * Records `journalId` as the node's newest journal before this writer's first status write for
   * it, unless the lineage lists it as retired. A node not registered yet has nothing to order.
   */
  async #journalRecorded(node: string, journalId: string): Promise<'current' | 'retired'> {
    if (this.#journalsRecorded.has(`${node}\u0000${journalId}`)) return 'current';
    for (let attempt = 1; attempt <= STATUS_WRITE_ATTEMPTS_MAX; attempt++) {
      const read = await rawGet(this.#kc, nodePath(node));
      if (!read.ok && read.error.status === 404) return 'current';
      if (!read.ok) throw new Error(`node ${node}: read failed: ${read.error.message}`);
      const step = recordJournal(lineageOf(read.value), journalId);
      if (step.kind === 'retired') return 'retired';
      if (step.kind === 'record') {
        const resourceVersion = stringAt(objectAt(read.value, 'metadata'), 'resourceVersion');
        try {
          await this.#core.patchNode({ name: node, body: { metadata: { resourceVersion, annotations: { [JOURNAL_LINEAGE_ANNOTATION]: step.annotation } } } }, mergePatch);
        } catch (error) {
          if (statusCodeOf(error) === 409 || statusCodeOf(error) === 404) continue;
          throw error;
        }
      }
      this.#rememberJournal(node, journalId);
      return 'current';
    }
    throw new Error(`node ${node}: recording journal ${journalId} conflicted ${STATUS_WRITE_ATTEMPTS_MAX} times`);
  }

  /** The fence for a write over `stored`; another journal's position is judged by the node's lineage, read now. */
  async #fence(node: string, stored: EdgePosition | undefined, incoming: EdgePosition): Promise<FenceVerdict> {
    if (fenceVerdict(stored, incoming).kind !== 'askLineage') return settledVerdict(stored, incoming, []);
    const read = await rawGet(this.#kc, nodePath(node));
    if (!read.ok && read.error.status !== 404) throw new Error(`node ${node}: read failed: ${read.error.message}`);
    return settledVerdict(stored, incoming, read.ok ? lineageOf(read.value) : []);
  }

  #rememberJournal(node: string, journalId: string): void {
    if (this.#journalsRecorded.size >= JOURNALS_RECORDED_MAX) this.#journalsRecorded.clear();
    this.#journalsRecorded.add(`${node}\u0000${journalId}`);
  }

  /**
   * The status to derive Events from: the one this writer last wrote when the stored status is
   * still that one (the edge's own words), else the stored status (another writer's, or after a
   * cloud restart), without the position condition.
   */
  #previousStatus(key: string, stored: unknown): unknown {
    const mine = this.#previous.get(key);
    const storedAt = storedPositionOf(stored);
    if (mine !== undefined && storedAt !== undefined && formatPosition(mine.position) === formatPosition(storedAt)) return mine.status;
    return stored === undefined ? undefined : withoutPosition(stored);
  }

  #remember(key: string, position: EdgePosition, status: Record<string, unknown>): void {
    this.#previous.delete(key);
    this.#previous.set(key, { position, status });
    if (this.#previous.size > PREVIOUS_STATUSES_MAX) {
      const oldest = this.#previous.keys().next();
      if (oldest.done !== true) this.#previous.delete(oldest.value);
    }
  }

  /** Queues Events to be written one after another, behind the write that derived them; never awaited by perform. */
  #emit(recorder: EventRecorder, involved: InvolvedObject, host: string, events: readonly DerivedEvent[]): void {
    if (events.length === 0) return;
    if (this.#eventsQueued + events.length > EVENTS_QUEUED_MAX) {
      this.log.warn({ object: `${involved.kind}/${involved.name}`, dropped: events.length }, 'too many Events waiting to be written; dropped');
      return;
    }
    this.#eventsQueued += events.length;
    this.#events = this.#events.then(async () => {
      for (const event of events) {
        const by = event.component === 'node-controller' ? this.#nodeController : recorder;
        const about = event.fieldPath === undefined ? involved : { ...involved, fieldPath: event.fieldPath };
        await by.record(about, event.type, event.reason, event.message, { host }).catch(() => undefined);
        this.#eventsQueued -= 1;
      }
    });
  }

  #skipped(job: StatusJob, stored: EdgePosition | undefined, why: string): void {
    // The same position again is an event applied again after a crash: expected, not worth a line.
    if (stored !== undefined && formatPosition(stored) === formatPosition(job.position)) return;
    this.log.warn({ node: job.node, position: formatPosition(job.position), why }, 'status write skipped: the stored status is newer');
  }

  #stale(job: StatusJob, why: string): void {
    this.log.warn({ node: job.node, position: formatPosition(job.position), why }, 'status write skipped: a stale writer');
  }
}
