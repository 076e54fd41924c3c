// KubeEdge's DeviceController, upstream half, as the thin shell around device-status.plan.ts: an
// edge's twin and state reports become merge patches of the Device's status subresource through
// client-node, coalesced and rate-limited per device (status-writer.queue.ts), each a
// read-plan-write at the Device's current resourceVersion so the position fence and the write are
// atomic. A report for a Device that is gone, re-created, or bound to another node is applied as
// nothing, and so is a malformed one (logged): a throw would make the hub retry it forever.
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock, type JsonObject } from '../../kernel/index.js';
import type { UpEffects, UpEvent } from '../../transport/index.js';
import { objectAt, stringAt } from '../kube/json-fields.js';
import { rawGet } from '../kube/raw-api.js';
import { DEVICE_STATE_REPORTED, TWIN_REPORTED } from '../reports/edge-reports.js';
import { JOURNAL_LINEAGE_ANNOTATION, formatPosition, lineageOf, recordJournal } from '../edge-controller/status-writer.position.js';
import { CoalescingWriteQueue, STATUS_WRITE_LIMITS_DEFAULT, type StatusWriteLimits, type WriteQueueCounts } from '../edge-controller/status-writer.queue.js';
import { jobOf, mergeJobs, parseStateReport, parseTwinReport, planDeviceStatus, type DeviceStatusJob, type DeviceStatusSkip } from './device-status.plan.js';

/** The Device CRD's API group and version (kubeedge-reference.md §5.1). */
const DEVICE_GROUP = 'devices.kubeedge.io';
const DEVICE_VERSION = 'v1beta1';
/** Read-plan-writes of one job that meet a concurrent change before one lands (then the effect fails and is retried). */
const DEVICE_WRITE_ATTEMPTS_MAX = 5;
/** (node, journal) pairs known to be recorded in the node's lineage; past this the memory starts over. */
const JOURNALS_RECORDED_MAX = 4_096;

const HANDLED_TYPES: ReadonlySet<string> = new Set([TWIN_REPORTED, DEVICE_STATE_REPORTED]);

const statusCodeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const devicePath = (namespace: string, name: string): string =>
  `/apis/${DEVICE_GROUP}/${DEVICE_VERSION}/namespaces/${encodeURIComponent(namespace)}/devices/${encodeURIComponent(name)}`;
const nodePath = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`;

/** What the writer may be given besides the API; every field has a default. */
export interface DeviceStatusWriterOptions {
  readonly limits?: StatusWriteLimits;
  /** Monotonic time and sleeps for the rate limits. */
  readonly clock?: Clock;
}

/**
 * The UpEffects of a CloudHub for device reports: TWIN_REPORTED and DEVICE_STATE_REPORTED become
 * the Device's `status.twins[]`, `status.state` and `status.lastOnlineTime`.
 *
 * ```ts
 * const devices = new DeviceStatusWriter(kc, log);
 * const effects = { perform: (n, j, s, e) => (devices.handles(e.type) ? devices : statuses).perform(n, j, s, e) };
 * ```
 */
/**
 * A node's up log is applied one event at a time, so a write held back by its object's rate limit
 * holds the node's whole log (its pods' statuses too). A mapper reports far more often than a pod
 * changes, and the edge already sends each device's twin whole; so a device gets a looser bound
 * per object than pods (5/s), and the global bound stays the shared one.
 */
export const DEVICE_STATUS_WRITE_LIMITS_DEFAULT: StatusWriteLimits = { ...STATUS_WRITE_LIMITS_DEFAULT, perObject: { perSecond: 50, burst: 20 } };

export class DeviceStatusWriter implements UpEffects {
  readonly #kc: KubeConfig;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #queue: CoalescingWriteQueue<DeviceStatusJob>;
  readonly #journalsRecorded = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly log: { warn(fields: object, msg: string): void },
    options: DeviceStatusWriterOptions = {},
  ) {
    this.#kc = kc;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#queue = new CoalescingWriteQueue<DeviceStatusJob>({
      write: (_key, job) => this.#write(job),
      newest: mergeJobs,
      limits: options.limits ?? DEVICE_STATUS_WRITE_LIMITS_DEFAULT,
      clock: options.clock ?? systemClock,
    });
  }

  /** True for the event types this writer performs (TWIN_REPORTED, DEVICE_STATE_REPORTED). */
  handles(type: string): boolean {
    return HANDLED_TYPES.has(type);
  }

  /** Status write requests so far and the writes that covered them. */
  get writeCounts(): WriteQueueCounts {
    return this.#queue.counts;
  }

  /**
   * Resolves once a write covering this event (its own or a later one for the same device) landed,
   * or at once when the event writes nothing (malformed, or a type this writer does not handle).
   * Rejects only when the API failed, so the hub retries.
   */
  async perform(nodeName: string, journalId: string, seq: number, event: UpEvent): Promise<void> {
    const parsed = event.type === TWIN_REPORTED ? parseTwinReport(event.data) : event.type === DEVICE_STATE_REPORTED ? parseStateReport(event.data) : undefined;
    if (parsed === undefined) return this.log.warn({ node: nodeName, type: event.type }, 'not a device report; applied as nothing');
    if (!parsed.ok) {
      return this.log.warn({ node: nodeName, type: event.type, resource: stringAt(event.data, 'resource'), why: parsed.error }, 'malformed device report; applied as nothing');
    }
    const job = jobOf(nodeName, { journalId, seq }, parsed.value);
    return this.#queue.submit(`device/${job.uid}`, job);
  }

  async #write(job: DeviceStatusJob): Promise<void> {
    if ((await this.#journalRecorded(job.node, job.position.journalId)) === 'retired') {
      return this.#skipped(job, { kind: 'stale', why: `journal ${job.position.journalId} was retired on node ${job.node}`, stored: undefined });
    }
    for (let attempt = 1; attempt <= DEVICE_WRITE_ATTEMPTS_MAX; attempt++) {
      if ((await this.#writeOnce(job)) !== 'conflict') return;
    }
    throw new Error(`device ${job.namespace}/${job.name}: status write conflicted ${DEVICE_WRITE_ATTEMPTS_MAX} times`);
  }

  /**
   * One read-plan-write at the Device's current revision: the resourceVersion precondition makes
   * the fence and the write atomic (and covers a re-creation in between, as does the uid).
   */
  async #writeOnce(job: DeviceStatusJob): Promise<'done' | 'conflict'> {
    const read = await rawGet(this.#kc, devicePath(job.namespace, job.name));
    if (!read.ok && read.error.status !== 404) throw new Error(`device ${job.namespace}/${job.name}: read failed: ${read.error.message}`);
    const device = read.ok ? read.value : undefined;
    let plan = planDeviceStatus(job, device);
    if (plan.kind === 'askLineage') plan = planDeviceStatus(job, device, await this.#lineage(job.node));
    if (plan.kind === 'askLineage') throw new Error('a plan given the lineage never asks for it again');
    if (plan.kind === 'skip') {
      this.#skipped(job, plan.skip);
      return 'done';
    }
    try {
      await this.#custom.patchNamespacedCustomObjectStatus(
        {
          group: DEVICE_GROUP,
          version: DEVICE_VERSION,
          namespace: job.namespace,
          plural: 'devices',
          name: job.name,
          body: { metadata: { uid: job.uid, resourceVersion: plan.resourceVersion }, status: plan.status },
        },
        mergePatch,
      );
      return 'done';
    } catch (error) {
      const code = statusCodeOf(error);
      // 404: deleted meanwhile (the next read sees that); 409: changed meanwhile: plan again.
      if (code === 404 || code === 409) return 'conflict';
      throw error;
    }
  }

  async #lineage(node: string): Promise<readonly string[]> {
    const read = await rawGet(this.#kc, nodePath(node));
    if (!read.ok && read.error.status !== 404) throw new Error(`node ${node}: read failed: ${read.error.message}`);
    return read.ok ? lineageOf(read.value) : [];
  }

  /**
   * Records `journalId` as the node's newest journal before this writer's first write for it, as
   * the pod and node status writer does (status-writer.position.ts), unless the lineage lists it as
   * retired: then this writer is a stale owner. A node not registered yet has nothing to order.
   */
  async #journalRecorded(node: string, journalId: string): Promise<'current' | 'retired'> {
    if (this.#journalsRecorded.has(`${node}\u0000${journalId}`)) return 'current';
    for (let attempt = 1; attempt <= DEVICE_WRITE_ATTEMPTS_MAX; attempt++) {
      const read = await rawGet(this.#kc, nodePath(node));
      if (!read.ok && read.error.status === 404) return 'current';
      if (!read.ok) throw new Error(`node ${node}: read failed: ${read.error.message}`);
      const step = recordJournal(lineageOf(read.value), journalId);
      if (step.kind === 'retired') return 'retired';
      if (step.kind === 'record' && !(await this.#recordLineage(node, read.value, step.annotation))) continue;
      if (this.#journalsRecorded.size >= JOURNALS_RECORDED_MAX) this.#journalsRecorded.clear();
      this.#journalsRecorded.add(`${node}\u0000${journalId}`);
      return 'current';
    }
    throw new Error(`node ${node}: recording journal ${journalId} conflicted ${DEVICE_WRITE_ATTEMPTS_MAX} times`);
  }

  /** Patches the lineage annotation at the revision read; false when the Node changed or went meanwhile. */
  async #recordLineage(node: string, read: JsonObject, annotation: string): Promise<boolean> {
    const resourceVersion = stringAt(objectAt(read, 'metadata'), 'resourceVersion');
    try {
      await this.#core.patchNode({ name: node, body: { metadata: { resourceVersion, annotations: { [JOURNAL_LINEAGE_ANNOTATION]: annotation } } } }, mergePatch);
      return true;
    } catch (error) {
      if (statusCodeOf(error) === 409 || statusCodeOf(error) === 404) return false;
      throw error;
    }
  }

  #skipped(job: DeviceStatusJob, skip: DeviceStatusSkip): void {
    const fields = { node: job.node, device: `${job.namespace}/${job.name}`, uid: job.uid, position: formatPosition(job.position) };
    switch (skip.kind) {
      case 'gone':
      case 'uidMismatch':
        // A report about a device deleted meanwhile: expected while deletions reach the edge.
        return;
      case 'otherNode':
        return this.log.warn({ ...fields, boundTo: skip.boundTo ?? null }, 'device status skipped: the device is bound to another node');
      case 'stale':
        // The same position again is an event applied again after a crash: expected, not worth a line.
        if (skip.stored !== undefined && formatPosition(skip.stored) === formatPosition(job.position)) return;
        return this.log.warn({ ...fields, why: skip.why }, 'device status skipped: the stored status is newer');
    }
  }
}
