// The cloud's Kubernetes writes in the whole-system simulator: what production's EdgeStatusWriter and
// DeviceStatusWriter do with an up event (projections/edge-controller/status-writer.ts,
// projections/device-controller/device-status-writer.ts), as read-plan-write steps against the
// simulated API with the production fence (status-writer.position.ts) and planner
// (device-status.plan.ts). Each write lands one API round trip after the event was handed over,
// even when the cloud process that sent it died meanwhile (a request already on its way still
// reaches the API server), and only a live process hears that it is done: a crash between the write
// and the recorded up position makes the event apply again, and a dead owner's late write lands
// after its successor's, both of which the fence must make harmless.
import type { JsonObject } from '../kernel/index.js';
import { objectAt, stringAt, uidOf } from '../projections/kube/json-fields.js';
import { jobOf, parseStateReport, parseTwinReport, planDeviceStatus } from '../projections/device-controller/device-status.plan.js';
import { DEVICE_STATE_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED, TWIN_REPORTED } from '../projections/reports/edge-reports.js';
import {
  JOURNAL_LINEAGE_ANNOTATION,
  fenceVerdict,
  journalLineageVerdict,
  lineageOf,
  recordJournal,
  storedPositionOf,
  withPosition,
  type EdgePosition,
} from '../projections/edge-controller/status-writer.position.js';
import type { UpEvent } from '../transport/index.js';
import type { SimulatedApi } from './system-api.testing.js';
import type { Incarnation, SimulatedTime } from './simulated-time.testing.js';

/** Read-plan-write attempts per write before the effect fails (production: 5, then the up event is retried). */
const WRITE_ATTEMPTS_MAX = 5;

/** What the writes counted, so a sample shows the fence really was exercised. */
export interface CloudWriteStats {
  podStatusWrites: number;
  podStatusFenced: number;
  podStatusGone: number;
  podsDeletedByKubelet: number;
  deviceStatusWrites: number;
  deviceStatusSkipped: number;
}

export const emptyCloudWriteStats = (): CloudWriteStats => ({ podStatusWrites: 0, podStatusFenced: 0, podStatusGone: 0, podsDeletedByKubelet: 0, deviceStatusWrites: 0, deviceStatusSkipped: 0 });

/** The up effects of the cloud processes against one simulated API. */
export class CloudWrites {
  constructor(
    private readonly api: SimulatedApi,
    private readonly time: SimulatedTime,
    private readonly apiLatencyMs: number,
    readonly stats: CloudWriteStats = emptyCloudWriteStats(),
  ) {}

  /** The Kubernetes writes `event` implies; `done` once they landed, if `life` still lives to hear it. */
  perform(life: Incarnation, node: string, journalId: string, seq: number, event: UpEvent, done: () => void): void {
    this.time.schedule(this.apiLatencyMs, null, () => {
      this.#apply(node, { journalId, seq }, event);
      if (life.alive) done();
    });
  }

  #apply(node: string, position: EdgePosition, event: UpEvent): void {
    switch (event.type) {
      case POD_STATUS_REPORTED:
        return this.#podStatus(node, position, event.data);
      case POD_TERMINATION_COMPLETED:
        return this.#podDeleted(event.data);
      case TWIN_REPORTED:
      case DEVICE_STATE_REPORTED:
        return this.#deviceStatus(node, position, event);
      default:
        // Production applies unknown types as nothing (logged), so a newer edge never stalls the log.
        return;
    }
  }

  /** EdgeStatusWriter #podStatus: the journal recorded in the node's lineage, then a fenced write at the pod's revision. */
  #podStatus(node: string, position: EdgePosition, data: unknown): void {
    const [namespace, , name] = stringAt(data, 'resource')?.split('/') ?? [];
    const uid = stringAt(data, 'UID');
    const status = objectAt(data, 'Status');
    if (namespace === undefined || name === undefined || uid === undefined || status === undefined) return;
    if (this.#journalRecorded(node, position.journalId) === 'retired') return void (this.stats.podStatusFenced += 1);
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS_MAX; attempt++) {
      const pod = this.api.get('pods', namespace, name);
      if (pod === undefined || uidOf(pod) !== uid) return void (this.stats.podStatusGone += 1);
      const stored = objectAt(pod, 'status');
      const first = fenceVerdict(storedPositionOf(stored), position);
      const stale = storedPositionOf(stored);
      const verdict = first.kind === 'askLineage' && stale !== undefined ? journalLineageVerdict(lineageOf(this.api.get('nodes', '', node)), stale, position) : first;
      if (verdict.kind === 'skip') return void (this.stats.podStatusFenced += 1);
      const resourceVersion = stringAt(objectAt(pod, 'metadata'), 'resourceVersion');
      const written = this.api.patchStatus('pods', namespace, name, { uid, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, { status: withPosition(status, position, stored) });
      if (written.ok) return void (this.stats.podStatusWrites += 1);
      if (written.error.kind === 'NotFound') return void (this.stats.podStatusGone += 1);
    }
  }

  /** The kubelet's final delete: grace 0, only the pod with that uid. */
  #podDeleted(data: unknown): void {
    const [namespace, , name] = stringAt(data, 'resource')?.split('/') ?? [];
    const uid = stringAt(data, 'UID');
    if (namespace === undefined || name === undefined || uid === undefined) return;
    if (this.api.delete('pods', namespace, name, { uid, gracePeriodSeconds: 0 }).ok) this.stats.podsDeletedByKubelet += 1;
  }

  /** DeviceStatusWriter #write: parse with the production parsers, plan with planDeviceStatus, merge-patch the status. */
  #deviceStatus(node: string, position: EdgePosition, event: UpEvent): void {
    const parsed = event.type === TWIN_REPORTED ? parseTwinReport(event.data) : parseStateReport(event.data);
    if (!parsed.ok) return;
    const job = jobOf(node, position, parsed.value);
    if (this.#journalRecorded(node, position.journalId) === 'retired') return void (this.stats.deviceStatusSkipped += 1);
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS_MAX; attempt++) {
      const device = this.api.get('devices', job.namespace, job.name);
      let plan = planDeviceStatus(job, device);
      if (plan.kind === 'askLineage') plan = planDeviceStatus(job, device, lineageOf(this.api.get('nodes', '', node)));
      if (plan.kind !== 'write') return void (this.stats.deviceStatusSkipped += 1);
      const written = this.api.patchStatus('devices', job.namespace, job.name, { uid: job.uid, ...(plan.resourceVersion === undefined ? {} : { resourceVersion: plan.resourceVersion }) }, { status: plan.status });
      if (written.ok) return void (this.stats.deviceStatusWrites += 1);
    }
  }

  /** Records `journalId` as the node's newest journal unless its lineage lists it as retired (status-writer.position.ts). */
  #journalRecorded(node: string, journalId: string): 'current' | 'retired' {
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS_MAX; attempt++) {
      const read: JsonObject | undefined = this.api.get('nodes', '', node);
      if (read === undefined) return 'current';
      const step = recordJournal(lineageOf(read), journalId);
      if (step.kind !== 'record') return step.kind;
      const metadata = objectAt(read, 'metadata') ?? {};
      const annotations = { ...(objectAt(metadata, 'annotations') ?? {}), [JOURNAL_LINEAGE_ANNOTATION]: step.annotation };
      if (this.api.update('nodes', { ...read, metadata: { ...metadata, annotations } }).ok) return 'current';
    }
    return 'current';
  }
}
