// `edgehive cloud`: the cloud side. It runs the embedded Kubernetes API server (unless a real
// cluster is named with --kubeconfig), and beside it the edges' way in: the node bootstrap HTTPS
// server (join and certificate renewal) and the mTLS stream server with a CloudHub behind it, all
// under the cluster PKI in <dataDir>/pki. It prints how to reach each of them.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { CONTROLLERS_LEASE, CloudRouter, DeviceStatusWriter, EdgeController, KeepAliveKubeConfig, EdgeStatusWriter, LeaderElector, LeaseHolder, NodeLeaseWriter, NodeStreamLeases, kubeLeaseStore, validateLeaseTiming, type LeaseTiming } from '../../projections/index.js';
import { leaseOwnership } from './stream-ownership.js';
import { CloudLinkRecorder, openCloudJournal, parseJournalTarget, type CloudJournalTarget } from './cloud-journal.js';
import { startControlLoops } from './control-loops.js';
import { PUBLIC_FILE_MODE, ensureClusterPki, loadBundledCrds, startEmbeddedApiServer, writeFileAtomic, type ClusterPki } from '../../k8s/index.js';
import { type Result, err, ok } from '../../kernel/index.js';
import {
  CLOUD_PKI_DIR_NAME,
  CloudHub,
  KubeNodeSyncStore,
  createNodeBootstrapHandler,
  fileJoinTokenStore,
  joinTokenAuthority,
  joinTokensPath,
  loadNodeCertificateSigner,
  startMtlsStreamServer,
  startNodeBootstrapServer,
  podLogHandler,
  podUpgradeHandler,
  nodeProxyHandler,
  type CloudPodStreamDeps,
  type UpEffects,
  type BootstrapServer,
  type MtlsStreamServer,
} from '../../transport/index.js';

export interface CloudOptions {
  readonly dataDir: string;
  readonly kubeconfig?: string;
  readonly apiPort?: string;
  readonly streamPort?: string;
  readonly bootstrapPort?: string;
  readonly insecure: boolean;
  /** With --kubeconfig: run the embedded mode's scheduler and controllers against that cluster too. */
  readonly runControllers?: boolean;
  /** `sqlite:FILE` or `esdb://…`: where the cloud's node link actors journal (default <dataDir>/cloud/journal.db). */
  readonly journal?: string;
  /** Seconds before another cloud process may take over a node whose owner stopped renewing its stream Lease (default 40). */
  readonly streamLeaseSeconds?: string;
  /** Seconds a node may stay silent before it goes Unknown (kube-controller-manager's flag of that name); 40 by default. */
  readonly nodeMonitorGracePeriod?: string;
  /** Serve KubeEdge's router URL (rest→eventbus Rules) on this port of 127.0.0.1; 0: a free one; absent: not served (KubeEdge's router is off by default). */
  readonly routerPort?: string;
}

export interface CloudIo {
  out(line: string): void;
  err(line: string): void;
}

/** The stream and bootstrap servers listen here, as the embedded API server does. */
const CLOUD_HOST = '127.0.0.1';
/** KubeEdge's layout: CloudHub's websocket on 10000, its certificate endpoint on 10002. */
const BOOTSTRAP_PORT_OFFSET = 2;
/** Tries at a free stream port P whose P+2 is free too, before asking for explicit ports. */
const PORT_PAIR_ATTEMPTS_MAX = 8;
const PORT_MAX = 65535;
/** How long an edge has to open a kubectl logs/exec byte stream. */
const BYTE_STREAM_OPEN_TIMEOUT_MS = 15_000;
/** How long the EdgeController may take to list the API before the cloud gives up starting. */
const API_SYNC_TIMEOUT_MS = 30_000;

/** Resolves to the exit code once `stop` fires (or at once on a start-up error). */
export async function runCloud(options: CloudOptions, io: CloudIo, stop: AbortSignal, log: Logger): Promise<number> {
  const ports = parsePorts(options);
  if (!ports.ok) return fail(io, ports.error);
  const routerPort = parseRouterPort(options.routerPort);
  if (!routerPort.ok) return fail(io, routerPort.error);
  const graceSeconds = parseGraceSeconds(options.nodeMonitorGracePeriod);
  if (!graceSeconds.ok) return fail(io, graceSeconds.error);
  const journalTarget = parseJournalTarget(options.journal, resolve(options.dataDir));
  if (!journalTarget.ok) return fail(io, journalTarget.error);
  const streamLease = parseStreamLease(options.streamLeaseSeconds);
  if (!streamLease.ok) return fail(io, streamLease.error);
  if (options.kubeconfig !== undefined && (options.apiPort !== undefined || options.insecure)) return fail(io, '--api-port and --insecure configure the embedded API server; with --kubeconfig there is none');
  const dataDir = resolve(options.dataDir);
  // kubectl logs/exec reach the pod's edge through the hub, which starts after the API server.
  const late: LateStreamSide = { hub: undefined, podNode: () => undefined };
  const api = options.kubeconfig === undefined ? await startEmbeddedApi(dataDir, ports.value.api, options.insecure, late) : await connectToCluster(resolve(options.kubeconfig));
  if (!api.ok) return fail(io, api.error);
  // A real cluster has its own scheduler and controllers: ours run there only when asked.
  const controllers = options.kubeconfig === undefined || options.runControllers === true;
  const identity = await processIdentity(dataDir);
  if (!identity.ok) return fail(io, identity.error);
  const routerAuthorized = routerPort.value === undefined ? ok(undefined) : routerAuthorization(api.value.kc, options.insecure);
  if (!routerAuthorized.ok) {
    await api.value.close();
    return fail(io, routerAuthorized.error);
  }
  const router = routerPort.value === undefined || routerAuthorized.value === undefined ? {} : { router: { port: routerPort.value, authorized: routerAuthorized.value } };
  const stream = await startStreamSide(dataDir, api.value.clusterId, api.value.kc, ports.value, log, late, { nodeGraceMs: graceSeconds.value * 1000, controllers, identity: identity.value, streamLease: streamLease.value, journal: journalTarget.value, ...router });
  if (!stream.ok) {
    await api.value.close();
    return fail(io, stream.error);
  }
  if (options.insecure) io.err('edgehive cloud: WARNING: --insecure serves the API over plain HTTP without authentication');
  printReachability(io, options.dataDir, api.value, stream.value);
  io.out(`Cloud process: ${identity.value}`);
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  await stream.value.close();
  await api.value.close();
  return 0;
}

/** The Kubernetes API the cloud works against: the embedded server, or a cluster named by a kubeconfig. */
interface ApiSide {
  readonly kc: KubeConfig;
  /** The uid of namespace kube-system (PROTOCOL.md: the edges' clusterId). */
  readonly clusterId: string;
  /** What to print about it: the embedded server's kubeconfig and URL, or the cluster's server. */
  readonly lines: readonly string[];
  close(): Promise<void>;
}

async function startEmbeddedApi(dataDir: string, port: number, insecure: boolean, late: LateStreamSide): Promise<Result<ApiSide, string>> {
  const tunnel: CloudPodStreamDeps = {
    podNode: (namespace, name) => late.podNode(namespace, name),
    openByteStream: (node, request) => (late.hub === undefined ? Promise.resolve(err({ kind: 'StreamStopped' as const, message: 'the cloud is still starting' })) : late.hub.openByteStream(node, request, BYTE_STREAM_OPEN_TIMEOUT_MS)),
  };
  // KubeEdge's ServiceBus, kubectl-native: /api/v1/nodes/<node>:<port>/proxy/<path> reaches an HTTP app on that edge.
  const serviceBus = nodeProxyHandler({
    request: (node, request, timeoutMs) => (late.hub === undefined ? Promise.resolve(err({ kind: 'StreamStopped' as const, message: 'the cloud is still starting' })) : late.hub.request(node, request, timeoutMs)),
    isLinked: (node) => late.hub?.isLinked(node) ?? false,
  });
  const started = await startEmbeddedApiServer({ dataDir, port, insecure, podStreams: podLogHandler(tunnel), podUpgrades: podUpgradeHandler(tunnel), nodeProxy: serviceBus });
  if (!started.ok) return err(started.error);
  const server = started.value;
  const kc = new KeepAliveKubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return ok({
    kc,
    clusterId: server.clusterId,
    lines: [`export KUBECONFIG=${server.kubeconfigPath}`, `Kubernetes API: ${server.url} (cluster ${server.clusterId})`],
    close: () => server.close(),
  });
}

/**
 * A cluster named by --kubeconfig, reached through client-node only. Its clusterId is the uid of
 * kube-system; a cluster that cannot be read within the start-up bound is a start-up error.
 */
async function connectToCluster(kubeconfigPath: string): Promise<Result<ApiSide, string>> {
  const kc = new KeepAliveKubeConfig();
  try {
    kc.loadFromFile(kubeconfigPath);
  } catch (error) {
    return err(`cannot read the kubeconfig ${kubeconfigPath}: ${(error as Error).message}`);
  }
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) return err(`the kubeconfig ${kubeconfigPath} names no current cluster`);
  const core = kc.makeApiClient(CoreV1Api);
  const read = core.readNamespace({ name: 'kube-system' }).then(
    (namespace) => ok(namespace.metadata?.uid ?? ''),
    (error: unknown) => err(`cannot read namespace kube-system at ${server}: ${(error as Error).message}`),
  );
  const timeout = new Promise<Result<string, string>>((resolve) => setTimeout(() => resolve(err(`the Kubernetes API at ${server} did not answer within ${API_SYNC_TIMEOUT_MS / 1000} s`)), API_SYNC_TIMEOUT_MS).unref());
  const clusterId = await Promise.race([read, timeout]);
  if (!clusterId.ok) return clusterId;
  if (clusterId.value === '') return err(`namespace kube-system at ${server} has no uid`);
  return ok({ kc, clusterId: clusterId.value, lines: [`Kubernetes API: ${server} (cluster ${clusterId.value}, from ${kubeconfigPath})`], close: () => Promise.resolve() });
}

function printReachability(io: CloudIo, dataDir: string, api: ApiSide, stream: StreamSide): void {
  for (const line of api.lines) io.out(line);
  io.out(`Stream: ${stream.streamUrl}`);
  io.out(`Join: ${stream.bootstrapUrl}`);
  if (stream.routerUrl !== undefined) io.out(`Router: ${stream.routerUrl}/<node>/<namespace>/<path> (POST, Authorization: Bearer <the API token>)`);
  io.out('try: kubectl get namespaces; kubectl api-resources; kubectl get devices');
  io.out(`join an edge: edgehive token create --data-dir ${dataDir}, then edgehive edge --cloud ${stream.streamUrl} --name <node> --token <token>`);
}

interface Ports {
  readonly api: number;
  /** Undefined: a free one (with its bootstrap neighbour free too). */
  readonly stream: number | undefined;
  /** Undefined: the stream port + 2. */
  readonly bootstrap: number | undefined;
}

function parsePorts(options: CloudOptions): Result<Ports, string> {
  const api = parsePort('--api-port', options.apiPort);
  if (!api.ok) return api;
  const stream = parsePort('--stream-port', options.streamPort);
  if (!stream.ok) return stream;
  const bootstrap = parsePort('--bootstrap-port', options.bootstrapPort);
  if (!bootstrap.ok) return bootstrap;
  if (stream.value !== undefined && stream.value === bootstrap.value) return err('--stream-port and --bootstrap-port must differ');
  return ok({ api: api.value ?? 0, stream: stream.value, bootstrap: bootstrap.value });
}

/** A port number; absent or 0 means "pick a free one". */
function parsePort(flag: string, text: string | undefined): Result<number | undefined, string> {
  if (text === undefined) return ok(undefined);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) return err(`${flag} must be a port number, got '${text}'`);
  return ok(port === 0 ? undefined : port);
}

interface StreamSide {
  readonly streamUrl: string;
  readonly bootstrapUrl: string;
  /** KubeEdge's router URL base, when --router-port was given. */
  readonly routerUrl?: string;
  /** Closes the hub's sessions (waiting for durable writes in flight), then both listeners. */
  close(): Promise<void>;
}

/** What the API server's pod streams need from the stream side, filled in once it runs. */
interface LateStreamSide {
  hub: CloudHub | undefined;
  podNode: (namespace: string, name: string) => string | undefined;
}

/** What runs beside the hub: the node lifecycle's grace, and whether the control loops run here. */
interface ControlOptions {
  readonly nodeGraceMs: number;
  readonly controllers: boolean;
  /** This process among the cloud processes of the cluster (Lease holder identity). */
  readonly identity: string;
  /** The per-node stream Leases' timing. */
  readonly streamLease: LeaseTiming;
  /** Where the node link actors journal. */
  readonly journal: CloudJournalTarget;
  /** Where KubeEdge's router URL listens (--router-port), and who may call it. */
  readonly router?: { readonly port: number; readonly authorized: (request: IncomingMessage) => boolean };
}

/**
 * The PKI, NodeSync, the cloud journal, the node stream Leases, the EdgeController, the hub, the
 * join-token authority and certificate signer, the two listeners, and the control loops' election.
 */
async function startStreamSide(dataDir: string, clusterId: string, kc: KubeConfig, ports: Ports, log: Logger, late: LateStreamSide, control: ControlOptions): Promise<Result<StreamSide, string>> {
  // The embedded API server made the PKI already (unless --insecure); this reuses it, or makes it.
  const pki = await ensureClusterPki(join(dataDir, CLOUD_PKI_DIR_NAME), { hosts: [CLOUD_HOST, 'localhost'] });
  if (!pki.ok) return err(pki.error.message);
  const signer = await loadNodeCertificateSigner({ caPem: pki.value.caPem, caKeyPath: pki.value.caKeyPath });
  if (!signer.ok) return err(signer.error.message);
  try {
    await mkdir(join(dataDir, 'cloud'), { recursive: true, mode: 0o700 });
  } catch (error) {
    return err(`cannot create ${join(dataDir, 'cloud')}: ${(error as Error).message}`);
  }
  // NodeSync lives in the API (DESIGN.md, Scaling), so any cloud process can take a node over.
  const crd = await ensureNodeSyncCrd(kc);
  if (!crd.ok) return crd;
  // Best effort: a cluster where this cloud may not create CRDs still syncs pods; devices and rules
  // are then followed as absent (and picked up once someone installs the CRDs).
  const deviceCrds = await ensureDeviceCrds(kc);
  if (!deviceCrds.ok) log.warn({ error: deviceCrds.error }, 'device CRDs not installed; devices are followed once they exist');
  const routerCrds = await ensureRouterCrds(kc);
  if (!routerCrds.ok) log.warn({ error: routerCrds.error }, 'rule CRDs not installed; rules are followed once they exist');
  const journal = await openCloudJournal(control.journal);
  if (!journal.ok) return journal;
  const links = new CloudLinkRecorder(journal.value, log);
  const at = (): string => new Date().toISOString();
  // Each node is served by one cloud process at a time: the one holding its stream Lease.
  const streamLeases = new NodeStreamLeases({ kubeConfig: kc, identity: control.identity, timing: control.streamLease, onError: (message) => log.warn({ lease: message }, 'node stream lease') });
  // A stale owner must never write NodeSync: a Lease counts as held only while its last renewal is
  // within the renew deadline on this process's monotonic clock (a paused process's flag lags).
  const owns = (node: string): boolean => {
    const holder = streamLeases.holderFor(node);
    const renewedAt = holder.renewedAtMs;
    return holder.holding && renewedAt !== undefined && performance.now() - renewedAt < holder.timing.renewDeadlineMs;
  };
  const nodeSync = new KubeNodeSyncStore(kc, { owns });
  const ownership = leaseOwnership(streamLeases, (node) => nodeSync.forget(node));
  // The EdgeController follows the API through client-node, as it would a real cluster; edges are
  // let in only once it has listed everything, or a partial desired set would tombstone objects.
  let hub: CloudHub | undefined;
  const controller = new EdgeController(kc, {
    desiredChanged: (node) => hub?.desiredChanged(node),
    // DESIGN.md: deleting a Node decommissions its edge (4410); creating it again lets it back in.
    nodeDeleted: (node) => {
      log.info({ node }, 'node deleted; its edge is decommissioned');
      void links.record(node, { type: 'RecordDecommissioned', at: at() });
      hub?.decommission(node);
    },
    nodeCreated: (node) => {
      void links.record(node, { type: 'RecordRecommissioned', at: at() });
      hub?.recommission(node);
    },
    reflector: { onError: (error) => log.warn({ error }, 'API watch failed; retrying') },
  });
  // KubeEdge's Router: Rules route edge apps' uploads to URLs and the router URL's calls to edges' brokers.
  const router = new CloudRouter(kc, {
    log,
    edges: {
      request: (node, request, timeoutMs) => (hub === undefined ? Promise.resolve(err({ kind: 'StreamStopped' as const, message: 'the cloud is still starting' })) : hub.request(node, request, timeoutMs)),
      isLinked: (node) => hub?.isLinked(node) ?? false,
    },
  });
  const synced = await Promise.race([Promise.all([controller.synced(), router.synced()]).then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), API_SYNC_TIMEOUT_MS).unref())]);
  if (!synced) {
    await router.stop();
    controller.stop();
    await journal.value.close();
    return err(`the Kubernetes API at ${kc.getCurrentCluster()?.server ?? '?'} could not be listed within ${API_SYNC_TIMEOUT_MS / 1000} s`);
  }
  const heartbeats = new NodeLeaseWriter(kc, () => Date.now());
  // KubeEdge's EdgeController and DeviceController, upstream halves: each up event to the writer of its kind.
  const statuses = new EdgeStatusWriter(kc, log, (node) => hub?.isDecommissioned(node) !== true);
  const deviceStatuses = new DeviceStatusWriter(kc, log);
  const effects: UpEffects = {
    perform: (node, journalId, seq, event) => (router.effects.handles(event.type) ? router.effects : deviceStatuses.handles(event.type) ? deviceStatuses : statuses).perform(node, journalId, seq, event),
  };
  hub = new CloudHub({ clusterId, nodeSync, ownership, desired: controller, effects,
    respond: (node, query) => (query.target.kind === 'object' && query.target.type === 'lease' ? heartbeats.renew(node, query.content) : Promise.resolve(err(`this cloud answers no ${query.route.resource} queries`))), authorization: controller.view, log });
  late.hub = hub;
  hub.on('linked', (node, mode) => void links.record(node, { type: 'RecordLinked', at: at(), mode, process: control.identity }));
  hub.on('unlinked', (node, end) => void links.record(node, { type: 'RecordUnlinked', at: at(), code: end.code, reason: end.reason, byCloud: end.local }));
  late.podNode = (namespace, name) => controller.view.podNode(namespace, name);
  const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dataDir)), caCertPem: pki.value.caPem });
  const handler = createNodeBootstrapHandler({ tokens, signer: signer.value, audit: (entry) => log.info({ bootstrap: entry }, `node bootstrap: ${entry.outcome}`) });
  const listening = await listenPair(ports, {
    stream: (port) =>
      startMtlsStreamServer({
        host: CLOUD_HOST,
        port,
        tls: { caPem: pki.value.caPem, certPem: pki.value.serverCertPem, keyPem: pki.value.serverKeyPem },
        onConnection: (nodeName, socket, info) => hub.attach(nodeName, socket, info),
        onRefused: (refusal, remoteAddress) => log.warn({ refusal, remoteAddress }, 'stream connection refused'),
      }),
    bootstrap: (port) => startBootstrap(pki.value, port, handler),
  });
  const abandon = async (): Promise<void> => {
    await router.stop();
    controller.stop();
    await hub!.close();
    await journal.value.close();
  };
  if (!listening.ok) {
    await abandon();
    return listening;
  }
  const { stream, bootstrap } = listening.value;
  const routerServer = control.router === undefined ? undefined : await listenRouter(control.router.port, router.restHandler(control.router.authorized));
  if (routerServer !== undefined && !routerServer.ok) {
    await abandon();
    await Promise.all([stream.close(), bootstrap.close()]);
    return routerServer;
  }
  const routerListener = routerServer?.value;
  const elector = control.controllers ? leadControlLoops(kc, log, control) : undefined;
  return ok({
    streamUrl: stream.url,
    bootstrapUrl: bootstrap.url,
    ...(routerListener === undefined ? {} : { routerUrl: routerListener.url }),
    close: async () => {
      await elector?.stop();
      if (routerListener !== undefined) await routerListener.close();
      await router.stop();
      controller.stop();
      await hub!.close();
      await ownership.releaseAll();
      await links.settled();
      await journal.value.close();
      await Promise.all([stream.close(), bootstrap.close()]);
    },
  });
}

/**
 * The control loops run in one cloud process at a time: the one leading by the Lease
 * kube-system/edgehive-controllers (kube-controller-manager's way); another process takes over when
 * the leader stops renewing, and a leader that loses the Lease stops its loops first.
 */
function leadControlLoops(kc: KubeConfig, log: Logger, control: ControlOptions): LeaderElector {
  let loops: { stop(): Promise<void> } | undefined;
  const elector = new LeaderElector({
    holder: new LeaseHolder({ store: kubeLeaseStore(kc, CONTROLLERS_LEASE), identity: control.identity, onError: (message) => log.warn({ lease: message }, 'controllers lease') }),
    onStartedLeading: () => {
      log.info({ identity: control.identity }, 'leading the control loops');
      loops = startControlLoops(kc, log, control.nodeGraceMs);
    },
    onStoppedLeading: async (end) => {
      await loops?.stop();
      loops = undefined;
      if (end.kind === 'lost') log.warn({ reason: end.reason, holder: end.holder }, 'stopped leading the control loops');
    },
    onError: (message) => log.warn({ error: message }, 'control loop leadership'),
  });
  elector.start();
  return elector;
}

/** How long a NodeSync CRD just created may take to be served. */
const CRD_ESTABLISH_TIMEOUT_MS = 10_000;

/**
 * Installs the NodeSync CRD unless the API serves it already (the embedded server bundles it; a
 * real cluster gets it from the first cloud process), and waits until it is served.
 */
async function ensureNodeSyncCrd(kc: KubeConfig): Promise<Result<void, string>> {
  return ensureBundledCrd(kc, { kind: 'NodeSync', group: 'edgehive.io', version: 'v1alpha1', plural: 'nodesyncs' });
}

/**
 * Installs KubeEdge's Device and DeviceModel CRDs (devices.kubeedge.io v1beta1) where the cluster
 * lacks them, as `keadm init` would, so Devices can be applied against a plain cluster too.
 */
async function ensureDeviceCrds(kc: KubeConfig): Promise<Result<void, string>> {
  const device = await ensureBundledCrd(kc, { kind: 'Device', group: 'devices.kubeedge.io', version: 'v1beta1', plural: 'devices' });
  if (!device.ok) return device;
  return ensureBundledCrd(kc, { kind: 'DeviceModel', group: 'devices.kubeedge.io', version: 'v1beta1', plural: 'devicemodels' });
}

/**
 * Installs KubeEdge's Rule and RuleEndpoint CRDs (rules.kubeedge.io v1) where the cluster lacks them,
 * so the Router's rules can be applied against a plain cluster too.
 */
async function ensureRouterCrds(kc: KubeConfig): Promise<Result<void, string>> {
  const endpoints = await ensureBundledCrd(kc, { kind: 'RuleEndpoint', group: 'rules.kubeedge.io', version: 'v1', plural: 'ruleendpoints' });
  if (!endpoints.ok) return endpoints;
  return ensureBundledCrd(kc, { kind: 'Rule', group: 'rules.kubeedge.io', version: 'v1', plural: 'rules' });
}

/** `--router-port`: absent means the router URL is not served; 0 means a free port. */
function parseRouterPort(text: string | undefined): Result<number | undefined, string> {
  if (text === undefined) return ok(undefined);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > PORT_MAX) return err(`--router-port must be a port number (0 for a free one), got '${text}'`);
  return ok(port);
}

/**
 * Who may call the router URL. It is served on a port of its own, as KubeEdge's router serves 9443,
 * rather than under the embedded API server like the node proxy: that way it works against a real
 * cluster (--kubeconfig) as well, and keeps KubeEdge's paths `/<node>/<namespace>/<path>`, which
 * would collide with the API's own under one server. It asks for the credentials the cloud itself
 * holds for the API (the bearer token of its kubeconfig: the embedded server's admin token), so
 * whoever may use the API may publish, and nobody else; with --insecure, as the API, it asks none.
 */
function routerAuthorization(kc: KubeConfig, insecure: boolean): Result<(request: IncomingMessage) => boolean, string> {
  if (insecure) return ok(() => true);
  const token = kc.getCurrentUser()?.token;
  if (token === undefined || token === '') return err('--router-port needs a bearer token in the kubeconfig (the router URL asks callers for it)');
  const expected = Buffer.from(`Bearer ${token}`);
  return ok((request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The router URL's listener on 127.0.0.1:`port` (0: a free one). */
async function listenRouter(port: number, handler: Parameters<typeof createServer>[1] & object): Promise<Result<{ readonly url: string; close(): Promise<void> }, string>> {
  const server: Server = createServer(handler);
  const listening = await new Promise<Result<void, string>>((resolve) => {
    server.once('error', (error) => resolve(err(`the router URL cannot listen on ${CLOUD_HOST}:${port}: ${error.message}; choose another --router-port`)));
    server.listen(port, CLOUD_HOST, () => resolve(ok(undefined)));
  });
  if (!listening.ok) return listening;
  const url = `http://${CLOUD_HOST}:${(server.address() as AddressInfo).port}`;
  return ok({
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

/** Installs a CRD this build bundles unless the API serves it already, and waits until it is served. */
async function ensureBundledCrd(kc: KubeConfig, crd: { readonly kind: string; readonly group: string; readonly version: string; readonly plural: string }): Promise<Result<void, string>> {
  const name = `${crd.plural}.${crd.group}`;
  const objects = kc.makeApiClient(CustomObjectsApi);
  const served = (): Promise<boolean> => objects.listClusterCustomObject({ group: crd.group, version: crd.version, plural: crd.plural, limit: 1 }).then(() => true, () => false);
  if (await served()) return ok(undefined);
  const manifest = loadBundledCrds().find((bundled) => (bundled['metadata'] as { name?: unknown } | undefined)?.name === name);
  if (manifest === undefined) return err(`the ${crd.kind} CRD manifest is missing from this build`);
  try {
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: manifest as never });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) return err(`cannot install the ${crd.kind} CRD (${name}): ${(error as Error).message}`);
  }
  const deadline = performance.now() + CRD_ESTABLISH_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (await served()) return ok(undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return err(`the ${crd.kind} CRD (${name}) was not served within ${CRD_ESTABLISH_TIMEOUT_MS / 1000} s`);
}

/**
 * This cloud process's identity as a Lease holder, kept in <dataDir>/cloud/identity: a process
 * restarted on its data dir is the same holder and takes its nodes and leadership back at once,
 * while another process (another data dir) waits the Leases out. Two processes must never share a
 * data dir.
 */
async function processIdentity(dataDir: string): Promise<Result<string, string>> {
  const path = join(dataDir, 'cloud', 'identity');
  try {
    const kept = (await readFile(path, 'utf8')).trim();
    if (/^[A-Za-z0-9._-]{1,200}$/.test(kept)) return ok(kept);
    return err(`${path} does not hold a cloud process identity; remove it to mint a new one`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return err(`cannot read ${path}: ${(error as Error).message}`);
  }
  const minted = `${hostname().replace(/[^A-Za-z0-9.-]/g, '-')}_${randomUUID()}`;
  try {
    await mkdir(join(dataDir, 'cloud'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${minted}\n`, { mode: PUBLIC_FILE_MODE });
  } catch (error) {
    return err(`cannot write ${path}: ${(error as Error).message}`);
  }
  return ok(minted);
}

/** A node stream Lease shorter than this would cost the API a renewal per node every second or more. */
const STREAM_LEASE_SECONDS_MIN = 6;

/**
 * `--stream-lease-seconds` (default 40, as a node's own heartbeat Lease): how long another process
 * waits before it takes over a node whose owner stopped renewing. The owner renews every 3/8 of it
 * (15 s of 40: one write per node per 15 s, the API's main load at a thousand edges after their
 * heartbeats) and gives the node up when 3/4 have passed without a renewal, so one failed renewal
 * is retried before the node is given up.
 */
function parseStreamLease(text: string | undefined): Result<LeaseTiming, string> {
  const seconds = text === undefined ? 40 : /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < STREAM_LEASE_SECONDS_MIN) return err(`--stream-lease-seconds must be whole seconds, at least ${STREAM_LEASE_SECONDS_MIN}, got '${text ?? ''}'`);
  const leaseDurationMs = seconds * 1000;
  return validateLeaseTiming({ leaseDurationMs, renewDeadlineMs: Math.floor((leaseDurationMs * 3) / 4), retryPeriodMs: Math.floor((leaseDurationMs * 3) / 8) });
}

/** Edges renew their Lease every 10 s: a shorter grace would call a healthy node Unknown. */
const NODE_GRACE_SECONDS_MIN = 15;

/** `--node-monitor-grace-period`: whole seconds, at least 15; 40 when not given. */
function parseGraceSeconds(text: string | undefined): Result<number, string> {
  if (text === undefined) return ok(40);
  const seconds = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < NODE_GRACE_SECONDS_MIN) return err(`--node-monitor-grace-period must be whole seconds, at least ${NODE_GRACE_SECONDS_MIN} (edges renew their Lease every 10 s), got '${text}'`);
  return ok(seconds);
}

function startBootstrap(pki: ClusterPki, port: number, handler: ReturnType<typeof createNodeBootstrapHandler>) {
  return startNodeBootstrapServer({ host: CLOUD_HOST, port, servingCertPem: pki.serverCertPem, servingKeyPem: pki.serverKeyPem, caPem: pki.caPem, handler });
}

type Listen<T> = (port: number) => Promise<Result<T, { readonly message: string }>>;

/**
 * Starts the stream server on P and the bootstrap server on P+2 (or the ports asked for). Without
 * --stream-port, P is a free port whose neighbour P+2 is free too: a few draws, each released
 * again when its neighbour is taken.
 */
async function listenPair(
  ports: Ports,
  start: { readonly stream: Listen<MtlsStreamServer>; readonly bootstrap: Listen<BootstrapServer> },
): Promise<Result<{ readonly stream: MtlsStreamServer; readonly bootstrap: BootstrapServer }, string>> {
  const attempts = ports.stream === undefined && ports.bootstrap === undefined ? PORT_PAIR_ATTEMPTS_MAX : 1;
  let lastError = '';
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const stream = await start.stream(ports.stream ?? 0);
    if (!stream.ok) return err(stream.error.message);
    const bootstrapPort = ports.bootstrap ?? stream.value.port + BOOTSTRAP_PORT_OFFSET;
    const bootstrap = bootstrapPort <= PORT_MAX ? await start.bootstrap(bootstrapPort) : err({ message: `port ${bootstrapPort} does not exist` });
    if (bootstrap.ok) return ok({ stream: stream.value, bootstrap: bootstrap.value });
    lastError = bootstrap.error.message;
    await stream.value.close();
  }
  const hint = attempts > 1 ? `no free port pair P, P+${BOOTSTRAP_PORT_OFFSET} after ${attempts} tries (last: ${lastError})` : lastError;
  return err(`the bootstrap server cannot listen: ${hint}; choose ports with --stream-port and --bootstrap-port`);
}

function fail(io: CloudIo, message: string): number {
  io.err(`edgehive cloud: ${message}`);
  return 1;
}
