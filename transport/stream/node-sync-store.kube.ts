// The Kubernetes adapter of the NodeSyncStore port: each node's sync record and `acked` map live in
// one NodeSync object (edgehive.io/v1alpha1, cluster-scoped, named after the node) in the API the
// cloud works against — DESIGN.md "Scaling past one machine" — so that any cloud process owning the
// node can take it over from where another left it. Writes of one node are serialised and coalesced:
// at most one write per node is in flight, changes arriving meanwhile go into the next one, and each
// caller resolves when a write holding its change has been accepted by the API (durable there).
// Every write carries the resourceVersion it was computed from; a conflict re-reads and re-applies
// the changes (each is idempotent) while this process still owns the node.
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { invariant, isJsonObject } from '../../kernel/index.js';
import { nextNodeSyncRecord, objectsPerNodeMax, retiredJournalsMax, type AckedChange, type AckedEntry, type NodeSyncRecord, type NodeSyncStore, type Uid } from '../sync/index.js';

const GROUP = 'edgehive.io';
const VERSION = 'v1alpha1';
const PLURAL = 'nodesyncs';
/** Attempts of one coalesced write that meet a concurrent change before it lands. */
const WRITE_ATTEMPTS_MAX = 5;

/** A node's sync state as this adapter holds it between writes. */
interface NodeState {
  record: NodeSyncRecord | undefined;
  acked: Map<Uid, AckedEntry>;
  /** The object's resourceVersion, or undefined when it does not exist yet. */
  resourceVersion: string | undefined;
}

type Mutation = (state: NodeState) => void;

interface NodeQueue {
  state: NodeState | undefined;
  pending: { mutation: Mutation; resolve: () => void; reject: (error: Error) => void }[];
  writing: boolean;
}

export interface KubeNodeSyncStoreOptions {
  /** Whether this process still owns the node (holds its Lease); a conflict is retried only while it does. */
  readonly owns?: (nodeName: string) => boolean;
}

const codeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);

/** The stored `acked` entry: [key, resourceVersion or '', contentHash or '']. */
function decodeAcked(nodeName: string, uid: string, value: unknown): AckedEntry {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((part) => typeof part === 'string')) {
    throw new Error(`NodeSync ${nodeName} is malformed: acked entry ${uid} is ${JSON.stringify(value)}, not [key, resourceVersion, contentHash]`);
  }
  const [key, resourceVersion, contentHash] = value as [string, string, string];
  return { key, resourceVersion: resourceVersion === '' ? null : resourceVersion, contentHash: contentHash === '' ? null : contentHash };
}

/** A NodeSync object as read from the API, checked (parse at the boundary). */
export function decodeNodeSync(nodeName: string, object: unknown): NodeState {
  const metadata = isJsonObject(object) && isJsonObject(object['metadata']) ? object['metadata'] : {};
  const spec = isJsonObject(object) && isJsonObject(object['spec']) ? object['spec'] : {};
  const resourceVersion = typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : undefined;
  const acked = new Map<Uid, AckedEntry>();
  const storedAcked = spec['acked'];
  if (storedAcked !== undefined && !isJsonObject(storedAcked)) throw new Error(`NodeSync ${nodeName} is malformed: acked is not a map`);
  for (const [uid, value] of Object.entries(storedAcked ?? {})) acked.set(uid, decodeAcked(nodeName, uid, value));
  invariant(acked.size <= objectsPerNodeMax, 'acked records bounded per node');
  const journalId = spec['journalId'];
  if (journalId === undefined || journalId === '') return { record: undefined, acked, resourceVersion };
  const upApplied = spec['upApplied'];
  const retired = spec['retiredJournalIds'] ?? [];
  if (typeof journalId !== 'string' || typeof upApplied !== 'number' || !Number.isInteger(upApplied) || upApplied < 0 || !Array.isArray(retired) || !retired.every((id) => typeof id === 'string')) {
    throw new Error(`NodeSync ${nodeName} is malformed: journalId, upApplied or retiredJournalIds has the wrong type`);
  }
  return { record: { journalId, upApplied, retiredJournalIds: retired as string[] }, acked, resourceVersion };
}

/** The NodeSync object for a state (its resourceVersion as the write's precondition). */
export function encodeNodeSync(nodeName: string, state: NodeState): Record<string, unknown> {
  const acked: Record<string, [string, string, string]> = {};
  for (const [uid, entry] of state.acked) acked[uid] = [entry.key, entry.resourceVersion ?? '', entry.contentHash ?? ''];
  const record = state.record;
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'NodeSync',
    metadata: { name: nodeName, ...(state.resourceVersion !== undefined ? { resourceVersion: state.resourceVersion } : {}) },
    spec: { journalId: record?.journalId ?? '', upApplied: record?.upApplied ?? 0, retiredJournalIds: [...(record?.retiredJournalIds ?? [])], acked },
  };
}

/**
 * ```ts
 * const nodeSync = new KubeNodeSyncStore(kc, { owns: (node) => ownership.owns(node) });
 * const hub = new CloudHub({ nodeSync, ... });
 * ```
 */
export class KubeNodeSyncStore implements NodeSyncStore {
  readonly #api: CustomObjectsApi;
  readonly #options: KubeNodeSyncStoreOptions;
  readonly #queues = new Map<string, NodeQueue>();

  constructor(kc: KubeConfig, options: KubeNodeSyncStoreOptions = {}) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#options = options;
  }

  async load(nodeName: string): Promise<{ readonly record: NodeSyncRecord | undefined; readonly acked: Iterable<readonly [Uid, AckedEntry]> }> {
    const state = await this.#read(nodeName);
    const queue = this.#queue(nodeName);
    // A load replaces what this process knew: another process may have written since.
    if (!queue.writing) queue.state = state;
    return { record: state.record, acked: [...state.acked] };
  }

  recordUpApplied(nodeName: string, journalId: string, upApplied: number): Promise<void> {
    invariant(Number.isInteger(upApplied) && upApplied >= 0, 'an applied up position is a natural number');
    invariant(journalId.length > 0, 'a journal id is never empty');
    return this.#enqueue(nodeName, (state) => {
      const next = nextNodeSyncRecord(state.record, journalId, upApplied);
      // A retired journal is a stale writer: it changes nothing.
      if (next === undefined) return;
      invariant(next.retiredJournalIds.length <= retiredJournalsMax, 'retired journals bounded');
      state.record = next;
    });
  }

  recordAcked(nodeName: string, changes: readonly AckedChange[]): Promise<void> {
    invariant(changes.length <= objectsPerNodeMax, 'an acked change set is bounded by the objects a node may hold');
    return this.#enqueue(nodeName, (state) => {
      for (const { uid, entry } of changes) {
        if (entry === null) state.acked.delete(uid);
        else state.acked.set(uid, entry);
      }
    });
  }

  forgetAckedRevisions(nodeName: string): Promise<void> {
    return this.#enqueue(nodeName, (state) => {
      for (const [uid, entry] of state.acked) state.acked.set(uid, { key: entry.key, resourceVersion: null, contentHash: null });
    });
  }

  /** Forgets what this process cached of a node it gave up; its next load reads the API anew. */
  forget(nodeName: string): void {
    const queue = this.#queues.get(nodeName);
    if (queue !== undefined && !queue.writing && queue.pending.length === 0) this.#queues.delete(nodeName);
  }

  #queue(nodeName: string): NodeQueue {
    let queue = this.#queues.get(nodeName);
    if (queue === undefined) {
      queue = { state: undefined, pending: [], writing: false };
      this.#queues.set(nodeName, queue);
    }
    return queue;
  }

  #enqueue(nodeName: string, mutation: Mutation): Promise<void> {
    const queue = this.#queue(nodeName);
    const done = new Promise<void>((resolve, reject) => queue.pending.push({ mutation, resolve, reject }));
    if (!queue.writing) void this.#flush(nodeName, queue);
    return done;
  }

  /** Writes everything pending of one node in one object write, then again while more arrived. */
  async #flush(nodeName: string, queue: NodeQueue): Promise<void> {
    queue.writing = true;
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0);
      try {
        queue.state = await this.#write(nodeName, queue.state, batch.map((p) => p.mutation));
        for (const p of batch) p.resolve();
      } catch (error) {
        // The cached state may be behind the API now: the next write starts from a fresh read.
        queue.state = undefined;
        for (const p of batch) p.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    queue.writing = false;
  }

  async #write(nodeName: string, cached: NodeState | undefined, mutations: readonly Mutation[]): Promise<NodeState> {
    let base = cached ?? (await this.#read(nodeName));
    for (let attempt = 1; ; attempt++) {
      const next: NodeState = { record: base.record, acked: new Map(base.acked), resourceVersion: base.resourceVersion };
      for (const mutation of mutations) mutation(next);
      try {
        const body = encodeNodeSync(nodeName, next);
        const written: unknown =
          next.resourceVersion === undefined
            ? await this.#api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body })
            : await this.#api.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: nodeName, body });
        const metadata = isJsonObject(written) && isJsonObject(written['metadata']) ? written['metadata'] : {};
        return { ...next, resourceVersion: typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : undefined };
      } catch (error) {
        const conflict = codeOf(error) === 409;
        const stillOwned = this.#options.owns?.(nodeName) ?? true;
        if (!conflict || !stillOwned || attempt >= WRITE_ATTEMPTS_MAX) throw this.#explained(nodeName, error, conflict && !stillOwned);
        base = await this.#read(nodeName);
      }
    }
  }

  async #read(nodeName: string): Promise<NodeState> {
    try {
      const object: unknown = await this.#api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: nodeName });
      return decodeNodeSync(nodeName, object);
    } catch (error) {
      if (codeOf(error) === 404) return { record: undefined, acked: new Map(), resourceVersion: undefined };
      throw error instanceof Error ? error : new Error(String(error));
    }
  }

  #explained(nodeName: string, error: unknown, lostOwnership: boolean): Error {
    if (lostOwnership) return new Error(`NodeSync ${nodeName} changed under another cloud process; this one no longer owns the node`);
    return error instanceof Error ? error : new Error(String(error));
  }
}
