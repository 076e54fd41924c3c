// CloudHub: the cloud end of the stream. Per node it answers the hello from the NodeSync record,
// runs the up receiver (effects, then the durable applied position, then the cumulative ack) and the
// down planner (pending = desired set minus what the edge acknowledged), executing each core's
// decisions in order, and checks every frame an edge sends against what is bound to that node.
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { invariant, type JsonValue, type Result, err } from '../../kernel/index.js';
import { Close, errorFrame, keepaliveFrame, type ErrorFrame, type Frame, type QueryFrame } from '../frames/frame.js';
import { authorizeEdgeFrame, emptyViolationWindow, type AuthorizationRefusal, type StreamConnectionInfo, recordViolation, VIOLATION_LIMITS_DEFAULT, type NodeAuthorizationView, type ViolationLimits, type ViolationWindow } from '../security/index.js';
import {
  answerEdgeHello,
  assertLimits,
  defaultAckPolicy,
  defaultFlowLimits,
  downAckReceived,
  downAckTimeoutFired,
  downDesiredChanged,
  downLinkDown,
  downLinkUp,
  nextNodeSyncRecord,
  pendingFrames,
  startDownPlanner,
  startUpReceiver,
  upAckDelayFired,
  upEffectPerformed,
  upFrameReceived,
  upPositionRecorded,
  upReceiverLinkDown,
  upReceiverLinkUp,
  type AckPolicy,
  type DesiredSet,
  type DownPlannerDecision,
  type DownPlannerState,
  type DownPlannerOptions,
  type EdgeToCloudFrame,
  type FlowLimits,
  type NodeSyncRecord,
  type NodeSyncStore,
  type Transition,
  type UpEffects,
  type UpEvent,
  type UpReceiverDecision,
  type UpReceiverState,
} from '../sync/index.js';
import type { HubLog } from './edge-hub.js';
import { DecisionQueue } from './decision-queue.js';
import { CoreTimers } from './core-timers.js';
import { PendingQueries, QUERY_RATE_DEFAULT, QUERY_TIMEOUT_MS_DEFAULT, TokenBucket, answerQuery, refuseQuery, type QueryError, type QueryRequest, type QueryResponder } from './requests.js';
import { StreamSession, defaultLiveness, freshStamp, type Liveness, type SessionEnd } from './session.js';
import { DownFrameWriter, atCloud, cloudFrameOf, type ReceivedUp } from './wire.js';
import { ByteStreamSessions, byteStreamQueryContent } from './byte-streams.js';
import { formatWireResource } from '../frames/resource.js';

/** The projections' side: each node's desired set, computed elsewhere (the cloud issue fills it). */
export interface DesiredSetSource {
  desiredSet(nodeName: string): DesiredSet;
}

export interface CloudHubOptions {
  /** The uid of namespace kube-system. */
  readonly clusterId: string;
  readonly nodeSync: NodeSyncStore;
  readonly desired: DesiredSetSource;
  readonly effects: UpEffects;
  /** What is bound to which node; every frame from an edge is checked against it. */
  readonly authorization: NodeAuthorizationView;
  /** Answers edge queries (ConfigMaps/Secrets on demand, service bus), after authorization and the rate limit. */
  readonly respond?: (nodeName: string, query: QueryFrame) => Promise<Result<JsonValue, string>>;
  readonly limits?: FlowLimits;
  readonly ackPolicy?: AckPolicy;
  readonly liveness?: Liveness;
  readonly violationLimits?: ViolationLimits;
  /** Unsolicited queries per node (KubeEdge: 30/s, burst 60). */
  readonly queryRate?: { readonly perSecond: number; readonly burst: number };
  /** A desired object too large for one frame: skipped, never a close; the owner records a Warning Event. */
  readonly onOversized?: (nodeName: string, key: string, bytes: number, frameBytesMax: number) => void;
  /**
   * Which cloud process serves a node when several run against one API (DESIGN.md, Scaling): the
   * hub takes the node before it answers a hello, and lets go when the edge leaves. Without it,
   * this hub serves every node that connects.
   */
  readonly ownership?: NodeOwnership;
  readonly log?: HubLog;
}

/** A node's ownership among cloud processes, e.g. a Lease per node. */
export interface NodeOwnership {
  /** Takes the node or confirms this process has it; otherwise names the holder. */
  acquire(nodeName: string): Promise<{ readonly owned: true } | { readonly owned: false; readonly holder: string }>;
  /** Keeps the node while linked; `lost` is called (once) when it can no longer be kept. */
  hold(nodeName: string, lost: () => void): void;
  /**
   * Gives the node up, so that another process can take it at once — unless `stillFree()` says,
   * when its turn comes (after any acquire asked for before it), that a new hello has it again.
   */
  release(nodeName: string, stillFree: () => boolean): Promise<void>;
}

const silentLog: HubLog = { info: () => undefined, warn: () => undefined };

/** What `edgehive status` shows per node. */
export interface NodeStreamStatus {
  readonly nodeName: string;
  readonly linked: boolean;
  readonly journalId: string | null;
  readonly upApplied: number;
  readonly downInFlight: number;
  readonly downPending: number;
  readonly violations: number;
}

interface NodeEntry {
  readonly name: string;
  record: NodeSyncRecord | undefined;
  planner: DownPlannerState;
  receiver: UpReceiverState | undefined;
  session: StreamSession | null;
  /** The up receiver's and the down planner's decisions, each run in order. */
  upQueue: DecisionQueue<UpDecisionRun>;
  downQueue: DecisionQueue<DownDecisionRun>;
  timers: CoreTimers;
  violations: ViolationWindow;
  violationCount: number;
  bucket: TokenBucket;
  queries: PendingQueries;
  /** Up frames accepted and not yet performed, for authorization and refusal answers. */
  ups: Map<number, ReceivedUp>;
  /** The down planner's options: the hub's limits, frames measured by the hub's DownFrameWriter. */
  plannerOptions: DownPlannerOptions;
}

/** A decision with the session that was current when it was made (sends go only to that one). */
type UpDecisionRun = { readonly session: StreamSession | null; readonly decision: UpReceiverDecision };
type DownDecisionRun = { readonly session: StreamSession | null; readonly decision: DownPlannerDecision };

const monotonicMs = (): number => performance.now();

/**
 * The cloud end of the stream. Wire it to the mTLS listener's `onConnection`.
 * @example
 * const hub = new CloudHub({ clusterId, nodeSync, desired, effects, authorization });
 * const server = await startMtlsStreamServer({ ..., onConnection: (node, socket) => hub.attach(node, socket) });
 */
export class CloudHub extends EventEmitter<{ linked: [nodeName: string, mode: 'resume' | 'full']; unlinked: [nodeName: string, end: SessionEnd] }> {
  #nodes = new Map<string, NodeEntry>();
  #loading = new Map<string, Promise<NodeEntry>>();
  /** Hellos being answered per node (ownership: a node is not given up under one). */
  readonly #handshaking = new Map<string, number>();
  #decommissioned = new Set<string>();
  #closed = false;
  #byteStreams = new ByteStreamSessions();
  readonly #limits: FlowLimits;
  /** Writes and checks down frames; shared by every node, since a desired object's frame body names no node. */
  readonly #downWriter = new DownFrameWriter();
  readonly #ack: AckPolicy;
  readonly #liveness: Liveness;
  readonly #log: HubLog;

  constructor(private readonly options: CloudHubOptions) {
    super();
    this.#limits = options.limits ?? defaultFlowLimits;
    this.#ack = options.ackPolicy ?? defaultAckPolicy;
    assertLimits(this.#limits, this.#ack);
    this.#liveness = options.liveness ?? defaultLiveness;
    this.#log = options.log ?? silentLog;
  }

  /**
   * Takes over an admitted connection of `nodeName` (its certificate names it). A message stream's
   * first frame must be its hello; a byte stream (`ConnectionUse: str`) must name a waiting session.
   */
  attach(nodeName: string, socket: WebSocket, info?: Pick<StreamConnectionInfo, 'connectionUse' | 'streamSession'> & { readonly certificateNotAfterMs?: number }): void {
    if (this.#closed) return socket.close(1001, 'cloud stopping');
    if (info?.connectionUse === 'str') {
      if (this.#byteStreams.arrived(nodeName, info.streamSession ?? '', socket)) return;
      this.#log.warn({ node: nodeName, session: info.streamSession }, 'byte stream for no waiting session');
      return socket.close(Close.forbidden.code, `no byte stream session ${info.streamSession ?? ''} waits for node ${nodeName}`);
    }
    if (this.#decommissioned.has(nodeName)) return socket.close(Close.nodeDeleted.code, `${Close.nodeDeleted.reason}: ${nodeName} is decommissioned`);
    let handshaking = true;
    const session: StreamSession = new StreamSession(socket, this.#limits.frameBytesMax, this.#liveness, {
      frame: (frame) => {
        if (!handshaking) return this.#received(nodeName, session, frame);
        handshaking = false;
        void this.#handshakeCounted(nodeName, session, frame);
      },
      closed: (end) => this.#sessionClosed(nodeName, session, end),
      keepaliveDue: () => keepaliveFrame(freshStamp(), { from: 'cloud', nodeName }),
    });
    if (info?.certificateNotAfterMs !== undefined) closeAtExpiry(session, info.certificateNotAfterMs);
  }

  /** The projections recomputed `nodeName`'s desired set; pending frames go out if it is linked. */
  desiredChanged(nodeName: string): void {
    const entry = this.#nodes.get(nodeName);
    if (entry === undefined) return;
    this.#down(entry, (s) => downDesiredChanged(s, this.options.desired.desiredSet(nodeName), entry.plannerOptions));
  }

  /** Asks an edge (service bus, status probes); retried after its reconnects until the timeout. */
  request(nodeName: string, request: QueryRequest, timeoutMs = QUERY_TIMEOUT_MS_DEFAULT): Promise<Result<JsonValue, QueryError>> {
    const entry = this.#nodes.get(nodeName);
    if (entry === undefined) return Promise.resolve(err({ kind: 'QueryRefused', message: `node ${nodeName} never connected to this cloud` }));
    return entry.queries.ask(request, timeoutMs, (frame) => entry.session?.send(frame) ?? false);
  }

  /**
   * Opens a byte stream to an edge (kubectl logs/exec): asks it over the message stream, then
   * resolves with the binary websocket the edge opens for this session (its own connection).
   */
  async openByteStream(nodeName: string, request: QueryRequest, timeoutMs = QUERY_TIMEOUT_MS_DEFAULT): Promise<Result<WebSocket, QueryError>> {
    const opening = this.#byteStreams.open(nodeName, timeoutMs);
    void this.request(nodeName, { ...request, content: byteStreamQueryContent(opening.session, request.content) }, timeoutMs).then((answer) => {
      if (!answer.ok) opening.fail(answer.error);
    });
    return opening.socket;
  }

  /** The Node was deleted: its stream closes with 4410 and reconnects are refused until recommission. */
  decommission(nodeName: string): void {
    this.#decommissioned.add(nodeName);
    this.#nodes.get(nodeName)?.session?.close(Close.nodeDeleted.code, `${Close.nodeDeleted.reason}: ${nodeName}`);
  }

  recommission(nodeName: string): void {
    this.#decommissioned.delete(nodeName);
  }

  /** Whether the node's Node was deleted (and not created again) while this hub ran. */
  isDecommissioned(nodeName: string): boolean {
    return this.#decommissioned.has(nodeName);
  }

  /** Whether the node's stream is linked to this process now (a request to it can be answered soon). */
  isLinked(nodeName: string): boolean {
    const entry = this.#nodes.get(nodeName);
    return entry !== undefined && entry.session !== null;
  }

  status(): readonly NodeStreamStatus[] {
    return [...this.#nodes.values()].map((entry) => ({
      nodeName: entry.name,
      linked: entry.session !== null,
      journalId: entry.receiver?.journalId ?? entry.record?.journalId ?? null,
      upApplied: entry.receiver?.recorded ?? entry.record?.upApplied ?? 0,
      downInFlight: entry.planner.link?.inFlight.length ?? 0,
      downPending: pendingFrames(entry.planner).length,
      violations: entry.violationCount,
    }));
  }

  /** Closes every session and waits for the durable writes in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#byteStreams.failAll('the cloud hub stopped');
    for (const entry of this.#nodes.values()) {
      entry.session?.close(1001, 'cloud stopping');
      entry.queries.failAll('the cloud hub stopped');
      entry.timers.cancelAll();
    }
    await Promise.all([...this.#nodes.values()].flatMap((e) => [e.upQueue.settled(), e.downQueue.settled()]));
  }

  /** Loads a node's NodeSync record and desired set once; concurrent hellos share the load. */
  #entry(nodeName: string): Promise<NodeEntry> {
    const known = this.#nodes.get(nodeName);
    if (known !== undefined) return Promise.resolve(known);
    let loading = this.#loading.get(nodeName);
    if (loading === undefined) {
      loading = this.options.nodeSync.load(nodeName).then((durable) => {
        const entry: NodeEntry = {
          name: nodeName,
          record: durable.record,
          planner: startDownPlanner({ acked: durable.acked, desired: this.options.desired.desiredSet(nodeName) }),
          receiver: undefined,
          session: null,
          upQueue: new DecisionQueue<UpDecisionRun>(
            (run) => this.#executeUp(entry, run.session, run.decision),
            (error) => this.#storeFailed(entry, error),
          ),
          downQueue: new DecisionQueue<DownDecisionRun>(
            (run) => this.#executeDown(entry, run.session, run.decision),
            (error) => this.#storeFailed(entry, error),
          ),
          timers: new CoreTimers(),
          violations: emptyViolationWindow,
          violationCount: 0,
          bucket: new TokenBucket((this.options.queryRate ?? QUERY_RATE_DEFAULT).perSecond, (this.options.queryRate ?? QUERY_RATE_DEFAULT).burst),
          queries: new PendingQueries(),
          ups: new Map(),
          plannerOptions: { limits: this.#limits, frameBytes: (frame) => this.#downWriter.measure(nodeName, frame, freshStamp()) },
        };
        this.#nodes.set(nodeName, entry);
        this.#loading.delete(nodeName);
        return entry;
      }, (error: unknown) => {
        // A failed load is not remembered: the node's next hello tries again.
        this.#loading.delete(nodeName);
        throw error;
      });
      this.#loading.set(nodeName, loading);
    }
    return loading;
  }

  /** A handshake, counted while it runs, so that the node is not given up under it. */
  async #handshakeCounted(nodeName: string, session: StreamSession, frame: Frame): Promise<void> {
    this.#handshaking.set(nodeName, (this.#handshaking.get(nodeName) ?? 0) + 1);
    try {
      await this.#handshake(nodeName, session, frame);
    } finally {
      const left = (this.#handshaking.get(nodeName) ?? 1) - 1;
      if (left > 0) this.#handshaking.set(nodeName, left);
      else this.#handshaking.delete(nodeName);
      // A hello refused, failed or abandoned leaves the node to whoever can serve it.
      if (this.options.ownership !== undefined) void this.#letGo(nodeName);
    }
  }

  async #handshake(nodeName: string, session: StreamSession, frame: Frame): Promise<void> {
    const inbound = atCloud(frame);
    if (!inbound.ok) return session.close(1002, inbound.error.reason);
    if (inbound.value.kind !== 'sync' || inbound.value.message.kind !== 'hello') return session.close(1002, `expected hello as the first frame, got ${frame.kind}`);
    const hello: EdgeToCloudFrame = inbound.value.message;
    if (!(await this.#owned(nodeName, session))) return;
    let entry: NodeEntry;
    try {
      entry = await this.#entry(nodeName);
    } catch (error) {
      this.#log.warn({ node: nodeName, error: (error as Error).message }, 'NodeSync load failed');
      return session.close(1011, 'node sync record unavailable');
    }
    if (!session.open || this.#closed) return;
    // A live receiver of the recorded journal knows a newer (and durable) applied position.
    const durable = entry.record;
    const receiver = entry.receiver;
    const record = durable !== undefined && receiver !== undefined && receiver.journalId === durable.journalId ? { ...durable, upApplied: receiver.recorded } : durable;
    const agreed = answerEdgeHello(hello, { nodeName, clusterId: this.options.clusterId, record });
    if (!agreed.ok) {
      this.#log.warn({ node: nodeName, reason: agreed.error.reason }, 'edge hello refused');
      return session.close(agreed.error.closeCode, agreed.error.reason);
    }
    // The new connection takes over; the old one is closed (its in-flight frames are pending again).
    const old = entry.session;
    if (old !== null) {
      this.#linkDown(entry);
      old.close(1000, 'replaced by a new connection of the same node');
    }
    entry.session = session;
    session.send(cloudFrameOf(agreed.value.hello, nodeName, freshStamp()));
    const { up, mode } = agreed.value;
    if (receiver === undefined || receiver.journalId !== up.journalId) entry.receiver = startUpReceiver(up);
    this.#up(entry, (s) => upReceiverLinkUp(s));
    this.#down(entry, (s) => downLinkUp(s, mode, entry.plannerOptions));
    entry.queries.resendAll((f) => session.send(f));
    this.#log.info({ node: nodeName, mode, journalId: up.journalId, upAcked: up.applied }, 'stream linked');
    this.emit('linked', nodeName, mode);
  }

  #received(nodeName: string, session: StreamSession, frame: Frame): void {
    const entry = this.#nodes.get(nodeName);
    if (entry === undefined || entry.session !== session) {
      // The hello is still being answered (its NodeSync record loading): a keepalive may come
      // meanwhile; anything else is out of protocol.
      if (frame.kind === 'keepalive') return;
      return session.close(1002, `a ${frame.kind} frame before the handshake completed`);
    }
    const inbound = atCloud(frame);
    if (!inbound.ok) return session.close(1002, inbound.error.reason);
    const value = inbound.value;
    if (value.kind === 'keepalive') {
      if (value.ack !== undefined) this.#down(entry, (s) => downAckReceived(s, value.ack!, entry.plannerOptions));
      return;
    }
    if (value.kind === 'other') return this.#other(entry, session, value.frame);
    const message = value.message;
    switch (message.kind) {
      case 'hello':
        return session.close(1002, 'a second hello');
      case 'ack':
        return this.#down(entry, (s) => downAckReceived(s, message.upTo, entry.plannerOptions));
      case 'up':
        if (value.up !== undefined && entry.receiver !== undefined && message.seq === entry.receiver.accepted + 1) entry.ups.set(message.seq, value.up);
        return this.#up(entry, (s) => upFrameReceived(s, message, this.#ack));
    }
  }

  #other(entry: NodeEntry, session: StreamSession, frame: Frame): void {
    if (frame.kind === 'response' || frame.kind === 'error') {
      entry.queries.answered(frame);
      return;
    }
    if (frame.kind !== 'query') return;
    const allowed = authorizeEdgeFrame(entry.name, frame.target, 'query', this.options.authorization);
    if (!allowed.ok) {
      session.send(refuseQuery(frame, 'cloudhub', allowed.error.reason));
      return this.#violation(entry, allowed.error.reason);
    }
    if (!entry.bucket.take(monotonicMs())) {
      this.#log.warn({ node: entry.name, resource: frame.route.resource }, 'query rate limit exceeded');
      session.send(refuseQuery(frame, 'cloudhub', `rate limit: at most ${(this.options.queryRate ?? QUERY_RATE_DEFAULT).perSecond} queries/s per node; retry later`));
      return;
    }
    const respond: QueryResponder = (query) => (this.options.respond ?? (() => Promise.resolve(err(`this cloud answers no ${query.route.resource} queries`))))(entry.name, query);
    void answerQuery(frame, 'cloudhub', respond).then((answer) => {
      if (entry.session === session) session.send(answer);
    });
  }

  /** Counts a refusal; the violationsMax-th within the window closes the connection with 4403. */
  #violation(entry: NodeEntry, reason: string): void {
    entry.violationCount += 1;
    this.#log.warn({ node: entry.name, reason }, 'authorization refused');
    const next = recordViolation(entry.violations, monotonicMs(), this.options.violationLimits ?? VIOLATION_LIMITS_DEFAULT);
    entry.violations = next.window;
    if (next.verdict.action === 'close') entry.session?.close(next.verdict.code, next.verdict.reason);
  }

  #sessionClosed(nodeName: string, session: StreamSession, end: SessionEnd): void {
    const entry = this.#nodes.get(nodeName);
    if (entry === undefined || entry.session !== session) return;
    this.#linkDown(entry);
    this.#log.info({ node: nodeName, code: end.code, reason: end.reason, local: end.local }, 'stream closed');
    this.emit('unlinked', nodeName, end);
    if (this.options.ownership !== undefined) void this.#letGo(nodeName);
  }

  /**
   * Takes the node (ownership configured) before its hello is answered; a node another process
   * serves is refused with 1012, so that its edge tries another cloud process.
   */
  async #owned(nodeName: string, session: StreamSession): Promise<boolean> {
    const ownership = this.options.ownership;
    if (ownership === undefined) return true;
    let outcome: Awaited<ReturnType<NodeOwnership['acquire']>>;
    try {
      outcome = await ownership.acquire(nodeName);
    } catch (error) {
      this.#log.warn({ node: nodeName, error: (error as Error).message }, 'node ownership could not be taken');
      session.close(Close.serviceRestart.code, `cannot take node ${nodeName} here now; reconnect`);
      return false;
    }
    if (!outcome.owned) {
      session.close(Close.serviceRestart.code, `node ${nodeName} is served by another cloud process (${outcome.holder}); try another`);
      return false;
    }
    // The edge left while the node was being taken: the handshake's end gives it up if idle.
    if (!session.open || this.#closed) return false;
    ownership.hold(nodeName, () => this.#ownershipLost(nodeName));
    return true;
  }

  /**
   * The node's ownership could not be kept (its Lease not renewed in time): another process may
   * serve it now, so this one closes the stream (1012) and forgets the node's state; a later hello
   * here starts again from NodeSync.
   */
  #ownershipLost(nodeName: string): void {
    const entry = this.#nodes.get(nodeName);
    this.#log.warn({ node: nodeName }, 'node ownership lost; closing its stream');
    if (entry === undefined) return;
    this.#nodes.delete(nodeName);
    entry.timers.cancelAll();
    entry.queries.failAll(`node ${nodeName} lost to another cloud process`);
    const session = entry.session;
    entry.session = null;
    if (session === null) return;
    session.close(Close.serviceRestart.code, Close.serviceRestart.reason);
    // The entry is gone, so the session's own close reports nothing: say it here.
    this.emit('unlinked', nodeName, { code: Close.serviceRestart.code, reason: Close.serviceRestart.reason, local: true });
  }

  /** Neither linked here nor being handshaken here. */
  #idle(nodeName: string): boolean {
    return !this.#handshaking.has(nodeName) && this.#nodes.get(nodeName)?.session == null;
  }

  /**
   * The node may have no edge here any more (its stream closed, a hello failed): once its writes in
   * flight have settled, and if it is still idle, its state is dropped and the node given up. A
   * hello arriving meanwhile keeps both (the ownership port checks again when the release's turn comes).
   */
  async #letGo(nodeName: string): Promise<void> {
    const entry = this.#nodes.get(nodeName);
    if (entry !== undefined) await Promise.all([entry.upQueue.settled(), entry.downQueue.settled()]);
    if (!this.#idle(nodeName)) return;
    if (entry !== undefined && this.#nodes.get(nodeName) === entry) {
      this.#nodes.delete(nodeName);
      entry.timers.cancelAll();
      entry.queries.failAll(`node ${nodeName} left this cloud process`);
    }
    await this.options.ownership?.release(nodeName, () => this.#idle(nodeName));
  }

  #linkDown(entry: NodeEntry): void {
    entry.session = null;
    if (entry.receiver !== undefined) this.#up(entry, (s) => upReceiverLinkDown(s));
    this.#down(entry, (s) => downLinkDown(s));
  }

  #up(entry: NodeEntry, step: (state: UpReceiverState) => Transition<UpReceiverState, UpReceiverDecision>): void {
    const current = entry.receiver;
    if (current === undefined) return;
    const { state, decisions } = step(current);
    entry.receiver = state;
    const session = entry.session;
    for (const decision of decisions) entry.upQueue.push({ session, decision });
  }

  /** Runs one up decision; a promise only for those that wait on a port (the queue awaits nothing else). */
  #executeUp(entry: NodeEntry, session: StreamSession | null, decision: UpReceiverDecision): void | Promise<void> {
    switch (decision.type) {
      case 'performEffect': {
        const { journalId, seq, event } = decision;
        const received = entry.ups.get(seq);
        entry.ups.delete(seq);
        const refusal = received === undefined ? undefined : this.#refusalOf(entry.name, received);
        if (refusal !== undefined) {
          this.#refuseUp(entry, session, received!, refusal);
          return this.#up(entry, (s) => upEffectPerformed(s, journalId, seq));
        }
        return this.#perform(entry, journalId, seq, event).then(() => this.#up(entry, (s) => upEffectPerformed(s, journalId, seq)));
      }
      case 'recordPosition': {
        const { journalId, seq } = decision;
        return this.options.nodeSync.recordUpApplied(entry.name, journalId, seq).then(() => {
          entry.record = nextNodeSyncRecord(entry.record, journalId, seq) ?? entry.record;
          this.#up(entry, (s) => upPositionRecorded(s, journalId, seq, this.#ack));
        });
      }
      case 'send':
        // The up receiver sends acks only: numbers the builder checks, nothing the edge could refuse.
        if (session !== null && entry.session === session) session.send(cloudFrameOf(decision.frame, entry.name, freshStamp()), true);
        return;
      case 'armTimer':
        return this.#arm(entry, decision.timer, decision.afterMs, () => this.#up(entry, (s) => upAckDelayFired(s)));
      case 'cancelTimer':
        return this.#cancel(entry, decision.timer);
      case 'resume':
        return this.#resume(entry, session, decision.reason);
    }
  }

  /**
   * A durable write (NodeSync) failed: what the cores believe may now differ from the store, so the
   * node's state is dropped and its stream closed (1011); its next hello reloads from NodeSync.
   * Nothing acknowledged is lost: acks are only ever sent after the writes they rest on succeeded.
   */
  #storeFailed(entry: NodeEntry, error: unknown): void {
    if (this.#nodes.get(entry.name) !== entry) return;
    this.#log.warn({ node: entry.name, error: (error as Error).message }, 'node sync write failed; dropping the node state');
    this.#nodes.delete(entry.name);
    entry.timers.cancelAll();
    entry.session?.close(1011, 'node sync store failed; reconnect');
    entry.session = null;
    if (this.options.ownership !== undefined) void this.#letGo(entry.name);
  }

  /** Performs an event's effects; a failure is retried with back-off, since skipping it would lose it. */
  async #perform(entry: NodeEntry, journalId: string, seq: number, event: UpEvent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.effects.perform(entry.name, journalId, seq, event);
      } catch (error) {
        if (this.#closed) throw error;
        this.#log.warn({ node: entry.name, seq, attempt, error: (error as Error).message }, 'up effect failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  #refusalOf(nodeName: string, up: ReceivedUp): AuthorizationRefusal | undefined {
    const decision = authorizeEdgeFrame(nodeName, up.resource, up.operation, this.options.authorization);
    return decision.ok ? undefined : decision.error;
  }

  /**
   * A refused up event is applied as nothing (its seq still counts, or the log would stall) and
   * answered with an error. A report about a pod or device the cloud no longer knows is a stale
   * report racing its deletion (the log is ordered, deletions are not), not a probe for other
   * nodes' objects: it is not counted toward the 4403 close.
   */
  #refuseUp(entry: NodeEntry, session: StreamSession | null, up: ReceivedUp, refusal: AuthorizationRefusal): void {
    if (session !== null && entry.session === session) session.send(upRefusalFrame(up, entry.name, refusal.reason));
    // A Device, unlike a Pod, can move to another node (spec.nodeName is mutable): the old node's
    // reports racing its tombstone are stale too.
    if (refusal.kind === 'PodUnknown' || refusal.kind === 'DeviceUnknown' || refusal.kind === 'DeviceNotBound') {
      this.#log.info({ node: entry.name, reason: refusal.reason }, 'up event about an object the cloud no longer knows; applied as nothing');
      return;
    }
    this.#violation(entry, refusal.reason);
  }

  #down(entry: NodeEntry, step: (state: DownPlannerState) => Transition<DownPlannerState, DownPlannerDecision>): void {
    const { state, decisions } = step(entry.planner);
    entry.planner = state;
    const session = entry.session;
    for (const decision of decisions) entry.downQueue.push({ session, decision });
  }

  /** Runs one down decision; a promise only for the durable writes. */
  #executeDown(entry: NodeEntry, session: StreamSession | null, decision: DownPlannerDecision): void | Promise<void> {
    switch (decision.type) {
      case 'recordIntent':
        return this.options.nodeSync.recordAcked(entry.name, decision.entries);
      case 'recordAcked':
        return this.options.nodeSync.recordAcked(entry.name, decision.changes);
      case 'forgetAckedRevisions':
        return this.options.nodeSync.forgetAckedRevisions(entry.name);
      case 'send': {
        if (session === null || entry.session !== session) return;
        // The planner measured this frame with the writer, which kept its text.
        const text = this.#downWriter.take(entry.name, decision.frame, freshStamp());
        invariant(text.ok, 'a down frame the planner sends was measured as one the edge accepts');
        session.sendText(text.value, true);
        return;
      }
      case 'skipOversized': {
        const refusal = this.#downWriter.refusalOf(entry.name, decision.uid);
        if (refusal !== undefined) {
          this.#log.warn({ node: entry.name, key: decision.key, reason: refusal.reason }, 'desired object the edge would refuse; skipped');
          return;
        }
        this.#log.warn({ node: entry.name, key: decision.key, bytes: decision.bytes, frameBytesMax: decision.frameBytesMax }, 'desired object too large for one frame; skipped');
        this.options.onOversized?.(entry.name, decision.key, decision.bytes, decision.frameBytesMax);
        return;
      }
      case 'armTimer':
        return this.#arm(entry, decision.timer, decision.afterMs, () => this.#down(entry, (s) => downAckTimeoutFired(s)));
      case 'cancelTimer':
        return this.#cancel(entry, decision.timer);
      case 'resume':
        return this.#resume(entry, session, decision.reason);
    }
  }

  /** A core saw the sequence break: close the connection; the edge's next hello resumes from durable positions. */
  #resume(entry: NodeEntry, session: StreamSession | null, reason: string): void {
    this.#log.warn({ node: entry.name, reason }, 'stream resumes');
    session?.close(1002, reason);
  }

  #arm(entry: NodeEntry, name: string, afterMs: number, fire: () => void): void {
    entry.timers.arm(name, afterMs, fire);
  }

  #cancel(entry: NodeEntry, name: string): void {
    entry.timers.cancel(name);
  }
}

/**
 * A connection lives no longer than the certificate it was admitted with: at its notAfter the
 * session closes with 4403 (the edge renews before that and reconnects with the new one).
 */
function closeAtExpiry(session: StreamSession, notAfterMs: number): void {
  const check = (): void => {
    if (!session.open) return;
    const leftMs = notAfterMs - Date.now();
    if (leftMs <= 0) return session.close(Close.forbidden.code, 'client certificate expired; renew it and reconnect');
    // setTimeout holds at most 2^31-1 ms (about 24.8 days); a year-long certificate is checked again then.
    setTimeout(check, Math.min(leftMs, 2 ** 31 - 1)).unref();
  };
  check();
}

/** The error answer to a refused up event: addressed like a reply to the up frame (its msg_id as parent_msg_id). */
function upRefusalFrame(up: ReceivedUp, nodeName: string, reason: string): ErrorFrame {
  invariant(reason.length > 0, 'a refusal says why');
  const request: QueryFrame = {
    kind: 'query',
    header: { msg_id: up.msgId, timestamp: 0, sync: true },
    // An upload's topic reads as a resource only in group user, where the edge decodes it so.
    route: { source: 'websocket', group: up.resource.kind === 'eventBus' ? 'user' : 'resource', operation: 'query', resource: formatWireResource(up.resource) },
    content: null,
    target: up.resource,
  };
  return errorFrame(freshStamp(), request, { source: 'cloudhub', content: `node ${nodeName}: ${reason}` });
}
