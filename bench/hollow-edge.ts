// A hollow edge for cloud-scale benches (Kubernetes' "hollow node", kubemark): the real edge side of
// the stream — a node joined with a token, an EdgeHub over mTLS with its own SQLite journal (WAL,
// synchronous=FULL, the sync tables), the node's Lease renewed through a stream query every quarter
// of its duration and its NodeStatusReported.v1 sent on link and every minute — but no process
// runtime and no actors: a pod bound to it that arrives down is reported Running at once with the
// PodStatusReported.v1 the real edge sends (the shape of pod-translation's kubePodStatusOf for one
// running container), and a pod being deleted is reported gone with PodTerminationCompleted.v1.
// What it leaves out is the edge's own work (spawning, the pod actor's journal); what the cloud
// sees is the same sequence of frames, events and queries a real edge sends, minus the Pending
// status a real pod reports before its process runs.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonObject, type JsonObject, type Result, err, ok } from '../kernel/index.js';
import { openSqliteJournal, describeJournalOpenError, type SqliteEventStore } from '../journal/index.js';
import {
  NODE_LEASE_DURATION_SECONDS,
  NODE_LEASE_NAMESPACE,
  POD_STATUS_REPORTED,
  POD_TERMINATION_COMPLETED,
  nodeStatusReport,
  observedConditions,
  type HostFacts,
} from '../projections/index.js';
import {
  EdgeHub,
  connectMtlsStream,
  describeEdgeSyncJournalOpenError,
  joinCluster,
  loadNodeCredentials,
  openEdgeSyncJournal,
  type DesiredChange,
  type NodeCredentials,
  type UpEvent,
} from '../transport/index.js';

export interface HollowEdgeOptions {
  readonly nodeName: string;
  /** The cloud's stream URL (`Stream:` line of `edgehive cloud`). */
  readonly streamUrl: string;
  /** The cloud's bootstrap URL (`Join:` line). */
  readonly bootstrapUrl: string;
  readonly token: string;
  /** The edge's own directory: credentials and journal. */
  readonly dataDir: string;
}

/** A quarter of the Lease duration, as the kubelet and `edgehive edge` renew it. */
const LEASE_RENEW_MS = (NODE_LEASE_DURATION_SECONDS * 1000) / 4;
/** As `edgehive edge`: the node's status goes up once a minute while linked. */
const NODE_STATUS_REPORT_MS = 60_000;
const HOST_IP = '127.0.0.1';
const AGENT_VERSION = '0.1.0-hollow';
/** Pods held at most (the kubelet's default of 110 per node). */
const PODS_MAX = 110;
/** A roomy, quiet host: no pressure condition turns on. */
const HOST_PRESSURE = { memoryAvailableBytes: 8 * 1024 ** 3, diskAvailableBytes: 50 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3 } as const;

const hollowFacts = (nodeName: string): HostFacts => ({
  hostIP: HOST_IP,
  hostname: nodeName,
  cpus: 2,
  memoryBytes: 8 * 1024 ** 3,
  kernelVersion: 'hollow',
  osImage: 'edgehive hollow edge',
  architecture: 'x64',
  agentVersion: AGENT_VERSION,
  podsMax: PODS_MAX,
});

/** What the hollow edge keeps of a pod it holds. */
interface HeldPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly images: ReadonlyMap<string, string>;
  /** When it was first seen (its start time and the containers' startedAt). */
  readonly startedAt: string;
  terminating: boolean;
}

const stringAt = (object: unknown, key: string): string | undefined => (isJsonObject(object) && typeof object[key] === 'string' ? object[key] : undefined);

/** The pod's identity and container images from its desired content; undefined when it is not a pod. */
function heldPodOf(content: unknown, at: string): HeldPod | undefined {
  const metadata = isJsonObject(content) ? content['metadata'] : undefined;
  const namespace = stringAt(metadata, 'namespace');
  const name = stringAt(metadata, 'name');
  const uid = stringAt(metadata, 'uid');
  if (namespace === undefined || name === undefined || uid === undefined) return undefined;
  const spec = isJsonObject(content) ? content['spec'] : undefined;
  const containers = isJsonObject(spec) && Array.isArray(spec['containers']) ? spec['containers'] : [];
  const images = new Map<string, string>();
  for (const container of containers) {
    const containerName = stringAt(container, 'name');
    if (containerName !== undefined) images.set(containerName, stringAt(container, 'image') ?? '');
  }
  return { namespace, name, uid, images, startedAt: at, terminating: stringAt(metadata, 'deletionTimestamp') !== undefined };
}

/** The status the real edge reports for a pod whose containers all run and are ready (no probes). */
export function runningPodStatus(pod: Pick<HeldPod, 'images' | 'startedAt'>, hostIP: string = HOST_IP): JsonObject {
  const at = pod.startedAt;
  const condition = (type: string): JsonObject => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: at });
  return {
    phase: 'Running',
    conditions: [condition('PodScheduled'), condition('Initialized'), condition('ContainersReady'), condition('Ready')],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: hostIP,
    podIPs: [{ ip: hostIP }],
    initContainerStatuses: [],
    containerStatuses: [...pod.images].map(([name, image]) => ({
      name,
      state: { running: { startedAt: at } },
      lastState: {},
      ready: true,
      started: true,
      restartCount: 0,
      image,
      imageID: '',
    })),
    startTime: at,
  };
}

const podStatusEvent = (pod: HeldPod): UpEvent => ({
  type: POD_STATUS_REPORTED,
  data: { resource: `${pod.namespace}/podstatus/${pod.name}`, UID: pod.uid, Name: pod.name, Status: runningPodStatus(pod) },
});
const podTerminatedEvent = (pod: HeldPod): UpEvent => ({ type: POD_TERMINATION_COMPLETED, data: { resource: `${pod.namespace}/pod/${pod.name}`, UID: pod.uid } });

/** Counters a bench reads. */
export interface HollowEdgeStats {
  readonly podsHeld: number;
  readonly podStatusesReported: number;
  readonly leaseRenewals: number;
  readonly leaseFailures: number;
  readonly reportFailures: number;
  /** Connection attempts after the first (the hub's back-off retries). */
  readonly reconnects: number;
  /** Why the last connection closed, if one did: "code reason". */
  readonly lastClose: string | undefined;
}

/**
 * One hollow edge. Join (or reuse credentials in `dataDir`), then start; `linked()` says whether
 * its stream is up.
 *
 * @example
 * const edge = await HollowEdge.join({ nodeName: 'hollow-0001', streamUrl, bootstrapUrl, token, dataDir });
 * if (edge.ok) edge.value.start();
 */
export class HollowEdge {
  readonly #pods = new Map<string, HeldPod>();
  readonly #due = new Set<string>();
  readonly #joinedAt = new Date().toISOString();
  #reportScheduled = false;
  #timers: NodeJS.Timeout[] = [];
  #stats = { podStatusesReported: 0, leaseRenewals: 0, leaseFailures: 0, reportFailures: 0 };

  private constructor(
    readonly nodeName: string,
    private readonly hub: EdgeHub,
    private readonly store: SqliteEventStore,
  ) {}

  /** Joins with the token (once: later calls reuse the credentials) and opens the journal and hub. */
  static async join(options: HollowEdgeOptions): Promise<Result<HollowEdge, string>> {
    const credentials = await credentialsOf(options);
    if (!credentials.ok) return credentials;
    const dir = join(options.dataDir, 'edge');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const opened = openSqliteJournal(join(dir, 'journal.db'));
    if (!opened.ok) return err(describeJournalOpenError(opened.error));
    const sync = openEdgeSyncJournal(opened.value, { streamOf: () => `node-${options.nodeName}` });
    if (!sync.ok) {
      await opened.value.close();
      return err(describeEdgeSyncJournalOpenError(sync.error));
    }
    const creds: NodeCredentials = credentials.value;
    const hub = await EdgeHub.open({ nodeName: options.nodeName, connect: () => connectMtlsStream({ cloudUrl: options.streamUrl, credentials: creds }), journal: sync.value });
    return ok(new HollowEdge(options.nodeName, hub, opened.value));
  }

  /** Connects; on each link reports the node's status (and, after a full resync, every pod's) and renews the Lease. */
  start(): void {
    this.hub.on('desired', (changes) => this.#desired(changes));
    this.hub.on('linked', (mode) => {
      this.#renewLease();
      void this.#report([this.#nodeStatus()]);
      // PROTOCOL.md: after a full resync the cloud may lack the edge's history: report every pod again.
      if (mode === 'full') for (const key of this.#pods.keys()) this.#statusDue(key);
    });
    const lease = setInterval(() => this.#renewLease(), LEASE_RENEW_MS);
    const status = setInterval(() => this.hub.status().phase === 'linked' && void this.#report([this.#nodeStatus()]), NODE_STATUS_REPORT_MS);
    this.#timers = [lease, status];
    this.hub.start();
  }

  linked(): boolean {
    return this.hub.status().phase === 'linked';
  }

  stats(): HollowEdgeStats {
    const status = this.hub.status();
    const lastClose = status.lastClose === null ? undefined : `${status.lastClose.code} ${status.lastClose.reason}`;
    return { podsHeld: this.#pods.size, ...this.#stats, reconnects: status.reconnects, lastClose };
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.hub.stop();
    await this.store.close();
  }

  /** Pods are held by key (`pods/<ns>/<name>`): a re-created pod (new uid) replaces its predecessor. */
  #desired(changes: readonly DesiredChange[]): void {
    const now = new Date().toISOString();
    for (const change of changes) {
      if (!change.key.startsWith('pods/')) continue;
      if (change.op === 'delete') {
        this.#pods.delete(change.key);
        continue;
      }
      const pod = heldPodOf(change.content, now);
      if (pod === undefined) continue;
      const held = this.#pods.get(change.key);
      if (held === undefined || held.uid !== pod.uid) {
        if (held === undefined && this.#pods.size >= PODS_MAX) continue;
        this.#pods.set(change.key, pod);
        this.#statusDue(change.key);
      } else if (pod.terminating && !held.terminating) {
        held.terminating = true;
        this.#statusDue(change.key);
      }
    }
  }

  /** As the pod supervisor: reports go up coalesced, one commit per turn of the event loop. */
  #statusDue(key: string): void {
    this.#due.add(key);
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    setImmediate(() => {
      this.#reportScheduled = false;
      const events = [...this.#due].flatMap((due) => {
        const pod = this.#pods.get(due);
        if (pod === undefined) return [];
        return [pod.terminating ? podTerminatedEvent(pod) : podStatusEvent(pod)];
      });
      this.#due.clear();
      this.#stats.podStatusesReported += events.filter((e) => e.type === POD_STATUS_REPORTED).length;
      if (events.length > 0) void this.#report(events);
    });
  }

  async #report(events: readonly UpEvent[]): Promise<void> {
    const reported = await this.hub.report(events);
    if (!reported.ok) this.#stats.reportFailures += 1;
  }

  #nodeStatus(): UpEvent {
    const conditions = observedConditions(HOST_PRESSURE).map((c) => ({ ...c, lastTransitionTime: this.#joinedAt }));
    return nodeStatusReport(hollowFacts(this.nodeName), { labels: {}, conditions }, new Date().toISOString());
  }

  #renewLease(): void {
    if (!this.linked()) return;
    const lease = { kind: 'object', namespace: NODE_LEASE_NAMESPACE, type: 'lease', name: this.nodeName } as const;
    void this.hub.query({ source: 'edged', group: 'resource', resource: lease, content: { leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS } }, LEASE_RENEW_MS).then((renewed) => {
      if (renewed.ok) this.#stats.leaseRenewals += 1;
      else this.#stats.leaseFailures += 1;
    });
  }
}

/** The credentials in `dataDir`, joining with the token first when there are none. */
async function credentialsOf(options: HollowEdgeOptions): Promise<Result<NodeCredentials, string>> {
  const existing = await loadNodeCredentials(options.dataDir);
  if (existing.ok) return ok(existing.value);
  const joined = await joinCluster({ cloudUrl: options.bootstrapUrl, token: options.token, nodeName: options.nodeName, dataDir: options.dataDir });
  if (!joined.ok) return err(`${options.nodeName} cannot join at ${options.bootstrapUrl}: ${joined.error.message}`);
  const loaded = await loadNodeCredentials(options.dataDir);
  return loaded.ok ? ok(loaded.value) : err(loaded.error.message);
}
