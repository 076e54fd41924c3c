// The simulated cloud process: per node, the handshake, the up receiver and the down planner glued
// to the simulated NodeSync store, status store and connections. Each core's decisions run in
// order through a queue that waits on every durable write, as a real host must run them.
import {
  answerEdgeHello,
  nextNodeSyncRecord,
  downAckReceived,
  downAckTimeoutFired,
  downDesiredChanged,
  downLinkDown,
  downLinkUp,
  startDownPlanner,
  startUpReceiver,
  upAckDelayFired,
  upEffectPerformed,
  upFrameReceived,
  upPositionRecorded,
  upReceiverLinkDown,
  upReceiverLinkUp,
  type AckedChange,
  type AckedEntry,
  type DownPlannerDecision,
  type DownPlannerState,
  type NodeSyncRecord,
  type EdgeToCloudFrame,
  type TimerName,
  type Transition,
  type UpEvent,
  type UpReceiverDecision,
  type UpReceiverState,
} from '../transport/sync/index.js';
import { Incarnation, type TimerHandle } from './simulated-time.testing.js';
import type { StreamConnection, StreamWorld } from './stream-world.testing.js';

/** Per node: the NodeSync object (up record and acked map) and the status the edge owns. */
export interface CloudStoreState {
  readonly nodeSync: ReadonlyMap<string, { readonly record: NodeSyncRecord | undefined; readonly acked: ReadonlyMap<string, AckedEntry> }>;
  readonly status: ReadonlyMap<string, { readonly journalId: string; readonly through: number; readonly values: ReadonlyMap<string, number> }>;
}

export const emptyCloudStore = (): CloudStoreState => ({ nodeSync: new Map(), status: new Map() });

type Queued = { readonly connection: StreamConnection | null } & ({ readonly core: 'up'; readonly decision: UpReceiverDecision } | { readonly core: 'down'; readonly decision: DownPlannerDecision });

interface NodeQueue {
  readonly items: Queued[];
  busy: boolean;
}

export class CloudHost {
  readonly life = new Incarnation('cloud');
  readonly planners = new Map<string, DownPlannerState>();
  readonly receivers = new Map<string, UpReceiverState>();
  /** The linked connection per node. */
  readonly sessions = new Map<string, { readonly connection: StreamConnection }>();
  #queues = new Map<string, NodeQueue>();
  #timers = new Map<string, TimerHandle>();

  constructor(private readonly world: StreamWorld) {
    const store = this.#disk.durable;
    for (const node of world.nodes) {
      this.planners.set(node, startDownPlanner({ acked: store.nodeSync.get(node)?.acked ?? new Map(), desired: world.cluster.desiredSet(node) }));
    }
  }

  get #disk() {
    return this.world.cloudDisk;
  }

  /** The projections recomputed the node's desired set. */
  desiredChanged(node: string): void {
    this.#step(node, 'down', (s) => downDesiredChanged(s as DownPlannerState, this.world.cluster.desiredSet(node), this.world.plannerOptions));
  }

  crash(): void {
    this.life.kill();
  }

  frame(connection: StreamConnection, frame: EdgeToCloudFrame): void {
    if (!this.life.alive) return;
    const node = connection.node;
    // Not the node's linked connection: its first frame must be a hello; the old link stays until it succeeds.
    if (this.sessions.get(node)?.connection !== connection) return this.#handshake(node, connection, frame);
    switch (frame.kind) {
      case 'hello':
        return connection.close('a second hello', 'toEdge');
      case 'up':
        return this.#step(node, 'up', (s) => upFrameReceived(s as UpReceiverState, frame, this.world.config.ack));
      case 'ack':
        return this.#step(node, 'down', (s) => downAckReceived(s as DownPlannerState, frame.upTo, this.world.plannerOptions));
    }
  }

  closed(connection: StreamConnection): void {
    if (!this.life.alive || this.sessions.get(connection.node)?.connection !== connection) return;
    this.#linkDown(connection.node);
  }

  #linkDown(node: string): void {
    if (!this.sessions.delete(node)) return;
    if (this.receivers.has(node)) this.#step(node, 'up', (s) => upReceiverLinkDown(s as UpReceiverState));
    this.#step(node, 'down', (s) => downLinkDown(s as DownPlannerState));
  }

  #handshake(node: string, connection: StreamConnection, frame: EdgeToCloudFrame): void {
    const receiver = this.receivers.get(node);
    const durable = this.#disk.durable.nodeSync.get(node)?.record;
    // A live receiver of the recorded journal knows a newer (and durable) applied position.
    const record = durable !== undefined && receiver !== undefined && receiver.journalId === durable.journalId ? { ...durable, upApplied: receiver.recorded } : durable;
    const agreed = answerEdgeHello(frame, { nodeName: node, clusterId: this.world.cluster.clusterId, record });
    if (!agreed.ok) {
      // A stale hello (from a connection of a crashed edge, delivered late) is refused rightly; a
      // refusal that persists leaves the node unlinked, which the final check reports.
      this.world.refusals.push(agreed.error.reason);
      if (agreed.error.kind === 'JournalRetired') this.world.stats.staleHellosRefused += 1;
      return connection.close(agreed.error.reason, 'toEdge');
    }
    // The new link takes over from the old one, which is closed.
    const old = this.sessions.get(node);
    if (old !== undefined) old.connection.close('replaced by a new connection', 'toEdge');
    this.#linkDown(node);
    this.sessions.set(node, { connection });
    connection.sendToEdge(agreed.value.hello);
    const { up, mode } = agreed.value;
    if (receiver === undefined || receiver.journalId !== up.journalId) {
      this.receivers.set(node, startUpReceiver(up));
      this.world.receiverStarted(this.life, node, up);
    }
    this.#step(node, 'up', (s) => upReceiverLinkUp(s as UpReceiverState));
    this.#step(node, 'down', (s) => downLinkUp(s as DownPlannerState, mode, this.world.plannerOptions));
  }

  #step(node: string, core: 'up' | 'down', step: (state: UpReceiverState | DownPlannerState) => Transition<UpReceiverState | DownPlannerState, UpReceiverDecision | DownPlannerDecision>): void {
    const current = core === 'up' ? this.receivers.get(node) : this.planners.get(node);
    if (current === undefined) return;
    const { state, decisions } = step(current);
    if (core === 'up') this.receivers.set(node, state as UpReceiverState);
    else {
      this.planners.set(node, state as DownPlannerState);
      const link = (state as DownPlannerState).link;
      this.world.checkWindow(node, link?.inFlight.length ?? 0, link?.inFlightBytes ?? 0);
    }
    const connection = this.sessions.get(node)?.connection ?? null;
    const queue = this.#queue(node, core);
    for (const decision of decisions) queue.items.push({ connection, core, decision } as Queued);
    this.#pump(node, core);
  }

  #queue(node: string, core: 'up' | 'down'): NodeQueue {
    const key = `${node}/${core}`;
    let queue = this.#queues.get(key);
    if (queue === undefined) this.#queues.set(key, (queue = { items: [], busy: false }));
    return queue;
  }

  /** Runs queued decisions in order; a durable write holds the queue until it completes. */
  #pump(node: string, core: 'up' | 'down'): void {
    const queue = this.#queue(node, core);
    while (!queue.busy && queue.items.length > 0 && this.life.alive) {
      const item = queue.items.shift()!;
      const done = () => {
        queue.busy = false;
        this.#pump(node, core);
      };
      if (item.core === 'up') queue.busy = this.#executeUp(node, item.connection, item.decision, done);
      else queue.busy = this.#executeDown(node, item.connection, item.decision, done);
    }
  }

  /** Returns true when the decision holds the queue until `done`. */
  #executeUp(node: string, connection: StreamConnection | null, decision: UpReceiverDecision, done: () => void): boolean {
    switch (decision.type) {
      case 'performEffect': {
        const { journalId, seq, event } = decision;
        this.world.effectInvoked(this.life, node, journalId, seq);
        this.#performEffect(node, journalId, seq, event, () => {
          this.#step(node, 'up', (s) => upEffectPerformed(s as UpReceiverState, journalId, seq));
          done();
        });
        return true;
      }
      case 'recordPosition': {
        const { journalId, seq } = decision;
        this.#disk.write(
          this.life,
          (store) => withNodeSync(store, node, (sync) => ({ ...sync, record: nextNodeSyncRecord(sync.record, journalId, seq) ?? sync.record })),
          () => {
            this.#step(node, 'up', (s) => upPositionRecorded(s as UpReceiverState, journalId, seq, this.world.config.ack));
            done();
          },
        );
        return true;
      }
      case 'send': {
        if (connection === null || this.sessions.get(node)?.connection !== connection) return false;
        // Invariant 4 at the instant of the ack: NodeSync must already hold what it claims.
        const durable = this.#disk.durable.nodeSync.get(node)?.record;
        const receiver = this.receivers.get(node);
        if (durable === undefined || durable.journalId !== receiver?.journalId || durable.upApplied < decision.frame.upTo) {
          this.world.violation(`cloud acked ${node}'s up ${decision.frame.upTo} while NodeSync durably holds ${JSON.stringify(durable)}`);
        }
        connection.sendToEdge(decision.frame);
        return false;
      }
      case 'armTimer':
        this.#arm(node, decision.timer, decision.afterMs, () => this.#step(node, 'up', (s) => upAckDelayFired(s as UpReceiverState)));
        return false;
      case 'cancelTimer':
        this.#timers.get(`${node}/${decision.timer}`)?.cancel();
        return false;
      case 'resume':
        this.world.resumed(decision.reason);
        if (connection !== null) connection.close(decision.reason, 'toEdge');
        return false;
    }
  }

  /** The Kubernetes status writes, fenced by the edge position they reflect. */
  #performEffect(node: string, journalId: string, seq: number, event: UpEvent, done: () => void): void {
    const perform = this.world.parts.performEffect;
    if (perform !== undefined) return perform(this.life, node, journalId, seq, event, done);
    const status = this.#disk.visible.status.get(node);
    if (status !== undefined && status.journalId === journalId && status.through >= seq) return void this.world.time.schedule(0, this.life, done);
    const epoch = this.world.cluster.serial;
    this.#disk.write(
      this.life,
      (store) => {
        const old = store.status.get(node);
        // A state report replaces everything the edge owns; a single report changes one value.
        const values = new Map(event.type === 'StateReported.v1' ? [] : (old?.values ?? []));
        const data = event.data as { key?: string; value?: number; values?: Record<string, number> };
        if (event.type === 'ValueReported.v1') values.set(data.key!, data.value!);
        else for (const [key, value] of Object.entries(data.values ?? {})) values.set(key, value);
        const next = new Map(store.status);
        next.set(node, { journalId, through: seq, values });
        return { ...store, status: next };
      },
      done,
      () => this.world.effectApplied(epoch, node, journalId, seq),
    );
  }

  #executeDown(node: string, connection: StreamConnection | null, decision: DownPlannerDecision, done: () => void): boolean {
    switch (decision.type) {
      case 'recordIntent':
      case 'recordAcked': {
        const changes = decision.type === 'recordIntent' ? decision.entries : decision.changes;
        this.#disk.write(this.life, (store) => withNodeSync(store, node, (sync) => ({ ...sync, acked: applyAcked(sync.acked, changes) })), done);
        return true;
      }
      case 'forgetAckedRevisions':
        this.#disk.write(this.life, (store) => withNodeSync(store, node, (sync) => ({ ...sync, acked: new Map([...sync.acked].map(([uid, e]) => [uid, { key: e.key, resourceVersion: null, contentHash: null }])) })), done);
        return true;
      case 'send':
        if (connection !== null && this.sessions.get(node)?.connection === connection) connection.sendToEdge(decision.frame);
        return false;
      case 'skipOversized':
        this.world.violation(`object ${decision.key} skipped as oversized (${decision.bytes} bytes)`);
        return false;
      case 'armTimer':
        this.#arm(node, decision.timer, decision.afterMs, () => this.#step(node, 'down', (s) => downAckTimeoutFired(s as DownPlannerState)));
        return false;
      case 'cancelTimer':
        this.#timers.get(`${node}/${decision.timer}`)?.cancel();
        return false;
      case 'resume':
        this.world.resumed(decision.reason);
        if (connection !== null) connection.close(decision.reason, 'toEdge');
        return false;
    }
  }

  #arm(node: string, timer: TimerName, afterMs: number, fire: () => void): void {
    const key = `${node}/${timer}`;
    this.#timers.get(key)?.cancel();
    this.#timers.set(key, this.world.time.schedule(afterMs, this.life, fire));
  }
}

function withNodeSync(
  store: CloudStoreState,
  node: string,
  change: (sync: { readonly record: NodeSyncRecord | undefined; readonly acked: ReadonlyMap<string, AckedEntry> }) => { readonly record: NodeSyncRecord | undefined; readonly acked: ReadonlyMap<string, AckedEntry> },
): CloudStoreState {
  const nodeSync = new Map(store.nodeSync);
  nodeSync.set(node, change(store.nodeSync.get(node) ?? { record: undefined, acked: new Map() }));
  return { ...store, nodeSync };
}

function applyAcked(acked: ReadonlyMap<string, AckedEntry>, changes: readonly AckedChange[]): ReadonlyMap<string, AckedEntry> {
  const next = new Map(acked);
  for (const { uid, entry } of changes) {
    if (entry === null) next.delete(uid);
    else next.set(uid, entry);
  }
  return next;
}
