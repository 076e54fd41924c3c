// The simulated edge process: it glues the up sender and the down receiver to the simulated journal
// and connection, executing their decisions in order, the way a real edge host must. One instance
// is one life of the process; a crash kills it and a new one starts from the durable journal.
import {
  acceptCloudHello,
  compareResourceVersions,
  downAckDelayFired,
  downCommitted,
  downFrameReceived,
  downReceiverLinkDown,
  downReceiverLinkUp,
  edgeHello,
  outboxCommitFailed,
  outboxCommitted,
  outboxRead,
  planOutboxCompaction,
  prepareOutboxCommit,
  startDownReceiver,
  startUpSender,
  upAckReceived,
  upAckTimeoutFired,
  upLinkDown,
  upLinkUp,
  type CloudToEdgeFrame,
  type DesiredChange,
  type DownReceiverDecision,
  type DownReceiverState,
  type EdgeHello,
  type OutboxCommit,
  type OutboxEntry,
  type TimerName,
  type Transition,
  type UpEvent,
  type UpSenderDecision,
  type UpSenderState,
} from '../transport/sync/index.js';
import type { DomainEvent } from '../actors/index.js';
import type { WriteHandle } from './simulated-disk.testing.js';
import { Incarnation, type TimerHandle } from './simulated-time.testing.js';
import type { EdgeApplications, StreamConnection, StreamWorld } from './stream-world.testing.js';

/** What the edge journal holds, as the simulated disk stores it. */
export interface EdgeJournalState {
  readonly journalId: string;
  /** The cluster of the last completed full sync. */
  readonly clusterId: string | null;
  readonly head: number;
  readonly floor: number;
  /** Outbox entries floor+1 … head. */
  readonly outbox: readonly OutboxEntry[];
  readonly objects: ReadonlyMap<string, { readonly uid: string; readonly resourceVersion: string; readonly contentHash: string; readonly content: unknown }>;
  /** The edge-owned state its up events report (the fold of the whole outbox, compacted or not). */
  readonly reported: ReadonlyMap<string, number>;
  /** Actor streams (pods, twins) of the edge applications, in the same journal file. */
  readonly actors: ReadonlyMap<string, readonly DomainEvent[]>;
}

export const emptyEdgeJournal = (journalId: string): EdgeJournalState => ({ journalId, clusterId: null, head: 0, floor: 0, outbox: [], objects: new Map(), reported: new Map(), actors: new Map() });

const helloTimeoutMs = 1000;
const backoffMsMin = 50;
const backoffMsMax = 1600;

export class EdgeHost {
  readonly life: Incarnation;
  sender: UpSenderState;
  receiver: DownReceiverState;
  connection: StreamConnection | null = null;
  phase: 'down' | 'hello' | 'linked' = 'down';
  #hello: EdgeHello | null = null;
  #timers = new Map<TimerName | 'hello' | 'reconnect', TimerHandle>();
  #backoffMs = backoffMsMin;
  /** Per frame seq of the current link: the newest down commit its ack relies on (invariant 4). */
  #ackRelies = new Map<number, WriteHandle | null>();
  #lastDownWrite: WriteHandle | null = null;
  /** The edge applications of this life, when the world runs any. */
  readonly apps: EdgeApplications | undefined;

  constructor(
    private readonly world: StreamWorld,
    readonly node: string,
  ) {
    this.life = new Incarnation(`edge ${node}`);
    const journal = this.#disk.durable;
    this.sender = startUpSender({ head: journal.head, floor: journal.floor });
    this.receiver = startDownReceiver({
      clusterId: journal.clusterId,
      held: [...journal.objects].map(([key, o]) => [key, { uid: o.uid, resourceVersion: o.resourceVersion, contentHash: o.contentHash }] as const),
    });
    this.apps = world.parts.edgeApplications?.(this);
    this.apps?.start();
    this.#after(0, 'reconnect', () => this.#connect());
  }

  /** The journal this edge process reads and writes. */
  get disk() {
    return this.#disk;
  }

  get #disk() {
    return this.world.edgeDisk(this.node);
  }

  /** The edge's actors recorded something that goes up. */
  produce(key: string, value: number): void {
    this.#commitUp([{ type: 'ValueReported.v1', data: { key, value } }]);
  }

  /** Journals up events in the outbox, in one commit (production's EdgeHub.report). */
  report(events: readonly UpEvent[]): void {
    if (this.life.alive && events.length > 0) this.#commitUp(events);
  }

  /** Compacts the outbox through what the connected cloud acknowledged. */
  compact(): void {
    const planned = planOutboxCompaction(this.sender);
    if (planned === undefined) return;
    this.sender = planned.state;
    this.world.stats.compactions += 1;
    const through = planned.through;
    this.#disk.write(this.life, (j) => ({ ...j, floor: Math.max(j.floor, through), outbox: j.outbox.filter((e) => e.seq > through) }), () => {});
  }

  crash(): void {
    this.life.kill();
    this.connection?.close('edge crashed', 'toCloud');
  }

  #commitUp(events: readonly UpEvent[]): void {
    const prepared = prepareOutboxCommit(this.sender, events, this.world.senderOptions);
    if (!prepared.ok) return this.world.violation(`${this.node}: up event refused: ${prepared.error.kind}`);
    this.sender = prepared.value.state;
    const commit = prepared.value.commit;
    // The journal's condition on the outbox head: what keeps seqs gap-free whatever else commits.
    if (this.#disk.visible.head !== commit.after) {
      this.sender = outboxCommitFailed(this.sender);
      return this.world.violation(`${this.node}: outbox commit after ${commit.after} refused, journal head ${this.#disk.visible.head}`);
    }
    this.#disk.write(this.life, (j) => appendOutbox(j, commit), () => this.#up((s) => outboxCommitted(s, commit, this.world.senderOptions)));
  }

  #connect(): void {
    if (this.connection !== null) return;
    const connection = this.world.connect(this.node, {
      frame: (c, frame) => this.#received(c, frame),
      closed: (c) => this.#closed(c),
    });
    if (connection === null) return this.#reconnectLater();
    this.connection = connection;
    this.phase = 'hello';
    this.#hello = edgeHello({ nodeName: this.node, journalId: this.#disk.durable.journalId, clusterId: this.receiver.clusterId, upFloor: this.sender.floor, outboxHead: this.sender.head });
    connection.sendToCloud(this.#hello);
    // A hello lost either way would leave both ends waiting: give up and reconnect (dead-peer timeout).
    this.#after(helloTimeoutMs, 'hello', () => this.phase === 'hello' && connection.close('no hello from the cloud', 'toCloud'));
  }

  #received(connection: StreamConnection, frame: CloudToEdgeFrame): void {
    if (!this.life.alive || connection !== this.connection) return;
    if (this.phase === 'hello') return this.#handshake(connection, frame);
    switch (frame.kind) {
      case 'hello':
        return connection.close('a second hello', 'toCloud');
      case 'ack':
        return this.#up((s) => upAckReceived(s, frame.upTo, this.world.senderOptions));
      case 'desired':
      case 'tombstone':
      case 'synced':
        if (frame.kind === 'desired' && !this.world.cluster.everDesired.get(this.node)?.has(frame.uid)) {
          this.world.violation(`${this.node} received ${frame.uid} (${frame.key}), never in its desired set`);
        }
        return this.#down((s) => downFrameReceived(s, frame, this.world.config.ack), frame.seq, frame.kind);
    }
  }

  #handshake(connection: StreamConnection, frame: CloudToEdgeFrame): void {
    const agreed = acceptCloudHello(this.#hello!, frame);
    if (!agreed.ok) {
      // A reordered frame overtaking the hello is the network's fault; any other refusal is a bug.
      if (agreed.error.kind !== 'HelloExpected') this.world.violation(`${this.node}: cloud hello refused: ${agreed.error.reason}`);
      return connection.close(agreed.error.reason, 'toCloud');
    }
    this.phase = 'linked';
    if (agreed.value.mode === 'full') this.world.stats.fullResyncs += 1;
    else this.world.stats.resumedLinks += 1;
    this.#backoffMs = backoffMsMin;
    this.#cancel('hello');
    this.#ackRelies = new Map();
    this.#down((s) => downReceiverLinkUp(s, agreed.value.mode, agreed.value.clusterId));
    this.#up((s) => upLinkUp(s, agreed.value.upAcked, this.world.senderOptions));
    if (agreed.value.reportState && this.apps !== undefined) this.apps.reportAll();
    else if (agreed.value.reportState) this.#commitUp([{ type: 'StateReported.v1', data: { values: Object.fromEntries(this.#disk.visible.reported) } }]);
  }

  #closed(connection: StreamConnection): void {
    if (!this.life.alive || connection !== this.connection) return;
    this.connection = null;
    this.phase = 'down';
    this.#cancel('hello');
    this.#up((s) => upLinkDown(s));
    this.#down((s) => downReceiverLinkDown(s));
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    this.#after(this.#backoffMs, 'reconnect', () => this.#connect());
    this.#backoffMs = Math.min(backoffMsMax, this.#backoffMs * 2);
  }

  #up(step: (state: UpSenderState) => Transition<UpSenderState, UpSenderDecision>): void {
    const { state, decisions } = step(this.sender);
    this.sender = state;
    this.world.checkWindow(this.node, state.link?.window.length ?? 0, state.link?.windowBytes ?? 0);
    for (const decision of decisions) this.#executeUp(decision);
  }

  #executeUp(decision: UpSenderDecision): void {
    switch (decision.type) {
      case 'send':
        return this.connection?.sendToCloud(decision.frame);
      case 'readOutbox': {
        // Reads are asynchronous, as from SQLite: the answer may come back after the link changed.
        const { after, framesMax, bytesMax } = decision;
        return void this.world.time.schedule(0, this.life, () => {
          // Only committed entries: one still in its transaction is not there yet for a reader.
          const entries = readOutbox(this.#disk.visible, after, framesMax, bytesMax).filter((e) => e.seq <= this.sender.head);
          this.#up((s) => outboxRead(s, after, entries, this.world.senderOptions));
        });
      }
      case 'armTimer':
        return this.#after(decision.afterMs, decision.timer, () => this.#up((s) => upAckTimeoutFired(s)));
      case 'cancelTimer':
        return this.#cancel(decision.timer);
      case 'resume':
        this.world.resumed(decision.reason);
        return this.connection?.close(decision.reason, 'toCloud');
    }
  }

  #down(step: (state: DownReceiverState) => Transition<DownReceiverState, DownReceiverDecision>, frameSeq?: number, kind?: string): void {
    const before = this.receiver.link?.accepted;
    const { state, decisions } = step(this.receiver);
    this.receiver = state;
    const accepted = frameSeq !== undefined && state.link !== null && state.link.accepted === frameSeq && before !== frameSeq;
    // A frame's ack relies on its own commit, or on the newest commit before it when it needed none.
    const commits = decisions.some((d) => d.type === 'commit');
    if (accepted && !commits) this.#ackRelies.set(frameSeq, this.#lastDownWrite);
    if (accepted && !commits && kind === 'desired') this.world.stats.duplicateRevisionsIgnored += 1;
    for (const d of decisions) if (d.type === 'commit' && d.clusterId !== null) this.world.stats.objectsRemovedAtSynced += d.changes.length;
    for (const decision of decisions) this.#executeDown(decision);
    if (accepted && commits) this.#ackRelies.set(frameSeq, this.#lastDownWrite);
  }

  #executeDown(decision: DownReceiverDecision): void {
    switch (decision.type) {
      case 'commit': {
        const { commitId, changes, clusterId } = decision;
        const epoch = `${this.#disk.visible.journalId}/${this.receiver.link?.clusterId ?? '?'}`;
        this.#lastDownWrite = this.#disk.write(
          this.life,
          (j) => applyDesired(j, changes, clusterId),
          () => {
            this.#down((s) => downCommitted(s, commitId, this.world.config.ack));
            this.apps?.desiredChanged();
          },
          () => this.world.downApplied(this.node, epoch, changes),
        );
        return;
      }
      case 'send': {
        // Invariant 4 at the instant of the ack: a crash right now must lose nothing it covers.
        const relied = this.#ackRelies.get(decision.frame.upTo);
        if (relied === undefined) this.world.violation(`${this.node} acked down ${decision.frame.upTo}, never accepted on this link`);
        else if (relied !== null && !relied.durable) this.world.violation(`${this.node} acked down ${decision.frame.upTo} before its commit was durable`);
        return this.connection?.sendToCloud(decision.frame);
      }
      case 'armTimer':
        return this.#after(decision.afterMs, decision.timer, () => this.#down((s) => downAckDelayFired(s)));
      case 'cancelTimer':
        return this.#cancel(decision.timer);
      case 'resume':
        this.world.resumed(decision.reason);
        return this.connection?.close(decision.reason, 'toCloud');
    }
  }

  #after(ms: number, name: TimerName | 'hello' | 'reconnect', run: () => void): void {
    this.#cancel(name);
    this.#timers.set(
      name,
      this.world.time.schedule(ms, this.life, () => {
        this.#timers.delete(name);
        run();
      }),
    );
  }

  #cancel(name: TimerName | 'hello' | 'reconnect'): void {
    this.#timers.get(name)?.cancel();
    this.#timers.delete(name);
  }
}

/** The outbox entries and the state they report, in one commit. */
function appendOutbox(journal: EdgeJournalState, commit: OutboxCommit): EdgeJournalState {
  const reported = new Map(journal.reported);
  for (const { event } of commit.entries) {
    const data = event.data as { key?: string; value?: number; values?: Record<string, number> };
    if (event.type === 'ValueReported.v1') reported.set(data.key!, data.value!);
    else for (const [key, value] of Object.entries(data.values ?? {})) reported.set(key, value);
  }
  return { ...journal, head: commit.after + commit.entries.length, outbox: [...journal.outbox, ...commit.entries], reported };
}

function readOutbox(journal: EdgeJournalState, after: number, framesMax: number, bytesMax: number): OutboxEntry[] {
  const entries: OutboxEntry[] = [];
  let bytes = 0;
  for (const entry of journal.outbox) {
    if (entry.seq <= after) continue;
    if (entries.length >= framesMax || (entries.length > 0 && bytes + entry.bytes > bytesMax)) break;
    entries.push(entry);
    bytes += entry.bytes;
  }
  return entries;
}

function applyDesired(journal: EdgeJournalState, changes: readonly DesiredChange[], clusterId: string | null): EdgeJournalState {
  const objects = new Map(journal.objects);
  for (const change of changes) {
    if (change.op === 'delete') objects.delete(change.key);
    else objects.set(change.key, { uid: change.uid, resourceVersion: change.resourceVersion, contentHash: change.contentHash, content: change.content });
  }
  return { ...journal, objects, clusterId: clusterId ?? journal.clusterId };
}

/** Numeric resourceVersion order for the applied-revision check. */
export const newerRevision = (a: string, b: string): boolean => compareResourceVersions(a, b) > 0;
