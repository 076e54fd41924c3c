// Stand-ins for the hubs' ports and a real cloud for specs: PKI in a temp folder, the bootstrap and
// mTLS stream servers on 127.0.0.1 with free ports and a CloudHub behind them. The ports here are
// in memory (a desired set the spec edits, effects that record what was applied); the SQLite
// adapters have their own specs and the crash specs use them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClusterPki, type ClusterPki } from '../../k8s/index.js';
import { ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { NewEvent } from '../../journal/index.js';
import { contentHash, desiredContentOf } from '../frames/codec.js';
import {
  createNodeBootstrapHandler,
  fileJoinTokenStore,
  joinCluster,
  joinTokenAuthority,
  joinTokensPath,
  loadNodeCertificateSigner,
  loadNodeCredentials,
  startMtlsStreamServer,
  startNodeBootstrapServer,
  connectMtlsStream,
  type BootstrapServer,
  type JoinTokenAuthority,
  type MtlsStreamServer,
  type NodeAuthorizationView,
  type NodeCredentials,
  type StreamRefusal,
} from '../security/index.js';
import {
  nextNodeSyncRecord,
  type AckedChange,
  type AckedEntry,
  type DesiredChange,
  type DesiredObject,
  type DesiredSet,
  type EdgeSyncJournal,
  type HeldObject,
  type NodeSyncRecord,
  type NodeSyncStore,
  type OutboxCommit,
  type OutboxEntry,
  type UpEffects,
  type UpEvent,
  type WrongOutboxHead,
} from '../sync/index.js';
import { CloudHub, type CloudHubOptions, type DesiredSetSource } from './cloud-hub.js';
import { EdgeHub, type EdgeHubOptions } from './edge-hub.js';
import { objectKeyOf } from './wire.js';

function expectOk<T, E>(result: Result<T, E>, what: string): T {
  if (!result.ok) throw new Error(`${what} failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

/** A desired set the spec edits; resourceVersions come from one counter, as the API server's do. */
export class StandInDesired implements DesiredSetSource {
  #objects = new Map<string, Map<string, DesiredObject>>();
  #rv = 1000;
  constructor(private readonly notify: (nodeName: string) => void = () => undefined) {}

  /** A ConfigMap `name` in `default`, with `data`; a new uid unless `uid` keeps the object. */
  putConfigMap(nodeName: string, name: string, data: Record<string, string>, uid = `uid-${name}`): DesiredObject {
    this.#rv += 1;
    const object: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid }, data };
    const content = desiredContentOf(object);
    const desired: DesiredObject = { uid, key: objectKeyOf('configmap', 'default', name), resourceVersion: String(this.#rv), contentHash: contentHash(content), content };
    this.#node(nodeName).set(uid, desired);
    return desired;
  }

  remove(nodeName: string, uid: string): void {
    this.#rv += 1;
    this.#node(nodeName).delete(uid);
  }

  changed(nodeName: string): void {
    this.notify(nodeName);
  }

  desiredSet(nodeName: string): DesiredSet {
    return { objects: new Map(this.#node(nodeName)), resourceVersion: String(this.#rv) };
  }

  #node(nodeName: string): Map<string, DesiredObject> {
    let objects = this.#objects.get(nodeName);
    if (objects === undefined) this.#objects.set(nodeName, (objects = new Map()));
    return objects;
  }
}

/** Effects that apply each up event once per (journalId, seq), as a fenced status write does, and record the order. */
export class RecordingEffects implements UpEffects {
  readonly applied = new Map<string, { journalId: string; seqs: number[]; events: UpEvent[] }>();
  readonly #through = new Map<string, { journalId: string; through: number }>();
  async perform(nodeName: string, journalId: string, seq: number, event: UpEvent): Promise<void> {
    const fence = this.#through.get(nodeName);
    if (fence !== undefined && fence.journalId === journalId && fence.through >= seq) return;
    this.#through.set(nodeName, { journalId, through: seq });
    let log = this.applied.get(nodeName);
    if (log === undefined || log.journalId !== journalId) this.applied.set(nodeName, (log = { journalId, seqs: [], events: [] }));
    log.seqs.push(seq);
    log.events.push(event);
  }
}

/** NodeSync in memory (a cloud restart in these specs keeps it, as the API would). */
export class MemoryNodeSync implements NodeSyncStore {
  readonly records = new Map<string, NodeSyncRecord>();
  readonly acked = new Map<string, Map<string, AckedEntry>>();
  async load(nodeName: string) {
    return { record: this.records.get(nodeName), acked: [...(this.acked.get(nodeName) ?? new Map<string, AckedEntry>())] };
  }
  async recordUpApplied(nodeName: string, journalId: string, upApplied: number): Promise<void> {
    const next = nextNodeSyncRecord(this.records.get(nodeName), journalId, upApplied);
    if (next !== undefined) this.records.set(nodeName, next);
  }
  async recordAcked(nodeName: string, changes: readonly AckedChange[]): Promise<void> {
    const acked = this.acked.get(nodeName) ?? new Map<string, AckedEntry>();
    for (const { uid, entry } of changes) {
      if (entry === null) acked.delete(uid);
      else acked.set(uid, entry);
    }
    this.acked.set(nodeName, acked);
  }
  async forgetAckedRevisions(nodeName: string): Promise<void> {
    const acked = this.acked.get(nodeName) ?? new Map<string, AckedEntry>();
    for (const [uid, entry] of acked) acked.set(uid, { key: entry.key, resourceVersion: null, contentHash: null });
  }
}

/** The edge journal's sync part in memory: what an edge that never restarts needs. */
export class MemoryEdgeJournal implements EdgeSyncJournal {
  outbox: OutboxEntry[] = [];
  floor = 0;
  clusterId: string | null = null;
  readonly objects = new Map<string, HeldObject & { content: unknown }>();
  readonly journaled: NewEvent[] = [];
  constructor(readonly journalId: string) {}
  get head(): number {
    return this.outbox[this.outbox.length - 1]?.seq ?? this.floor;
  }
  async loadSyncState() {
    const held = [...this.objects].map(([key, o]) => [key, { uid: o.uid, resourceVersion: o.resourceVersion, contentHash: o.contentHash }] as const);
    return { journalId: this.journalId, clusterId: this.clusterId, outboxHead: this.head, outboxFloor: this.floor, held };
  }
  async commitWithOutbox(events: readonly NewEvent[], commit: OutboxCommit): Promise<Result<void, WrongOutboxHead>> {
    if (commit.after !== this.head) return { ok: false, error: { kind: 'WrongOutboxHead', expected: commit.after, actual: this.head } };
    this.journaled.push(...events);
    this.outbox.push(...commit.entries);
    return ok(undefined);
  }
  async readOutbox(after: number, framesMax: number, bytesMax: number): Promise<readonly OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    // The outbox is gap-free from floor+1: entry `after+1` sits at a known index.
    for (let i = Math.max(0, after - this.floor); i < this.outbox.length; i++) {
      const entry = this.outbox[i]!;
      if (entries.length >= framesMax || (entries.length > 0 && bytes + entry.bytes > bytesMax)) break;
      entries.push(entry);
      bytes += entry.bytes;
    }
    return entries;
  }
  async compactOutbox(through: number): Promise<void> {
    this.outbox = this.outbox.filter((e) => e.seq > through);
    this.floor = Math.max(this.floor, through);
  }
  async commitDesired(changes: readonly DesiredChange[], clusterId: string | null): Promise<void> {
    for (const change of changes) {
      if (change.op === 'delete') this.objects.delete(change.key);
      else this.objects.set(change.key, { uid: change.uid, resourceVersion: change.resourceVersion, contentHash: change.contentHash, content: change.content });
    }
    if (clusterId !== null) this.clusterId = clusterId;
  }
}

/** Every node may do anything with anything: for specs about the link, not about authorization. */
export const allowEverything: NodeAuthorizationView = {
  podNode: () => undefined,
  deviceNode: () => undefined,
  configMapReferencedBy: () => true,
  secretReferencedBy: () => true,
};

export interface StreamCloud {
  readonly dir: string;
  readonly pki: ClusterPki;
  readonly tokens: JoinTokenAuthority;
  readonly bootstrap: BootstrapServer;
  readonly server: MtlsStreamServer;
  readonly hub: CloudHub;
  readonly refusals: StreamRefusal[];
  createToken(ttlMs?: number): Promise<string>;
  /** Joins `nodeName` with a fresh token into `dataDir` and loads its credentials. */
  join(nodeName: string, dataDir: string): Promise<NodeCredentials>;
  close(): Promise<void>;
}

/** Starts a cloud whose hub uses the given ports (in-memory stand-ins by default). */
export async function startStreamCloud(ports: Partial<CloudHubOptions> & { readonly connectionsMax?: number } = {}): Promise<StreamCloud> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-stream-'));
  const pki = expectOk(await ensureClusterPki(join(dir, 'pki'), { hosts: ['127.0.0.1', 'localhost'] }), 'PKI');
  const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dir)), caCertPem: pki.caPem });
  const signer = expectOk(await loadNodeCertificateSigner({ caPem: pki.caPem, caKeyPath: pki.caKeyPath }), 'signer');
  const handler = createNodeBootstrapHandler({ tokens, signer });
  const bootstrap = expectOk(
    await startNodeBootstrapServer({ host: '127.0.0.1', port: 0, servingCertPem: pki.serverCertPem, servingKeyPem: pki.serverKeyPem, caPem: pki.caPem, handler }),
    'bootstrap server',
  );
  const hub = new CloudHub({
    clusterId: 'cluster-1',
    nodeSync: new MemoryNodeSync(),
    desired: new StandInDesired(),
    effects: new RecordingEffects(),
    authorization: allowEverything,
    ...ports,
  });
  const refusals: StreamRefusal[] = [];
  const server = expectOk(
    await startMtlsStreamServer({
      host: '127.0.0.1',
      port: 0,
      tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      ...(ports.connectionsMax === undefined ? {} : { connectionsMax: ports.connectionsMax }),
      onConnection: (nodeName, socket, info) => hub.attach(nodeName, socket, info),
      onRefused: (refusal) => refusals.push(refusal),
    }),
    'stream server',
  );
  const createToken = async (ttlMs = 60 * 60 * 1000): Promise<string> => expectOk(await tokens.createJoinToken({ nowMs: Date.now(), ttlMs }), 'token').token;
  return {
    dir,
    pki,
    tokens,
    bootstrap,
    server,
    hub,
    refusals,
    createToken,
    join: async (nodeName, dataDir) => {
      expectOk(await joinCluster({ cloudUrl: bootstrap.url, token: await createToken(), nodeName, dataDir }), `join ${nodeName}`);
      return expectOk(await loadNodeCredentials(dataDir), 'credentials');
    },
    close: async () => {
      await hub.close();
      await Promise.all([bootstrap.close(), server.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An EdgeHub connecting to `cloudUrl` with `credentials`; fast liveness and back-off for specs. */
export function openTestEdge(cloudUrl: string, credentials: NodeCredentials, journal: EdgeSyncJournal, options: Partial<EdgeHubOptions> = {}): Promise<EdgeHub> {
  return EdgeHub.open({
    nodeName: credentials.nodeName,
    connect: () => connectMtlsStream({ cloudUrl, credentials }),
    connectByteStream: (session) => connectMtlsStream({ cloudUrl, credentials, byteStreamSession: session }),
    journal,
    backoff: { delayMsMin: 20, delayMsMax: 200 },
    ...options,
  });
}

/** Waits until `check` holds, polling every few ms; fails with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
