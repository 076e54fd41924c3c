// EdgeHub: the edge end of the stream. It keeps one connection to the cloud alive (reconnecting with
// exponential back-off and full jitter), runs the hello, and glues the up sender and the down
// receiver to the edge journal, executing their decisions in order: an ack leaves only after the
// journal commit it covers resolved (synchronous=FULL), and up events resume after the cloud's upAcked.
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { invariant, type JsonValue, type Result, err, ok } from '../../kernel/index.js';
import type { NewEvent } from '../../journal/index.js';
import { keepaliveFrame, LABEL_CHARS_MAX, type Frame, type QueryFrame } from '../frames/frame.js';
import { contentProblem } from '../frames/codec.js';
import {
  acceptCloudHello,
  assertLimits,
  defaultAckPolicy,
  defaultFlowLimits,
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
  type AckPolicy,
  type CloudToEdgeFrame,
  type DesiredChange,
  type DownReceiverDecision,
  type DownReceiverState,
  type EdgeHello,
  type EdgeSyncJournal,
  type FlowLimits,
  type Transition,
  type UpEvent,
  type UpEventTooLarge,
  type UpFrame,
  type UpSenderDecision,
  type UpSenderState,
  type WrongOutboxHead,
} from '../sync/index.js';
import { PendingQueries, QUERY_TIMEOUT_MS_DEFAULT, answerQuery, type QueryError, type QueryRequest, type QueryResponder } from './requests.js';
import { StreamSession, defaultLiveness, freshStamp, type Liveness, type SessionEnd } from './session.js';
import { UpFrameWriter, atEdge, defaultUpRoute, edgeFrameOf, type UpRoute } from './wire.js';
import { byteStreamSessionOf } from './byte-streams.js';
import { CoreTimers } from './core-timers.js';

/** Reconnect back-off: exponential from min to max, each delay drawn uniformly from its upper half (jitter). */
export interface Backoff {
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

export const defaultBackoff: Backoff = { delayMsMin: 500, delayMsMax: 30_000 };

export interface EdgeHubOptions {
  readonly nodeName: string;
  /** Opens one stream connection (connectMtlsStream in production). */
  readonly connect: () => Promise<Result<WebSocket, { readonly message: string }>>;
  readonly journal: EdgeSyncJournal;
  readonly limits?: FlowLimits;
  readonly ackPolicy?: AckPolicy;
  readonly liveness?: Liveness;
  readonly backoff?: Backoff;
  /** Where each up event goes on the wire; by default `data.resource`, else the node. */
  readonly upRoute?: (event: UpEvent) => UpRoute;
  /** Answers queries the cloud sends (the service bus); refused when absent. */
  readonly respond?: QueryResponder;
  /**
   * Byte streams the cloud asks for (kubectl logs/exec): accepts the request with a function that
   * takes the stream's own websocket, or refuses with a reason. Refused when absent.
   */
  readonly byteStream?: (request: JsonValue, query: QueryFrame) => Result<(socket: WebSocket) => void, string>;
  /** Opens the byte-stream connection for a session (connectMtlsStream with byteStreamSession). */
  readonly connectByteStream?: (session: string) => Promise<Result<WebSocket, { readonly message: string }>>;
  /**
   * After a full resync the cloud may lack history the edge compacted: these events report the
   * edge's current state, and go up first (PROTOCOL.md, handshake `reportState`).
   */
  readonly stateReport?: () => readonly UpEvent[];
  /**
   * Acknowledged outbox entries kept before they are compacted on their own (default 4096): the
   * outbox stays bounded without anyone calling compactOutbox, in batches, not one delete per ack.
   */
  readonly outboxCompactAfterEntries?: number;
  /** Structured log lines (pino-compatible); silent when absent. */
  readonly log?: HubLog;
}

/** The subset of a pino logger the hubs use. */
export interface HubLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** `{"kind":"up","seq":…,"event":{"type":…,"data":…}}` around the type and data, at most. */
const UP_MESSAGE_OVERHEAD_BYTES = 64;

/** Acknowledged outbox entries kept before the hub compacts them on its own. */
const OUTBOX_COMPACT_AFTER_ENTRIES_DEFAULT = 4096;

/** Bytes the beehive header and route add to an up event's sync message, at most (resource ≤ 512, ids ≤ 128). */
export const UP_FRAME_ENVELOPE_BYTES_MAX = 2048;

const silentLog: HubLog = { info: () => undefined, warn: () => undefined };

export type ReportError =
  | UpEventTooLarge
  | WrongOutboxHead
  | { readonly kind: 'JournalWriteFailed'; readonly message: string }
  /** The event's data breaks the frame rules (depth, `__proto__`, a number out of range): never journaled. */
  | { readonly kind: 'UpEventUndecodable'; readonly type: string; readonly reason: string };

/** What `edgehive status` shows of the edge's stream. */
export interface EdgeHubStatus {
  readonly phase: 'down' | 'connecting' | 'hello' | 'linked' | 'stopped';
  readonly clusterId: string | null;
  readonly outboxHead: number;
  readonly outboxFloor: number;
  /** The cloud's last cumulative ack of up events on the current link (null when unlinked). */
  readonly upAcked: number | null;
  readonly upInFlight: number;
  readonly heldObjects: number;
  readonly lastClose: SessionEnd | null;
  readonly reconnects: number;
}

/**
 * The edge end of the stream.
 * @example
 * const hub = await EdgeHub.open({ nodeName, connect: () => connectMtlsStream({ cloudUrl, credentials }), journal });
 * hub.start();
 * await hub.report([{ type: 'PodStarted.v1', data: { resource: 'default/podstatus/web', phase: 'Running' } }]);
 */
export class EdgeHub extends EventEmitter<{
  /** The hello succeeded: how (resume or full resync) and with which cluster (the uid of kube-system). */
  linked: [mode: 'resume' | 'full', clusterId: string];
  unlinked: [end: SessionEnd];
  desired: [changes: readonly DesiredChange[]];
  /** The cloud refused an up event (authorization): the reason; the event counts as applied as nothing. */
  refused: [reason: string];
}> {
  #sender: UpSenderState;
  #receiver: DownReceiverState;
  #session: StreamSession | null = null;
  #phase: EdgeHubStatus['phase'] = 'down';
  #hello: EdgeHello | null = null;
  #helloTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #timers = new CoreTimers();
  #delayMs: number;
  #writes: Promise<unknown> = Promise.resolve();
  #queries = new PendingQueries();
  #lastClose: SessionEnd | null = null;
  #reconnects = 0;
  /** An automatic outbox compaction is in flight (one at a time). */
  #compacting = false;
  readonly #limits: FlowLimits;
  readonly #ack: AckPolicy;
  readonly #liveness: Liveness;
  readonly #backoff: Backoff;
  readonly #route: (event: UpEvent) => UpRoute;
  readonly #log: HubLog;
  readonly #dataJson = new WeakMap<object, string>();
  readonly #upWriter: UpFrameWriter;
  /**
   * The up sender measures an event as its sync message; the wire frame adds the beehive header and
   * route (a resource string is at most 512 characters), so the sender's limit leaves room for them.
   */
  readonly #upSenderOptions: { readonly limits: FlowLimits; readonly frameBytes: (frame: UpFrame) => number };

  private constructor(
    private readonly options: EdgeHubOptions,
    private readonly journalId: string,
    durable: Awaited<ReturnType<EdgeSyncJournal['loadSyncState']>>,
  ) {
    super();
    this.#limits = options.limits ?? defaultFlowLimits;
    this.#ack = options.ackPolicy ?? defaultAckPolicy;
    assertLimits(this.#limits, this.#ack);
    this.#liveness = options.liveness ?? defaultLiveness;
    this.#backoff = options.backoff ?? defaultBackoff;
    invariant(this.#backoff.delayMsMin > 0 && this.#backoff.delayMsMax >= this.#backoff.delayMsMin, 'back-off bounds are ordered');
    this.#delayMs = this.#backoff.delayMsMin;
    this.#route = options.upRoute ?? defaultUpRoute(options.nodeName);
    this.#log = options.log ?? silentLog;
    this.#upWriter = new UpFrameWriter(options.nodeName, this.#route);
    this.#upSenderOptions = { limits: { ...this.#limits, frameBytesMax: this.#limits.frameBytesMax - UP_FRAME_ENVELOPE_BYTES_MAX }, frameBytes: this.#measureUp };
    this.#sender = startUpSender({ head: durable.outboxHead, floor: durable.outboxFloor });
    this.#receiver = startDownReceiver({ clusterId: durable.clusterId, held: durable.held });
  }

  /** Loads the sync state from the journal; call start() to connect. */
  static async open(options: EdgeHubOptions): Promise<EdgeHub> {
    const durable = await options.journal.loadSyncState();
    return new EdgeHub(options, durable.journalId, durable);
  }

  start(): void {
    invariant(this.#phase === 'down', 'start() is called once');
    this.#connect();
  }

  /**
   * Journals `journalEvents` and appends `events` to the outbox in one durable transaction, then
   * sends them when the window allows. Resolves with the last outbox seq once committed.
   */
  report(events: readonly UpEvent[], journalEvents: readonly NewEvent[] = []): Promise<Result<number, ReportError>> {
    for (const event of events) {
      if (event.type === '' || event.type.length > LABEL_CHARS_MAX) {
        return Promise.resolve(err({ kind: 'UpEventUndecodable' as const, type: event.type.slice(0, 64), reason: `the event type must be 1-${LABEL_CHARS_MAX} characters` }));
      }
      const problem = contentProblem(event.data);
      if (problem !== undefined) return Promise.resolve(err({ kind: 'UpEventUndecodable' as const, type: event.type, reason: problem.reason }));
    }
    const prepared = prepareOutboxCommit(this.#sender, events, this.#upSenderOptions);
    if (!prepared.ok) return Promise.resolve(err({ ...prepared.error, frameBytesMax: this.#limits.frameBytesMax }));
    this.#sender = prepared.value.state;
    const commit = prepared.value.commit;
    return this.#serially(async () => {
      let result: Result<void, WrongOutboxHead>;
      try {
        result = await this.options.journal.commitWithOutbox(journalEvents, commit);
      } catch (error) {
        this.#sender = outboxCommitFailed(this.#sender);
        return err({ kind: 'JournalWriteFailed' as const, message: (error as Error).message });
      }
      if (!result.ok) {
        this.#sender = outboxCommitFailed(this.#sender);
        return err(result.error);
      }
      this.#up((s) => outboxCommitted(s, commit, this.#upSenderOptions));
      return ok(commit.after + commit.entries.length);
    });
  }

  /** Asks the cloud (ConfigMap/Secret on demand, service bus); retried after reconnects until the timeout. */
  query(request: QueryRequest, timeoutMs = QUERY_TIMEOUT_MS_DEFAULT): Promise<Result<JsonValue, QueryError>> {
    return this.#queries.ask(request, timeoutMs, (frame) => this.#phase === 'linked' && (this.#session?.send(frame) ?? false));
  }

  /** Removes outbox entries the cloud acknowledged (bounded journal); also done on its own, see outboxCompactAfterEntries. */
  compactOutbox(): Promise<void> {
    const planned = planOutboxCompaction(this.#sender);
    if (planned === undefined) return Promise.resolve();
    this.#sender = planned.state;
    return this.#serially(() => this.options.journal.compactOutbox(planned.through));
  }

  #upAcked(upTo: number): void {
    this.#up((s) => upAckReceived(s, upTo, this.#upSenderOptions));
    this.#compactWhenDue();
  }

  /** Compacts once enough acknowledged entries piled up; acks that arrive meanwhile are looked at when it ends. */
  #compactWhenDue(): void {
    if (this.#compacting || this.#phase === 'stopped') return;
    const planned = planOutboxCompaction(this.#sender);
    if (planned === undefined || planned.through - this.#sender.floor < (this.options.outboxCompactAfterEntries ?? OUTBOX_COMPACT_AFTER_ENTRIES_DEFAULT)) return;
    this.#compacting = true;
    void this.compactOutbox().then(
      () => {
        this.#compacting = false;
        this.#compactWhenDue();
      },
      (error: unknown) => {
        // Retried at the next ack, not at once: a journal that failed now will likely fail again.
        this.#compacting = false;
        this.#log.warn({ node: this.options.nodeName, error: (error as Error).message }, 'outbox compaction failed; retried after the next ack');
      },
    );
  }

  status(): EdgeHubStatus {
    const link = this.#sender.link;
    return {
      phase: this.#phase,
      clusterId: this.#receiver.clusterId,
      outboxHead: this.#sender.head,
      outboxFloor: this.#sender.floor,
      upAcked: link?.ackedUpTo ?? null,
      upInFlight: link?.window.length ?? 0,
      heldObjects: this.#receiver.held.size,
      lastClose: this.#lastClose,
      reconnects: this.#reconnects,
    };
  }

  /** Closes the connection, stops reconnecting and waits for journal writes in flight. */
  async stop(): Promise<void> {
    this.#phase = 'stopped';
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#helloTimer);
    this.#timers.cancelAll();
    this.#session?.close(1001, 'edge stopping');
    this.#queries.failAll('the edge hub stopped');
    await this.#writes.catch(() => undefined);
  }

  /** Drops the current connection without a close handshake, as a network failure would (tests, diagnostics). */
  dropConnection(): void {
    this.#session?.terminate();
  }

  /**
   * Measures an up event as the outbox needs it, keeping its data's JSON for the send that usually
   * follows at once (a WeakMap: an entry read back from the journal is a new object and is written again).
   */
  #measureUp = (frame: UpFrame): number => {
    const json = JSON.stringify(frame.event.data) ?? 'null';
    if (typeof frame.event.data === 'object' && frame.event.data !== null) this.#dataJson.set(frame.event.data, json);
    return Buffer.byteLength(json, 'utf8') + Buffer.byteLength(frame.event.type, 'utf8') + UP_MESSAGE_OVERHEAD_BYTES;
  };

  /**
   * The JSON kept at report time, forgotten once used: the outbox entry may live until compaction,
   * and a string held that long is promoted to the old generation, which every scavenge then pays
   * for. A resend reads the entry back from the journal and writes it again.
   */
  #takeDataJson(data: object): string | undefined {
    const json = this.#dataJson.get(data);
    if (json !== undefined) this.#dataJson.delete(data);
    return json;
  }

  #connect(): void {
    if (this.#phase === 'stopped') return;
    this.#phase = 'connecting';
    void this.options.connect().then((opened) => {
      if (this.#phase === 'stopped') {
        if (opened.ok) opened.value.terminate();
        return;
      }
      if (!opened.ok) {
        this.#log.warn({ node: this.options.nodeName, error: opened.error.message }, 'stream connect failed');
        return this.#reconnectLater();
      }
      this.#linkSocket(opened.value);
    });
  }

  #linkSocket(socket: WebSocket): void {
    const nodeName = this.options.nodeName;
    const session = new StreamSession(socket, this.#limits.frameBytesMax, this.#liveness, {
      frame: (frame) => this.#received(session, frame),
      closed: (end) => this.#closed(session, end),
      keepaliveDue: () => keepaliveFrame(freshStamp(), { from: 'edge', nodeName }),
    });
    this.#session = session;
    this.#phase = 'hello';
    const hello = edgeHello({ nodeName, journalId: this.journalId, clusterId: this.#receiver.clusterId, upFloor: this.#sender.floor, outboxHead: this.#sender.head });
    this.#hello = hello;
    session.send(edgeFrameOf(hello, nodeName, freshStamp(), this.#route));
    // A cloud that never answers the hello is as dead as a silent peer.
    this.#helloTimer = setTimeout(() => this.#phase === 'hello' && session.close(1002, 'no hello from the cloud'), this.#liveness.deadPeerMs);
    this.#helloTimer.unref();
  }

  #received(session: StreamSession, frame: Frame): void {
    if (session !== this.#session) return;
    const inbound = atEdge(frame);
    if (!inbound.ok) return session.close(1002, inbound.error.reason);
    const value = inbound.value;
    if (value.kind === 'other') return this.#other(session, value.frame);
    if (value.kind === 'keepalive') return;
    const message = value.message;
    if (this.#phase === 'hello') return this.#handshake(session, message);
    if (value.ack !== undefined) this.#upAcked(value.ack);
    switch (message.kind) {
      case 'hello':
        return session.close(1002, 'a second hello');
      case 'ack':
        return this.#upAcked(message.upTo);
      case 'desired':
      case 'tombstone':
      case 'synced':
        return this.#down((s) => downFrameReceived(s, message, this.#ack));
    }
  }

  #other(session: StreamSession, frame: Frame): void {
    if (this.#phase !== 'linked') return session.close(1002, `expected hello as the first frame, got ${frame.kind}`);
    if (frame.kind === 'response' || frame.kind === 'error') {
      if (this.#queries.answered(frame) || frame.kind !== 'error') return;
      this.#log.warn({ node: this.options.nodeName, reason: frame.content }, 'cloud refused an up event');
      this.emit('refused', frame.content);
      return;
    }
    if (frame.kind !== 'query') return;
    const query: QueryFrame = frame;
    const byteStream = byteStreamSessionOf(query);
    if (byteStream !== undefined) {
      void answerQuery(query, 'servicebus', () => this.#openByteStream(byteStream.session, byteStream.request, query)).then((answer) => session.send(answer));
      return;
    }
    const respond = this.options.respond ?? (() => Promise.resolve(err(`edge ${this.options.nodeName} answers no queries`)));
    void answerQuery(query, 'servicebus', respond).then((answer) => session.send(answer));
  }

  /** Accepts a byte stream, opens its own connection, and hands the socket to the accepting function. */
  async #openByteStream(session: string, request: JsonValue, query: QueryFrame): Promise<Result<JsonValue, string>> {
    const accept = this.options.byteStream?.(request, query) ?? err(`edge ${this.options.nodeName} serves no byte streams`);
    if (!accept.ok) return accept;
    if (this.options.connectByteStream === undefined) return err(`edge ${this.options.nodeName} cannot open byte-stream connections`);
    const opened = await this.options.connectByteStream(session);
    if (!opened.ok) return err(`byte stream connection failed: ${opened.error.message}`);
    accept.value(opened.value);
    return ok(null);
  }

  #handshake(session: StreamSession, message: CloudToEdgeFrame): void {
    const agreed = acceptCloudHello(this.#hello!, message);
    if (!agreed.ok) {
      this.#log.warn({ node: this.options.nodeName, reason: agreed.error.reason }, 'cloud hello refused');
      return session.close(agreed.error.closeCode, agreed.error.reason);
    }
    clearTimeout(this.#helloTimer);
    this.#phase = 'linked';
    this.#delayMs = this.#backoff.delayMsMin;
    const { mode, clusterId, upAcked, reportState } = agreed.value;
    this.#log.info({ node: this.options.nodeName, mode, clusterId, upAcked }, 'stream linked');
    this.#down((s) => downReceiverLinkUp(s, mode, clusterId));
    this.#up((s) => upLinkUp(s, upAcked, this.#upSenderOptions));
    this.#queries.resendAll((frame) => session.send(frame));
    if (reportState && this.options.stateReport !== undefined) {
      const events = this.options.stateReport();
      if (events.length > 0) void this.report(events);
    }
    this.emit('linked', mode, clusterId);
  }

  #closed(session: StreamSession, end: SessionEnd): void {
    if (session !== this.#session) return;
    this.#session = null;
    this.#lastClose = end;
    clearTimeout(this.#helloTimer);
    this.#up((s) => upLinkDown(s));
    this.#down((s) => downReceiverLinkDown(s));
    this.#log.info({ node: this.options.nodeName, code: end.code, reason: end.reason, local: end.local }, 'stream closed');
    this.emit('unlinked', end);
    if (this.#phase === 'stopped') return;
    this.#phase = 'down';
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    if (this.#phase === 'stopped') return;
    this.#phase = 'down';
    const delay = this.#delayMs / 2 + Math.random() * (this.#delayMs / 2);
    this.#delayMs = Math.min(this.#backoff.delayMsMax, this.#delayMs * 2);
    this.#reconnects += 1;
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #up(step: (state: UpSenderState) => Transition<UpSenderState, UpSenderDecision>): void {
    const { state, decisions } = step(this.#sender);
    this.#sender = state;
    for (const decision of decisions) this.#executeUp(decision);
  }

  #executeUp(decision: UpSenderDecision): void {
    switch (decision.type) {
      case 'send': {
        // Up events were checked when reported, and their size measured for the outbox with room for the envelope.
        const data = decision.frame.event.data;
        const json = typeof data === 'object' && data !== null ? this.#takeDataJson(data) : undefined;
        const sent =
          json === undefined
            ? this.#session?.send(edgeFrameOf(decision.frame, this.options.nodeName, freshStamp(), this.#route), true)
            : this.#session?.sendText(this.#upWriter.write(decision.frame, freshStamp(), json), true);
        invariant(sent !== false || !this.#session?.open, 'an up frame measured at report time fits in a frame');
        return;
      }
      case 'readOutbox': {
        const { after, framesMax, bytesMax } = decision;
        // Reads wait behind writes in flight, so they see every entry the sender counts as committed.
        void this.#serially(() => this.options.journal.readOutbox(after, framesMax, bytesMax)).then((entries) =>
          this.#up((s) => outboxRead(s, after, entries.filter((e) => e.seq <= s.head), this.#upSenderOptions)),
        );
        return;
      }
      case 'armTimer':
        return this.#arm(decision.timer, decision.afterMs, () => this.#up((s) => upAckTimeoutFired(s)));
      case 'cancelTimer':
        return this.#cancel(decision.timer);
      case 'resume':
        return this.#resume(decision.reason);
    }
  }

  #down(step: (state: DownReceiverState) => Transition<DownReceiverState, DownReceiverDecision>): void {
    const { state, decisions } = step(this.#receiver);
    this.#receiver = state;
    for (const decision of decisions) this.#executeDown(decision);
  }

  #executeDown(decision: DownReceiverDecision): void {
    switch (decision.type) {
      case 'commit': {
        const { commitId, changes, clusterId } = decision;
        void this.#serially(() => this.options.journal.commitDesired(changes, clusterId)).then(
          () => {
            this.#down((s) => downCommitted(s, commitId, this.#ack));
            if (changes.length > 0) this.emit('desired', changes);
          },
          // A failed commit must never be acknowledged: stop the link; the cloud resends from `acked`.
          (error: Error) => {
            this.#log.warn({ node: this.options.nodeName, error: error.message }, 'desired commit failed');
            void this.stop();
          },
        );
        return;
      }
      case 'send':
        // The down receiver sends acks only: numbers the builder checks, nothing the cloud could refuse.
        this.#session?.send(edgeFrameOf(decision.frame, this.options.nodeName, freshStamp(), this.#route), true);
        return;
      case 'armTimer':
        return this.#arm(decision.timer, decision.afterMs, () => this.#down((s) => downAckDelayFired(s)));
      case 'cancelTimer':
        return this.#cancel(decision.timer);
      case 'resume':
        return this.#resume(decision.reason);
    }
  }

  /** A core saw the sequence break: close and reconnect; the handshake resumes from durable positions. */
  #resume(reason: string): void {
    this.#log.warn({ node: this.options.nodeName, reason }, 'stream resumes');
    this.#session?.close(1002, reason);
  }

  /** Journal work runs one at a time, in the order decided: commits land in order, reads see them. */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(work, work);
    this.#writes = next.catch(() => undefined);
    return next;
  }

  #arm(name: string, afterMs: number, fire: () => void): void {
    this.#timers.arm(name, afterMs, fire);
  }

  #cancel(name: string): void {
    this.#timers.cancel(name);
  }
}
