// The simulated world of the stream properties: one cloud, N edges, their disks, the network and
// the cluster, driven step by step by a fault schedule that fast-check generates, then healed and
// checked against PROTOCOL.md's invariants. Everything is deterministic given the schedule.
import fc from 'fast-check';
import { assertLimits, type AckPolicy, type CloudToEdgeFrame, type DesiredChange, type DesiredSet, type EdgeToCloudFrame, type FlowLimits, type UpEvent } from '../transport/sync/index.js';
import { SimulatedDisk, type Synchronous } from './simulated-disk.testing.js';
import { SimulatedNetwork, type Direction, type PlannedFault, type SimulatedConnection } from './simulated-network.testing.js';
import { SimulatedTime, type Incarnation } from './simulated-time.testing.js';
import { emptyCloudStore, CloudHost, type CloudStoreState } from './stream-cloud-host.testing.js';
import { SimulatedCluster, type DesireOp } from './stream-cluster.testing.js';
import { emptyEdgeJournal, EdgeHost, newerRevision, type EdgeJournalState } from './stream-edge-host.testing.js';

export type StreamConnection = SimulatedConnection<EdgeToCloudFrame, CloudToEdgeFrame>;

/** What the world's hosts ask of the cluster: SimulatedCluster here, the simulated API and ClusterView in the system world. */
export interface WorldCluster {
  /** Incremented by every reset. */
  readonly serial: number;
  readonly clusterId: string;
  desiredSet(node: string): DesiredSet;
  /** Invariant 5's oracle: every uid that was ever in the node's desired scope. */
  readonly everDesired: ReadonlyMap<string, ReadonlySet<string>>;
  /** The API server's data is replaced (a `resetCluster` step). */
  reset(sameUids: boolean, lostMask: number): void;
  /** A `desire` step; only the abstract cluster has one. */
  desire?(node: string, name: number, op: DesireOp): void;
}

/** What a simulated edge process runs besides the stream: its applications, told when the held objects change. */
export interface EdgeApplications {
  start(): void;
  /** A down commit became durable and the edge was told. */
  desiredChanged(): void;
  /** A full resync completed: report everything again. */
  reportAll(): void;
}

/**
 * The parts a world is built from besides the stream itself. The stream properties use the
 * defaults (an abstract cluster, values as status); the system world supplies the simulated API,
 * the cloud's Kubernetes writes and the edge applications.
 */
export interface WorldParts {
  readonly cluster: WorldCluster;
  /** The Kubernetes writes of one up event, performed by the cloud process `life`; `done` once written. */
  readonly performEffect?: (life: Incarnation, node: string, journalId: string, seq: number, event: UpEvent, done: () => void) => void;
  /** The applications of one edge process life. */
  readonly edgeApplications?: (edge: EdgeHost) => EdgeApplications;
  /** A cloud process (re)started. */
  readonly cloudStarted?: (cloud: CloudHost) => void;
  /**
   * What each frame becomes on its way (the production codec: encoded to text and decoded again),
   * or why it could not be carried. Without it frames travel as objects.
   */
  readonly wire?: {
    readonly toCloud: (node: string, frame: EdgeToCloudFrame) => EdgeToCloudFrame | { readonly refused: string };
    readonly toEdge: (node: string, frame: CloudToEdgeFrame) => CloudToEdgeFrame | { readonly refused: string };
  };
}

export interface WorldConfig {
  readonly nodes: readonly string[];
  readonly flow: FlowLimits;
  readonly ack: AckPolicy;
  readonly latencyMs: number;
  readonly fsyncMs: number;
  readonly synchronous: Synchronous;
  readonly restartMs: number;
}

/** One step of a fault schedule. Node numbers are taken modulo the number of nodes. */
export type WorldStep =
  | { readonly t: 'run'; readonly ms: number }
  /** Runs exactly `events` scheduled events: a crash next lands at any instant, between any two of them. */
  | { readonly t: 'runEvents'; readonly events: number }
  | { readonly t: 'produce'; readonly node: number; readonly key: number; readonly value: number; readonly count: number }
  | { readonly t: 'desire'; readonly node: number; readonly name: number; readonly op: DesireOp }
  | { readonly t: 'drop' | 'duplicate' | 'reorder'; readonly node: number; readonly direction: Direction; readonly index: number }
  | { readonly t: 'delay'; readonly node: number; readonly direction: Direction; readonly ms: number }
  /** The `nth` frame the node's current connection sends from now on in `direction` suffers `fault`. */
  | { readonly t: 'fault'; readonly node: number; readonly direction: Direction; readonly nth: number; readonly fault: PlannedFault }
  | { readonly t: 'disconnect' | 'crashEdge' | 'compact' | 'resetJournal'; readonly node: number }
  | { readonly t: 'crashCloud' }
  | { readonly t: 'resetCluster'; readonly sameUids: boolean; readonly lostMask: number };

export class StreamWorld {
  readonly time = new SimulatedTime();
  readonly network: SimulatedNetwork<EdgeToCloudFrame, CloudToEdgeFrame>;
  readonly cluster: WorldCluster;
  readonly parts: WorldParts;
  readonly cloudDisk: SimulatedDisk<CloudStoreState>;
  readonly senderOptions: { readonly limits: FlowLimits };
  readonly plannerOptions: { readonly limits: FlowLimits };
  cloud: CloudHost | null;
  readonly edges = new Map<string, EdgeHost | null>();
  readonly violations: string[] = [];
  /** Nodes cut off from the cloud until a simulated time: their connections are refused. */
  readonly partitionedUntil = new Map<string, number>();
  /** Nodes whose frames, either way, are lost without a trace until a simulated time (no close: only timeouts notice). */
  readonly silentUntil = new Map<string, number>();
  /** Handshakes refused (stale hellos are refused rightly); kept for diagnostics. */
  readonly refusals: string[] = [];
  /** How often the interesting paths ran: the coverage spec shows the schedules reach them all. */
  readonly stats = {
    fullResyncs: 0,
    resumedLinks: 0,
    gapResumes: 0,
    ackTimeoutResumes: 0,
    compactions: 0,
    writesLostInCrashes: 0,
    windowsFull: 0,
    duplicateRevisionsIgnored: 0,
    objectsRemovedAtSynced: 0,
    staleHellosRefused: 0,
    /** Connections refused while the node was partitioned from the cloud. */
    connectionsCutOff: 0,
    /** Frames lost in silent partitions. */
    framesLostSilently: 0,
  };
  #edgeDisks = new Map<string, SimulatedDisk<EdgeJournalState>>();
  #open = new Set<StreamConnection>();
  #journals = 0;
  #lives = new Map<Incarnation, number>();
  /** Up effects handed to the effect port, per cloud life, node and journal, and where that receiver started. */
  #invoked = new Map<string, { start: number; seqs: number[] }>();
  /** Up effects that changed status (passed the position fence), per cluster epoch, node and journal. */
  #effective = new Map<string, number[]>();
  #baselines = new Map<string, Set<number>>();
  /** Revisions the edge journal durably applied, per node, (journal, cluster) epoch and uid. */
  #revisions = new Map<string, { readonly rv: string; readonly removed: boolean }>();

  constructor(
    readonly config: WorldConfig,
    parts: (world: StreamWorld) => WorldParts = () => ({ cluster: new SimulatedCluster(config.nodes) }),
  ) {
    assertLimits(config.flow, config.ack);
    this.network = new SimulatedNetwork(this.time, config.latencyMs);
    this.parts = parts(this);
    this.cluster = this.parts.cluster;
    this.senderOptions = { limits: config.flow };
    this.plannerOptions = { limits: config.flow };
    const disk = { fsyncMs: config.fsyncMs, synchronous: config.synchronous };
    this.cloudDisk = new SimulatedDisk(this.time, emptyCloudStore(), disk);
    for (const node of config.nodes) this.#edgeDisks.set(node, new SimulatedDisk(this.time, emptyEdgeJournal(this.#mintJournalId(node)), disk));
    this.cloud = this.#startCloud();
    for (const node of config.nodes) this.edges.set(node, new EdgeHost(this, node));
  }

  /** True when the cloud writes abstract values as status (the stream properties), not Kubernetes objects. */
  get abstractStatus(): boolean {
    return this.parts.performEffect === undefined;
  }

  get nodes(): readonly string[] {
    return this.config.nodes;
  }

  edgeDisk(node: string): SimulatedDisk<EdgeJournalState> {
    return this.#edgeDisks.get(node)!;
  }

  /** Opens a connection for the edge of `node`, or null while the cloud is down (refused). */
  connect(node: string, edge: { frame: (c: StreamConnection, f: CloudToEdgeFrame) => void; closed: (c: StreamConnection) => void }): StreamConnection | null {
    if (this.cloud === null) return null;
    if (this.time.now < (this.partitionedUntil.get(node) ?? 0)) {
      this.stats.connectionsCutOff += 1;
      return null;
    }
    const wire = this.parts.wire;
    const carried = <F>(frame: F | { readonly refused: string }, deliver: (f: F) => void): void => {
      if (this.time.now < (this.silentUntil.get(node) ?? 0)) {
        this.stats.framesLostSilently += 1;
        return;
      }
      if (typeof frame === 'object' && frame !== null && 'refused' in frame) return this.violation(`${node}: frame not carried: ${frame.refused}`);
      deliver(frame as F);
    };
    const connection: StreamConnection = this.network.connect(node, {
      cloud: {
        frame: (f) => carried(wire === undefined ? f : wire.toCloud(node, f), (frame) => this.cloud?.frame(connection, frame)),
        closed: () => this.cloud?.closed(connection),
      },
      edge: {
        frame: (f) => carried(wire === undefined ? f : wire.toEdge(node, f), (frame) => edge.frame(connection, frame)),
        closed: () => {
          this.#open.delete(connection);
          edge.closed(connection);
        },
      },
    });
    this.#open.add(connection);
    return connection;
  }

  apply(step: WorldStep): void {
    const node = 'node' in step ? this.nodes[step.node % this.nodes.length]! : '';
    const connection = node === '' ? null : this.edges.get(node)?.connection ?? null;
    switch (step.t) {
      case 'run':
        return this.time.advance(step.ms);
      case 'runEvents':
        return void this.time.runUntilIdle(step.events);
      case 'produce':
        // A burst of separate commits, as actors journal one transition at a time.
        for (let i = 0; i < step.count; i++) this.edges.get(node)?.produce(`k${(step.key + i) % 4}`, step.value + i);
        return;
      case 'desire':
        this.cluster.desire?.(node, step.name, step.op);
        return this.cloud?.desiredChanged(node);
      case 'drop':
      case 'duplicate':
      case 'reorder':
        return connection?.[step.t](step.direction, step.index);
      case 'delay':
        return connection?.delay(step.direction, step.ms);
      case 'fault':
        return connection?.plan(step.direction, step.nth, step.fault);
      case 'disconnect':
        return connection?.close('network cut');
      case 'compact':
        return this.edges.get(node)?.compact();
      case 'crashEdge':
        return this.#crashEdge(node);
      case 'resetJournal':
        this.#crashEdge(node);
        return this.edgeDisk(node).replace(emptyEdgeJournal(this.#mintJournalId(node)));
      case 'crashCloud':
        return this.#crashCloud();
      case 'resetCluster':
        this.#crashCloud();
        this.cloudDisk.replace(emptyCloudStore());
        return this.cluster.reset(step.sameUids, step.lostMask);
    }
  }

  /** Counts why a connection was resumed. */
  resumed(reason: string): void {
    if (reason.includes('gap')) this.stats.gapResumes += 1;
    if (reason.includes('ack timeout')) this.stats.ackTimeoutResumes += 1;
  }

  /** Faults stop; runs until nothing is left to do. False if it never got there (a livelock). */
  heal(eventsMax = 200_000): boolean {
    return this.time.runUntilIdle(eventsMax);
  }

  violation(message: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.time.now}: ${message}`);
  }

  /** Bounded memory: what a sender holds in flight never exceeds the flow limits. */
  checkWindow(node: string, frames: number, bytes: number): void {
    const { unackedFramesMax, unackedBytesMax } = this.config.flow;
    if (frames > unackedFramesMax || (frames > 1 && bytes > unackedBytesMax)) this.violation(`${node}: ${frames} frames / ${bytes} bytes in flight`);
    if (frames === unackedFramesMax) this.stats.windowsFull += 1;
  }

  /**
   * A down commit became durable at the edge: revisions per uid must strictly increase (invariant 3).
   * An object that left the node's desired set (removed there) and came back, unchanged, as when a
   * DeviceModel's last Device on the node moves away and another one arrives, is applied again at
   * the revision it has: never an older one.
   */
  downApplied(node: string, epoch: string, changes: readonly DesiredChange[]): void {
    for (const change of changes) {
      const key = `${node}|${epoch}|${change.uid}`;
      const last = this.#revisions.get(key);
      if (change.op === 'delete') {
        if (last !== undefined) this.#revisions.set(key, { ...last, removed: true });
        continue;
      }
      const ordered = last === undefined || newerRevision(change.resourceVersion, last.rv) || (last.removed && change.resourceVersion === last.rv);
      if (!ordered) this.violation(`${node} applied ${change.uid} rv ${change.resourceVersion} after rv ${last.rv}${last.removed ? ' (removed in between)' : ''}`);
      this.#revisions.set(key, { rv: change.resourceVersion, removed: false });
    }
  }

  /** The cloud started an up receiver at `up.applied`: effects of that journal may start right after it. */
  receiverStarted(life: Incarnation, node: string, up: { readonly journalId: string; readonly applied: number }): void {
    this.#invoked.set(`${this.#life(life)}|${node}|${up.journalId}`, { start: up.applied, seqs: [] });
    const key = `${this.cluster.serial}|${node}|${up.journalId}`;
    this.#baselines.set(key, (this.#baselines.get(key) ?? new Set()).add(up.applied));
  }

  effectInvoked(life: Incarnation, node: string, journalId: string, seq: number): void {
    this.#invoked.get(`${this.#life(life)}|${node}|${journalId}`)?.seqs.push(seq);
  }

  effectApplied(epoch: number, node: string, journalId: string, seq: number): void {
    const key = `${epoch}|${node}|${journalId}`;
    const seqs = this.#effective.get(key) ?? [];
    seqs.push(seq);
    this.#effective.set(key, seqs);
  }

  /** PROTOCOL.md's invariants after healing; an empty list when they all hold. */
  check(quiescent: boolean): string[] {
    const failures = [...this.violations];
    if (!quiescent) failures.push(`no quiescence after healing (t=${this.time.now})`);
    for (const node of this.nodes) failures.push(...this.#checkNode(node));
    failures.push(...this.#checkUpLog());
    return failures;
  }

  #checkNode(node: string): string[] {
    const failures: string[] = [];
    const journal = this.edgeDisk(node).durable;
    const desired = this.cluster.desiredSet(node);
    if (this.edges.get(node)?.phase !== 'linked') failures.push(`${node}: not linked after healing`);
    // 1: stored desired content equals the desired set; deleted objects are gone.
    for (const object of desired.objects.values()) {
      const held = journal.objects.get(object.key);
      if (held?.uid !== object.uid || held.contentHash !== object.contentHash) failures.push(`${node}: ${object.key} is ${JSON.stringify(held)}, desired ${object.uid} ${object.contentHash}`);
      else if (newerRevision(held.resourceVersion, object.resourceVersion)) failures.push(`${node}: ${object.key} holds rv ${held.resourceVersion}, newer than desired ${object.resourceVersion}`);
    }
    const extra = [...journal.objects.keys()].filter((key) => ![...desired.objects.values()].some((o) => o.key === key));
    if (extra.length > 0) failures.push(`${node}: holds objects no longer desired: ${extra.join(', ')}`);
    // 6: a reset ended in a completed full resync.
    if (journal.clusterId !== this.cluster.clusterId) failures.push(`${node}: synced with ${journal.clusterId}, the cluster is ${this.cluster.clusterId}`);
    // 2: the applied up position is the outbox head, and the status the edge owns is its reported state.
    const record = this.cloudDisk.durable.nodeSync.get(node)?.record;
    // No record of this journal: the cloud applied none of it, which is right only while it has
    // nothing past its floor (a receiver starts at the floor; compacted events are not sent again).
    const applied = record?.journalId === journal.journalId ? record.upApplied : journal.floor;
    if (applied !== journal.head) {
      failures.push(`${node}: NodeSync ${JSON.stringify(record)}, edge journal ${journal.journalId} head ${journal.head}`);
    }
    if (!this.abstractStatus) return failures;
    const status = this.cloudDisk.durable.status.get(node);
    const statusValues = JSON.stringify([...(status?.values ?? new Map())].sort());
    const reported = JSON.stringify([...journal.reported].sort());
    if (journal.head > 0 && (status?.journalId !== journal.journalId || status.through !== journal.head)) failures.push(`${node}: status reflects ${status?.journalId}@${status?.through}`);
    if (statusValues !== reported) failures.push(`${node}: status ${statusValues}, edge reported ${reported}`);
    const effective = this.#effective.get(`${this.cluster.serial}|${node}|${journal.journalId}`) ?? [];
    if (journal.head > 0 && effective[effective.length - 1] !== journal.head) failures.push(`${node}: last effective up ${effective[effective.length - 1]}, head ${journal.head}`);
    return failures;
  }

  /** 3 (up): no event applied twice, none skipped, in order. */
  #checkUpLog(): string[] {
    const failures: string[] = [];
    for (const [key, { start, seqs }] of this.#invoked) {
      const expected = seqs.map((_, i) => start + 1 + i);
      if (JSON.stringify(seqs) !== JSON.stringify(expected)) failures.push(`effect port got ${key}: ${seqs.slice(0, 12).join(',')}… after start ${start}`);
    }
    for (const [key, seqs] of this.#effective) {
      const first = seqs[0]!;
      if (!seqs.every((seq, i) => seq === first + i)) failures.push(`effective up ${key}: ${seqs.slice(0, 12).join(',')}…`);
      if (!this.#baselines.get(key)?.has(first - 1)) failures.push(`effective up ${key} starts at ${first}, baselines ${[...(this.#baselines.get(key) ?? [])].join(',')}`);
    }
    return failures;
  }

  #crashEdge(node: string): void {
    const edge = this.edges.get(node);
    if (edge === null || edge === undefined) return;
    edge.crash();
    this.stats.writesLostInCrashes += this.edgeDisk(node).crash();
    this.edges.set(node, null);
    this.time.schedule(this.config.restartMs, null, () => this.edges.set(node, new EdgeHost(this, node)));
  }

  #crashCloud(): void {
    if (this.cloud === null) return;
    this.cloud.crash();
    this.cloud = null;
    this.stats.writesLostInCrashes += this.cloudDisk.crash();
    for (const connection of [...this.#open]) connection.close('cloud crashed', 'toEdge');
    this.time.schedule(this.config.restartMs, null, () => (this.cloud = this.#startCloud()));
  }

  #startCloud(): CloudHost {
    const cloud = new CloudHost(this);
    this.parts.cloudStarted?.(cloud);
    return cloud;
  }

  #mintJournalId(node: string): string {
    this.#journals += 1;
    return `journal-${node}-${this.#journals}`;
  }

  #life(life: Incarnation): number {
    if (!this.#lives.has(life)) this.#lives.set(life, this.#lives.size + 1);
    return this.#lives.get(life)!;
  }
}

/** Limits small enough that flow control, batching and timeouts all happen within a few steps. */
export const worldConfigArbitrary = (nodes: readonly string[], synchronous: Synchronous = 'FULL'): fc.Arbitrary<WorldConfig> =>
  fc.integer({ min: 1, max: 6 }).chain((unackedFramesMax) =>
    fc.record({
      nodes: fc.constant(nodes),
      flow: fc.record({
        unackedFramesMax: fc.constant(unackedFramesMax),
        unackedBytesMax: fc.integer({ min: 150, max: 1500 }),
        frameBytesMax: fc.constant(4096),
        ackTimeoutMs: fc.integer({ min: 300, max: 1200 }),
      }),
      ack: fc.record({
        ackEveryFrames: fc.integer({ min: 1, max: unackedFramesMax }),
        ackDelayMs: fc.integer({ min: 0, max: 40 }),
        applyQueueFramesMax: fc.constant(unackedFramesMax),
      }),
      latencyMs: fc.integer({ min: 1, max: 10 }),
      fsyncMs: fc.integer({ min: 1, max: 6 }),
      synchronous: fc.constant(synchronous),
      restartMs: fc.integer({ min: 5, max: 200 }),
    }),
  );

/** How often each fault comes up; resets are rarer, each costs a full resync. */
export interface StepWeights {
  readonly faults: number;
  readonly crashes: number;
  readonly resets: number;
}

export const worldStepArbitrary = (weights: StepWeights): fc.Arbitrary<WorldStep> => {
  const node = fc.nat(7);
  const direction = fc.constantFrom<Direction>('toCloud', 'toEdge');
  const options: fc.WeightedArbitrary<WorldStep>[] = [
    { weight: 5, arbitrary: fc.record({ t: fc.constant('run' as const), ms: fc.integer({ min: 1, max: 150 }) }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('runEvents' as const), events: fc.integer({ min: 1, max: 12 }) }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('produce' as const), node, key: fc.nat(3), value: fc.nat(99), count: fc.integer({ min: 1, max: 6 }) }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('desire' as const), node, name: fc.nat(3), op: fc.constantFrom<DesireOp>('put', 'put', 'touch', 'delete', 'recreate') }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), node }) },
  ];
  if (weights.faults > 0) {
    options.push(
      { weight: weights.faults, arbitrary: fc.record({ t: fc.constantFrom('drop' as const, 'duplicate' as const, 'reorder' as const), node, direction, index: fc.nat(7) }) },
      { weight: weights.faults, arbitrary: fc.record({ t: fc.constant('delay' as const), node, direction, ms: fc.integer({ min: 1, max: 1500 }) }) },
      { weight: weights.faults, arbitrary: fc.record({ t: fc.constant('disconnect' as const), node }) },
      {
        weight: 3 * weights.faults,
        arbitrary: fc.record({
          t: fc.constant('fault' as const),
          node,
          direction,
          nth: fc.integer({ min: 1, max: 8 }),
          fault: fc.oneof(fc.constantFrom<PlannedFault>({ fault: 'drop' }, { fault: 'duplicate' }, { fault: 'reorder' }), fc.record({ fault: fc.constant('delay' as const), ms: fc.integer({ min: 1, max: 1500 }) })),
        }),
      },
    );
  }
  if (weights.crashes > 0) {
    options.push(
      { weight: weights.crashes, arbitrary: fc.record({ t: fc.constant('crashEdge' as const), node }) },
      { weight: weights.crashes, arbitrary: fc.constant({ t: 'crashCloud' as const }) },
    );
  }
  if (weights.resets > 0) {
    options.push(
      { weight: weights.resets, arbitrary: fc.record({ t: fc.constant('resetJournal' as const), node }) },
      { weight: weights.resets, arbitrary: fc.record({ t: fc.constant('resetCluster' as const), sameUids: fc.boolean(), lostMask: fc.nat(255) }) },
    );
  }
  return fc.oneof(...options);
};

/** Runs a schedule in a fresh world, heals it and returns the invariants that failed. */
export function runSchedule(config: WorldConfig, steps: readonly WorldStep[]): { readonly failures: string[]; readonly world: StreamWorld } {
  const world = new StreamWorld(config);
  for (const step of steps) world.apply(step);
  const quiescent = world.heal();
  return { failures: world.check(quiescent), world };
}
