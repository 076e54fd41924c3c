// `edgehive edge`: the edge side of the stream. It joins the cluster once with a token (later runs
// reuse the credentials in <dataDir>/edge-pki), opens its SQLite journal with the sync tables, and
// keeps an EdgeHub linked to the cloud, renewing its certificate before it runs out. With several
// cloud processes listed it keeps to the one that last worked and moves round the list when that one
// will not serve the node. Progress goes to stdout one greppable line at a time; structured logs go to stderr.
import { mkdir, statfs } from 'node:fs/promises';
import { arch, cpus, freemem, hostname, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { ActorHost } from '../../actors/index.js';
import { describeMetaServerStartError, metaServerPortDefault, startMetaServer, type MetaServer } from '../../k8s/index.js';
import { LocalView, NODE_LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE, NodeAgent, POD_STATUS_REPORTED, PodSupervisor, observedConditions, type HostFacts, type HostPressure } from '../../projections/index.js';
import { openProcessRuntime, type ContainerRuntime } from '../../runtime/index.js';
import type { Logger } from 'pino';
import { describeJournalOpenError, openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { type JsonObject, type Result, err, isJsonObject, ok, randomIds, systemClock } from '../../kernel/index.js';
import {
  EdgeHub,
  connectMtlsStream,
  describeEdgeSyncJournalOpenError,
  joinCluster,
  loadNodeCredentials,
  openEdgeSyncJournal,
  renewNodeCertificate,
  eventBusResponder,
  servePodStreams,
  serviceBusResponder,
  type EdgeHubOptions,
  type EventBusPublish,
  type NodeCredentials,
  type SessionEnd,
  type SqliteEdgeSyncJournal,
  type UpEvent,
} from '../../transport/index.js';
import { scheduleCertificateRotation, type RotationPorts } from './edge.rotation.js';
import { parseMqttSettings, startEdgeDevices, type MqttSettings } from './edge.devices.js';
import { bootstrapOrder, nextCloud, parseEdgeUrls, triesNextBootstrap, type CloudAttemptEnd, type EdgeUrls } from './edge.urls.js';

export interface EdgeOptions {
  /** The cloud's stream URL, `wss://<host>:<port>`, or several cloud processes' URLs comma-separated. */
  readonly cloud: string;
  readonly name: string;
  /** Needed for the first join only. */
  readonly token?: string;
  /** The cloud's bootstrap URL (one for all, or one per stream URL, comma-separated); by default each stream's host at its port + 2. */
  readonly bootstrap?: string;
  readonly dataDir: string;
  /** The local read-only API's port (KubeEdge's MetaServer): default 10550, `0` for a free one; false turns it off. */
  readonly metaServer?: boolean;
  readonly metaServerPort?: string;
  /** `--labels k=v,k2=v2`: labels the node registers with (kubelet's --node-labels, keadm join --labels). */
  readonly labels?: string;
  /** `--no-mqtt` (false), `--mqtt-url`, `--mqtt-port`, `--mqtt-username`, `--mqtt-password`: the EventBus's broker. */
  readonly mqtt?: boolean;
  readonly mqttUrl?: string;
  readonly mqttPort?: string;
  readonly mqttUsername?: string;
  readonly mqttPassword?: string;
}

export interface EdgeIo {
  out(line: string): void;
  err(line: string): void;
}

/** Bytes of event history the edge journal keeps before it compacts what snapshots cover. */
const EDGE_JOURNAL_BYTES_MAX = 64 * 1024 * 1024;
/** Events of one actor between snapshots: a restart folds at most this many per actor. */
const ACTOR_SNAPSHOT_EVERY_EVENTS = 100;
/** How often the edge compacts acknowledged outbox entries and checks whether it is up to date. */
const PROGRESS_INTERVAL_MS = 500;
/** How often the node's status goes up while linked (KubeEdge's nodeStatusReportFrequency is 5 min; the Ready heartbeat is more frequent). */
const NODE_STATUS_REPORT_MS = 60_000;
/** A quarter of the Lease duration, as the kubelet renews it. */
const LEASE_RENEW_MS = (NODE_LEASE_DURATION_SECONDS * 1000) / 4;
/** Pods use the host network and all traffic stays on loopback here, so the node's (and every pod's) IP. */
const HOST_IP = '127.0.0.1';
/** The close code of a Node deleted in the API (DESIGN.md): the edge stops its pods and does not re-register. */
const CLOSE_NODE_DELETED = 4410;
const AGENT_VERSION = '0.1.0';

/** The stream a node's own events join (DESIGN.md, Events). */
const nodeStream = (nodeName: string): string => `node-${nodeName}`;

/** Resolves to the exit code: 1 at once on a start-up error, 0 once `stop` fires. */
export async function runEdge(options: EdgeOptions, io: EdgeIo, stop: AbortSignal, log: Logger): Promise<number> {
  const urls = parseEdgeUrls(options.cloud, options.bootstrap);
  if (!urls.ok) return fail(io, urls.error);
  const metaServerPort = parseMetaServerPort(options);
  if (!metaServerPort.ok) return fail(io, metaServerPort.error);
  const labels = parseNodeLabels(options.labels ?? '');
  if (!labels.ok) return fail(io, labels.error);
  const mqtt = parseMqttSettings(options);
  if (!mqtt.ok) return fail(io, mqtt.error);
  const dataDir = resolve(options.dataDir);
  const existing = await existingCredentials(dataDir, options, io);
  if (!existing.ok) return fail(io, existing.error);
  const journal = await openEdgeJournal(dataDir, options.name);
  if (!journal.ok) return fail(io, journal.error);
  const credentials = existing.value === undefined ? await joinOnce(urls.value, options, dataDir, io) : ok(existing.value);
  if (!credentials.ok) {
    await journal.value.store.close();
    return fail(io, credentials.error);
  }
  const until = new Date(credentials.value.notAfterMs).toISOString();
  io.out(existing.value === undefined ? `joined as system:node:${options.name} (certificate valid until ${until})` : `credentials of system:node:${options.name} (certificate valid until ${until})`);
  io.out(`journal ${journal.value.path}`);
  const runtime = openProcessRuntime({ dataDir: join(dataDir, 'edge', 'runtime') });
  if (!runtime.ok) {
    await journal.value.store.close();
    return fail(io, `the process runtime cannot start: ${runtime.error.message}`);
  }
  const link = await startLink({ nodeName: options.name, dataDir, urls: urls.value, credentials: credentials.value, journal: journal.value, runtime: runtime.value, metaServerPort: metaServerPort.value, labels: labels.value, mqtt: mqtt.value, io, log });
  if (!link.ok) {
    await runtime.value.close();
    await journal.value.store.close();
    return fail(io, link.error);
  }
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  await link.value.stop();
  await runtime.value.close();
  await journal.value.store.close();
  return 0;
}

/**
 * The credentials already in the data dir; `ok(undefined)` when a join with the given token is
 * due. A data dir serves one node: credentials of another node are an error, token or not.
 */
async function existingCredentials(dataDir: string, options: EdgeOptions, io: EdgeIo): Promise<Result<NodeCredentials | undefined, string>> {
  const loaded = await loadNodeCredentials(dataDir);
  if (loaded.ok) {
    const holder = loaded.value.nodeName;
    if (holder !== options.name) {
      return err(`${dataDir} holds the credentials of node ${holder}, not ${options.name}: a node certificate names one node; use another --data-dir for ${options.name}`);
    }
    if (options.token !== undefined) io.out(`already joined as system:node:${holder}; --token is not needed and was not used`);
    return ok(loaded.value);
  }
  if (options.token !== undefined) return ok(undefined);
  if (loaded.error.kind === 'CredentialsMissing') {
    return err(`node ${options.name} has not joined yet: the first run needs --token (create one on the cloud with \`edgehive token create\`); ${loaded.error.message}`);
  }
  return err(`${loaded.error.message} (pass --token to join again)`);
}

/** Joins through the bootstrap URLs in the order given, until one answers as this cluster's cloud. */
async function joinOnce(urls: readonly EdgeUrls[], options: EdgeOptions, dataDir: string, io: EdgeIo): Promise<Result<NodeCredentials, string>> {
  const joined = await throughBootstrapUrls(
    bootstrapOrder(urls, 0),
    (cloudUrl) => joinCluster({ cloudUrl, token: options.token ?? '', nodeName: options.name, dataDir }),
    (url, message, next) => io.out(`cannot join at ${url}: ${message}; trying ${next}`),
  );
  if (!joined.ok) return err(`cannot join the cluster at ${joined.error.map(({ url, message }) => `${url}: ${message}`).join('; at ')}`);
  const loaded = await loadNodeCredentials(dataDir);
  return loaded.ok ? ok(loaded.value) : err(loaded.error.message);
}

/** One bootstrap URL's failure: where and why. */
interface BootstrapFailure {
  readonly url: string;
  readonly message: string;
}

/**
 * Runs a join or renewal against each URL of `order` until one succeeds or answers with something
 * another cloud process would repeat (triesNextBootstrap); the failures say what each URL did.
 */
async function throughBootstrapUrls<T>(
  order: readonly string[],
  attempt: (url: string) => Promise<Result<T, { readonly kind: string; readonly message: string; readonly status?: number }>>,
  movingOn: (url: string, message: string, next: string) => void,
): Promise<Result<T, readonly BootstrapFailure[]>> {
  const failures: BootstrapFailure[] = [];
  for (const [i, url] of order.entries()) {
    const result = await attempt(url);
    if (result.ok) return result;
    failures.push({ url, message: result.error.message });
    const next = order[i + 1];
    if (next === undefined || !triesNextBootstrap(result.error)) break;
    movingOn(url, result.error.message, next);
  }
  return err(failures);
}

interface EdgeJournal {
  readonly path: string;
  readonly store: SqliteEventStore;
  readonly sync: SqliteEdgeSyncJournal;
}

/** The edge's journal, <dataDir>/edge/journal.db, with the outbox and desired tables in it. */
async function openEdgeJournal(dataDir: string, nodeName: string): Promise<Result<EdgeJournal, string>> {
  const dir = join(dataDir, 'edge');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return err(`cannot create ${dir}: ${(error as Error).message}`);
  }
  const path = join(dir, 'journal.db');
  // DESIGN.md: the edge journal is bounded; history covered by a snapshot is compacted past this.
  const opened = openSqliteJournal(path, { journalBytesMax: EDGE_JOURNAL_BYTES_MAX });
  if (!opened.ok) return err(describeJournalOpenError(opened.error));
  const sync = openEdgeSyncJournal(opened.value, { streamOf: () => nodeStream(nodeName) });
  if (!sync.ok) {
    await opened.value.close();
    return err(`${path}: ${describeEdgeSyncJournalOpenError(sync.error)}`);
  }
  return ok({ path, store: opened.value, sync: sync.value });
}

interface LinkContext {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly urls: readonly EdgeUrls[];
  readonly credentials: NodeCredentials;
  readonly journal: EdgeJournal;
  readonly runtime: ContainerRuntime;
  /** Undefined: no local API. */
  readonly metaServerPort: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly mqtt: MqttSettings;
  readonly io: EdgeIo;
  readonly log: Logger;
}

/** Starts the hub, the node and pod actors, progress lines, outbox compaction and certificate rotation; `stop` ends all of them. */
async function startLink(context: LinkContext): Promise<Result<{ stop(): Promise<void> }, string>> {
  const { nodeName, dataDir, urls, io, log } = context;
  let stopping = false;
  let reporting = false;
  let upToDateShown = false;
  // The pods run from the journal first: with the cloud away they start (or are adopted) all the same.
  const view = new LocalView(await context.journal.sync.heldObjects());
  const cloud = chooseCloud(urls, io);
  // The Router's messages for this edge's broker; the EventBus starts after the hub, so it is bound late.
  let publishOnBus: EventBusPublish = () => Promise.resolve(err('the EventBus is still starting'));
  const hub = await EdgeHub.open({
    nodeName,
    connect: connectWithFreshCredentials(dataDir, cloud, io),
    connectByteStream: connectByteStreamWithFreshCredentials(dataDir, cloud),
    journal: context.journal.sync,
    // kubectl logs/exec, relayed by the cloud, served from the runtime.
    byteStream: servePodStreams(context.runtime, { pod: (namespace, name) => podOf(view, namespace, name) }),
    // KubeEdge's Router EventBus target (publish on this edge's broker), else its ServiceBus: the
    // cloud calls HTTP apps on this host's loopback through the stream.
    respond: eventBusResponder((topic, payload) => publishOnBus(topic, payload), serviceBusResponder({})),
    log,
  });
  // Snapshots bound what a restart folds: a twin takes a write per mapper reading (KubeEdge's rule 44).
  const host = new ActorHost({ store: context.journal.store, clock: systemClock, ids: randomIds, origin: nodeName, snapshotEveryEvents: ACTOR_SNAPSHOT_EVERY_EVENTS });
  const reportNodeEvents = async (events: readonly UpEvent[]): Promise<void> => {
    const reported = await hub.report(events);
    if (!reported.ok) log.warn({ error: reported.error }, 'node status not journaled');
  };
  const agent = await NodeAgent.start({ nodeName, host, facts: hostFacts, labels: context.labels, report: reportNodeEvents, clock: systemClock, log });
  if (!agent.ok) {
    await hub.stop();
    return err(agent.error);
  }
  const node = agent.value;
  const local = await startLocalApi(context, view);
  const supervisor = new PodSupervisor({
    nodeName,
    hostIP: HOST_IP,
    host,
    runtime: context.runtime,
    held: view,
    report: (events) => {
      local.statusesReported(events);
      return hub.report(events);
    },
    clock: systemClock,
    ids: randomIds,
    log,
  });
  // A node deleted in the cluster keeps its pods stopped, across restarts, until the cloud accepts it again.
  await supervisor.start(node.decommissioned ? [] : view.pods());
  io.out(node.decommissioned ? 'node deleted in the cluster; its pods stay stopped until it is accepted again' : `pods: ${supervisor.states().size} from the journal`);
  // Device twins: MQTT for mappers and apps, journaled actors, reports up through the outbox.
  const devices = await startEdgeDevices({ nodeName, host, view, report: (events) => hub.report(events), settings: context.mqtt, io, log });
  publishOnBus = (topic, payload) => devices.publish(topic, payload);
  hub.on('desired', (changes) => {
    const changed = view.applyChanges(changes);
    if (changed.pods) void supervisor.reconcile(view.pods());
    if (changed.devices) devices.reconcile();
    local.refresh();
  });
  // The node's conditions as observed now; the actor journals changes, and the status goes up as a heartbeat.
  const observeNode = async (): Promise<void> => node.observe(observedConditions(await hostPressure(dataDir)));
  const reportNode = (): void => {
    if (hub.status().phase !== 'linked') return;
    observeNode().catch((error: Error) => log.warn({ error: error.message }, 'node status not reported'));
  };
  const nodeStatusTimer = setInterval(reportNode, NODE_STATUS_REPORT_MS);
  nodeStatusTimer.unref();
  // The heartbeat: the node's Lease, renewed every quarter of its duration while linked (not journaled).
  const renewLease = (): void => {
    if (hub.status().phase !== 'linked') return;
    const lease = { kind: 'object', namespace: NODE_LEASE_NAMESPACE, type: 'lease', name: nodeName } as const;
    void hub.query({ source: 'edged', group: 'resource', resource: lease, content: { leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS } }, LEASE_RENEW_MS).then((renewed) => {
      if (!renewed.ok) log.warn({ error: renewed.error.message }, 'lease not renewed');
    });
  };
  const leaseTimer = setInterval(renewLease, LEASE_RENEW_MS);
  leaseTimer.unref();
  hub.on('linked', (mode, clusterId) => {
    io.out(`linked (${mode}) to cluster ${clusterId}`);
    upToDateShown = false;
    renewLease();
    // PROTOCOL.md: after a full resync the edge reports its current state, since the cloud may lack
    // history: every pod's status and the node's. The cloud applying them also gives its NodeSync
    // this journal's first position, which is what lets the next link resume. "Up to date" waits for them.
    reporting = true;
    if (mode === 'full') {
      supervisor.reportAll();
      devices.reportAll();
    }
    const wasDecommissioned = node.decommissioned;
    void hostPressure(dataDir)
      .then((pressure) => node.linked(observedConditions(pressure)))
      .then(async () => {
        if (!wasDecommissioned) return;
        io.out('node accepted again by the cluster; running its pods');
        await supervisor.reconcile(view.pods());
      })
      .catch((error: Error) => log.warn({ error: error.message }, 'node status not reported'))
      .finally(() => {
        reporting = false;
      });
  });
  hub.on('unlinked', (end) => {
    if (stopping) return;
    if (end.code === CLOSE_NODE_DELETED) {
      io.out(`node deleted in the cluster (${end.reason}); stopping its pods`);
      void node.deleted().then(() => supervisor.reconcile([]));
      return;
    }
    void node.unlinked();
    io.out(`disconnected: ${end.code} ${end.reason === '' ? '(no reason given)' : end.reason}; retrying`);
  });
  // After the line above; the hub emits 'unlinked' before it schedules the next connect, so that connect sees the choice.
  hub.on('linked', () => cloud.linked());
  hub.on('unlinked', (end) => {
    if (!stopping) cloud.sessionEnded(end);
  });
  const progress = setInterval(() => {
    const status = hub.status();
    if (!upToDateShown && !reporting && status.phase === 'linked' && status.upAcked === status.outboxHead) {
      upToDateShown = true;
      io.out(`up to date: the cloud applied up seq ${status.outboxHead}`);
    }
    hub.compactOutbox().catch((error: Error) => log.warn({ error: error.message }, 'outbox compaction failed'));
  }, PROGRESS_INTERVAL_MS);
  const rotation = scheduleCertificateRotation(context.credentials, rotationPorts(dataDir, urls, cloud), {
    rotated: (next) => {
      io.out(`certificate rotated (valid until ${new Date(next.notAfterMs).toISOString()}); reconnecting with it`);
      // Nothing is lost by dropping the link: both directions resume from what was acknowledged.
      hub.dropConnection();
    },
    failed: (message, retryInMs) => io.out(`certificate rotation failed: ${message}; retrying in ${Math.round(retryInMs / 1000)} s`),
  });
  hub.start();
  return ok({
    stop: async () => {
      stopping = true;
      clearInterval(progress);
      clearInterval(nodeStatusTimer);
      clearInterval(leaseTimer);
      rotation.stop();
      await supervisor.stop();
      await devices.stop();
      await hub.stop();
      await local.close();
    },
  });
}

/** A pod the edge holds, for kubectl logs/exec: its uid and container names. */
function podOf(view: LocalView, namespace: string, name: string): { uid: string; containers: string[] } | undefined {
  for (const pod of view.pods()) {
    const metadata = isJsonObject(pod['metadata']) ? pod['metadata'] : {};
    if (metadata['namespace'] !== namespace || metadata['name'] !== name || typeof metadata['uid'] !== 'string') continue;
    const spec = isJsonObject(pod['spec']) ? pod['spec'] : {};
    const containers = [...(Array.isArray(spec['initContainers']) ? spec['initContainers'] : []), ...(Array.isArray(spec['containers']) ? spec['containers'] : [])];
    return { uid: metadata['uid'], containers: containers.flatMap((c) => (isJsonObject(c) && typeof c['name'] === 'string' ? [c['name']] : [])) };
  }
  return undefined;
}

/** Switch lines remembered since the last link, so a list of clouds all away prints each switch once. */
const SWITCH_LINES_REMEMBERED_MAX = 64;

/** Which cloud process of the list the edge talks to; the hub's connect callback and events drive it. */
interface CloudChoice {
  /** The pair the next connect, a byte stream or a renewal starts with. */
  current(): EdgeUrls;
  index(): number;
  connectFailed(): void;
  linked(): void;
  sessionEnded(end: SessionEnd): void;
}

/** Applies nextCloud to each attempt's end and prints `switching cloud: <url> (<from>: <why>)` on a move. */
function chooseCloud(urls: readonly EdgeUrls[], io: EdgeIo): CloudChoice {
  let index = 0;
  let linked = false;
  const printed = new Set<string>();
  const apply = (end: CloudAttemptEnd): void => {
    linked = false;
    const next = nextCloud(urls.length, index, end);
    if (next.index === index) return;
    const line = `switching cloud: ${urls[next.index]!.streamUrl} (${urls[index]!.streamUrl}: ${next.reason ?? ''})`;
    index = next.index;
    if (printed.has(line)) return;
    if (printed.size >= SWITCH_LINES_REMEMBERED_MAX) printed.clear();
    printed.add(line);
    io.out(line);
  };
  return {
    current: () => urls[index]!,
    index: () => index,
    connectFailed: () => apply({ kind: 'connectFailed' }),
    linked: () => {
      linked = true;
      printed.clear();
    },
    sessionEnded: (end) => apply({ kind: 'sessionEnded', code: end.code, reason: end.reason, local: end.local, linked }),
  };
}

/**
 * Byte streams (kubectl logs/exec) open their own mTLS connection, with the credentials on disk now,
 * to the cloud process the stream is linked to: the one that relays the request waits for it.
 */
function connectByteStreamWithFreshCredentials(dataDir: string, cloud: CloudChoice): NonNullable<EdgeHubOptions['connectByteStream']> {
  return async (session) => {
    const credentials = await loadNodeCredentials(dataDir);
    return credentials.ok ? connectMtlsStream({ cloudUrl: cloud.current().streamUrl, credentials: credentials.value, byteStreamSession: session }) : err({ message: credentials.error.message });
  };
}

/** Each connect reads the credentials from disk again, so a rotated certificate is used from the next reconnect. */
function connectWithFreshCredentials(dataDir: string, cloud: CloudChoice, io: EdgeIo): EdgeHubOptions['connect'] {
  // The last failure per stream URL (at most CLOUD_URLS_MAX entries).
  const lastFailure = new Map<string, string>();
  return async () => {
    const streamUrl = cloud.current().streamUrl;
    const credentials = await loadNodeCredentials(dataDir);
    const opened = credentials.ok ? await connectMtlsStream({ cloudUrl: streamUrl, credentials: credentials.value }) : err({ message: credentials.error.message });
    if (opened.ok) {
      lastFailure.delete(streamUrl);
      return opened;
    }
    if (opened.error.message !== lastFailure.get(streamUrl)) {
      // Printed once per distinct failure: back-off retries the same one for as long as the cloud is away.
      lastFailure.set(streamUrl, opened.error.message);
      io.out(`cannot connect: ${opened.error.message}; retrying`);
    }
    cloud.connectFailed();
    return opened;
  };
}

function rotationPorts(dataDir: string, urls: readonly EdgeUrls[], cloud: CloudChoice): RotationPorts {
  return {
    nowMs: () => Date.now(),
    random01: () => Math.random(),
    setTimer: (fire, delayMs) => {
      const timer = setTimeout(fire, delayMs);
      timer.unref();
      return () => clearTimeout(timer);
    },
    // From the bootstrap URL of the cloud that last worked, round the list.
    renew: async () => {
      const renewed = await throughBootstrapUrls(bootstrapOrder(urls, cloud.index()), (cloudUrl) => renewNodeCertificate({ cloudUrl, dataDir }), () => undefined);
      if (renewed.ok) return ok(renewed.value);
      const [only] = renewed.error;
      return err({ message: renewed.error.length === 1 && only !== undefined ? only.message : renewed.error.map(({ url, message }) => `${url}: ${message}`).join('; ') });
    },
  };
}

interface LocalApi {
  /** The pod statuses in these reports go into the local API's pods. */
  statusesReported(events: readonly UpEvent[]): void;
  /** The held objects changed. */
  refresh(): void;
  close(): Promise<void>;
}

/**
 * The local read-only API (KubeEdge's MetaServer) over the local view: the objects the edge holds,
 * each pod with the status the edge last reported for it, refreshed once per turn of the event loop.
 */
async function startLocalApi(context: LinkContext, view: LocalView): Promise<LocalApi> {
  const { io, log } = context;
  const none: LocalApi = { statusesReported: () => undefined, refresh: () => undefined, close: async () => undefined };
  if (context.metaServerPort === undefined) return none;
  const started = await startMetaServer({ port: context.metaServerPort });
  if (!started.ok) {
    // The agent runs its pods all the same; only local queries are unavailable.
    io.out(`metaserver unavailable: ${describeMetaServerStartError(started.error)}`);
    return none;
  }
  const server: MetaServer = started.value;
  io.out(`metaserver ${server.url}`);
  const statuses = new Map<string, unknown>();
  let scheduled = false;
  const publish = (): void => {
    scheduled = false;
    const objects = [...view.objects().values()].map((object) => withStatus(object, statuses));
    const replaced = server.view.replaceAll(objects);
    if (!replaced.ok) log.warn({ error: replaced.error }, 'local API not refreshed');
  };
  const refresh = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(publish);
  };
  publish();
  return {
    statusesReported: (events) => {
      for (const event of events) {
        const data = event.data;
        if (event.type !== POD_STATUS_REPORTED || !isJsonObject(data) || typeof data['UID'] !== 'string') continue;
        statuses.set(data['UID'], data['Status']);
        refresh();
      }
    },
    refresh,
    close: () => server.close(),
  };
}

/** A held pod with the status the edge reported for it; other objects as they are. */
function withStatus(object: JsonObject, statuses: ReadonlyMap<string, unknown>): JsonObject {
  const metadata = object['metadata'];
  const uid = isJsonObject(metadata) ? metadata['uid'] : undefined;
  const status = typeof uid === 'string' ? statuses.get(uid) : undefined;
  return isJsonObject(status) ? ({ ...object, status } as JsonObject) : object;
}

/** `--meta-server-port`: 10550 by default, 0 for a free port; `--no-meta-server` turns it off. */
function parseMetaServerPort(options: EdgeOptions): Result<number | undefined, string> {
  if (options.metaServer === false) return ok(undefined);
  const text = options.metaServerPort ?? String(metaServerPortDefault);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(port) && port <= 65535 ? ok(port) : err(`--meta-server-port must be a port number (0 for a free one), got '${text}'`);
}

/** What the host shows now: available memory, and free space where the data dir lives (the kubelet's nodefs). */
async function hostPressure(dataDir: string): Promise<HostPressure> {
  const fs = await statfs(dataDir);
  return { memoryAvailableBytes: freemem(), diskAvailableBytes: fs.bavail * fs.bsize, diskTotalBytes: fs.blocks * fs.bsize };
}

/**
 * `--labels k=v,k2=v2`, as kubelet's --node-labels: each key an optional DNS subdomain prefix and a
 * name of up to 63 characters, each value up to 63 characters of the label alphabet (or empty).
 */
export function parseNodeLabels(text: string): Result<Readonly<Record<string, string>>, string> {
  const labels: Record<string, string> = {};
  if (text.trim() === '') return ok(labels);
  for (const item of text.split(',')) {
    const at = item.indexOf('=');
    if (at < 0) return err(`--labels: '${item}' is not key=value`);
    const key = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    const problem = labelKeyProblem(key) ?? (labelValue.test(value) ? undefined : `the value of ${key} must be at most 63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit`);
    if (problem !== undefined) return err(`--labels: ${problem}`);
    if (key in labels) return err(`--labels: ${key} is given twice`);
    labels[key] = value;
  }
  return ok(labels);
}

const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix))) return `the key ${key} has a prefix that is not a DNS subdomain`;
  if (!labelName.test(name)) return `the key ${key} must end in a name of at most 63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit`;
  return undefined;
}

/** What the node reports about its host. */
function hostFacts(): HostFacts {
  return { hostIP: HOST_IP, hostname: hostname(), cpus: cpus().length, memoryBytes: totalmem(), kernelVersion: release(), osImage: 'edgehive process runtime', architecture: arch(), agentVersion: AGENT_VERSION, podsMax: 110 };
}

function fail(io: EdgeIo, message: string): number {
  io.err(`edgehive edge: ${message}`);
  return 1;
}
