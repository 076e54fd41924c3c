// The EventStoreDB adapter of the event-store port, for cloud hosts that outgrow one process
// (DESIGN.md "Scaling past one machine"); it keeps the SQLite adapter's rules on a shared server.
//
// How the port maps onto EventStoreDB:
// - version v is ESDB stream revision v - 1; position is the event's commit position in `$all`.
// - meta travels as the event's ESDB metadata; data as a JSON event body.
// - snapshots live in `edgehive~snapshot-<stream>` (stream metadata `maxCount: 1`).
// - compaction sets the stream's `truncateBefore` ($tb); `compactedThrough` is read back from it.
//   ESDB keeps truncated events in `$all` until a scavenge, so reads of `$all` hide them here.
// - `listStreams` reads the index stream `edgehive~streams`, written before any append that may
//   create a stream, so a crash leaves at most a spare entry, never a missing one.
// Streams starting with `$` (system) or `edgehive~` (bookkeeping) are never journal streams.
import {
  ANY,
  AccessDeniedError,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  metastreamOf,
  type AllStreamRecordedEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type JSONType,
  type ReadPosition,
  type ReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { Observable, Subject, defer, takeUntil } from 'rxjs';
import { err, invariant, isJsonObject, ok, type JsonValue, type Result } from '../kernel/index.js';
import {
  eventsPerAppendMax,
  type AppendResult,
  type CompactionReport,
  type EventMeta,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type PositionRange,
  type ReadRange,
  type RecordedEvent,
  type SnapshotRecord,
  type StreamId,
  type StreamSummary,
} from './event-store.port.js';
import { followLog } from './follow-log.js';

/** Events asked for by one read of a stream or of `$all`; bounds memory per read. */
const pageEventsMax = 500;
/** Concurrent per-stream lookups (summaries, truncation points) in flight at once. */
const lookupsInFlightMax = 16;
/** Streams whose truncation point one `$all` reader remembers before forgetting them all. */
const truncationCacheStreamsMax = 10_000;
/** Streams this process remembers as indexed, so `'any'` appends skip the index write. */
const indexedCacheStreamsMax = 10_000;
/** Attempts at a conditional write of snapshot or stream metadata that races other writers. */
const conditionalWriteAttemptsMax = 5;
const openDeadlineDefaultMs = 5_000;

const bookkeepingPrefix = 'edgehive~';
const streamIndexStream = `${bookkeepingPrefix}streams`;
const snapshotStreamOf = (stream: StreamId): string => `${bookkeepingPrefix}snapshot-${stream}`;
const streamIndexedType = 'StreamIndexed.v1';
const snapshotTakenType = 'SnapshotTaken.v1';

/** Why `openEsdbJournal` could not hand out a store; `url` never carries credentials. */
export type EsdbOpenError =
  | { readonly kind: 'EsdbBadConnectionString'; readonly url: string; readonly detail: string }
  | { readonly kind: 'EsdbUnreachable'; readonly url: string; readonly detail: string }
  | { readonly kind: 'EsdbAccessDenied'; readonly url: string; readonly detail: string };

export interface EsdbJournalOptions {
  /** How long opening waits for the server's first answer before reporting it unreachable (default 5000). */
  readonly openDeadlineMs?: number;
}

/** One sentence a person can act on. */
export function describeEsdbOpenError(error: EsdbOpenError): string {
  switch (error.kind) {
    case 'EsdbBadConnectionString':
      return `${error.url} is not an EventStoreDB connection string: ${error.detail}`;
    case 'EsdbUnreachable':
      return `EventStoreDB at ${error.url} did not answer: ${error.detail}`;
    case 'EsdbAccessDenied':
      return `EventStoreDB at ${error.url} refused the credentials: ${error.detail}`;
  }
}

/**
 * Connects to EventStoreDB and proves the server answers (one small read under a deadline)
 * before handing out a store. Errors are values: a bad string, an unreachable server or refused
 * credentials come back typed. Reading `$all` (readAll, subscribe) needs an admin user on secure
 * clusters, and the server must be 22.10 or newer (stream reads report positions).
 * @example
 * const opened = await openEsdbJournal('esdb://localhost:2113?tls=false');
 * if (!opened.ok) console.error(describeEsdbOpenError(opened.error));
 */
export async function openEsdbJournal(
  connectionString: string,
  options: EsdbJournalOptions = {},
): Promise<Result<EsdbEventStore, EsdbOpenError>> {
  const url = withoutCredentials(connectionString);
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(connectionString);
  } catch (error) {
    return err({ kind: 'EsdbBadConnectionString', url, detail: messageOf(error) });
  }
  const failure = await probeServer(client, options.openDeadlineMs ?? openDeadlineDefaultMs);
  if (failure !== undefined) {
    await client.dispose();
    return err({ ...failure, url });
  }
  return ok(new EsdbEventStore(client));
}

type ProbeFailure = { readonly kind: 'EsdbUnreachable' | 'EsdbAccessDenied'; readonly detail: string };

async function probeServer(client: EventStoreDBClient, deadlineMs: number): Promise<ProbeFailure | undefined> {
  invariant(deadlineMs > 0, 'an open deadline is positive');
  // Reads carry no gRPC deadline in this client, so the deadline is ours.
  const read = client.readStream(streamIndexStream, { fromRevision: END, maxCount: 1, direction: BACKWARDS, resolveLinkTos: false });
  const answered = drainRead(read);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  try {
    if ((await Promise.race([answered, deadline])) === 'deadline') {
      answered.catch(() => undefined);
      void read.cancel();
      return { kind: 'EsdbUnreachable', detail: `no answer within ${deadlineMs} ms` };
    }
    return undefined;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    if (error instanceof AccessDeniedError) return { kind: 'EsdbAccessDenied', detail: messageOf(error) };
    return { kind: 'EsdbUnreachable', detail: messageOf(error) };
  } finally {
    clearTimeout(timer);
  }
}

async function drainRead(read: AsyncIterable<unknown>): Promise<'answered'> {
  for await (const _event of read) {
    // The probe needs only an answer, not the event.
  }
  return 'answered';
}

/**
 * The journal on EventStoreDB. Same rules as `SqliteEventStore`; declared differences: positions
 * are sparse (ESDB log offsets), `listStreams`/`compact` visit every indexed stream (a few round
 * trips each), and `$all` reads look up each distinct stream's truncation point once per read.
 */
export class EsdbEventStore implements EventStore {
  readonly #client: EventStoreDBClient;
  readonly #closing = new Subject<void>();
  readonly #indexed = new Set<StreamId>();
  #closed = false;

  constructor(client: EventStoreDBClient) {
    this.#client = client;
  }

  async append(stream: StreamId, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult> {
    invariant(!this.#closed, 'append on a closed journal');
    invariant(isJournalStream(stream), 'journal streams are neither system ($) nor bookkeeping streams');
    invariant(events.length > 0, 'an append carries at least one event');
    invariant(events.length <= eventsPerAppendMax, 'append batch bounded');
    invariant(expected === 'any' || (Number.isSafeInteger(expected) && expected >= 0), 'expected version is never negative');
    // A JSON round trip, as the other adapters do: a payload that is not JSON fails its own append.
    const copies = events.map((event) => JSON.parse(JSON.stringify(event)) as NewEvent);
    if (expected === 0 || expected === 'any') await this.#indexStream(stream);
    try {
      const result = await this.#client.appendToStream(stream, copies.map(toEventData), {
        expectedRevision: toExpectedRevision(expected),
      });
      if (!result.success) {
        // Only with throwOnAppendFailure=false in the connection string; the client's revision is unreliable then.
        return err({ kind: 'WrongExpectedVersion', stream, expected, actual: await this.#headVersion(stream) });
      }
      if (result.position === undefined) throw new Error(`EventStoreDB reported no position for an append to ${stream}`);
      return ok({ nextVersion: Number(result.nextExpectedRevision) + 1, position: result.position.commit });
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      return err({ kind: 'WrongExpectedVersion', stream, expected, actual: versionAfter(error.actualVersion) });
    }
  }

  async *readStream(stream: StreamId, range: ReadRange = {}): AsyncIterable<RecordedEvent> {
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    let next = Math.max(range.from ?? 1, 1);
    while (next <= to) {
      const count = Math.min(pageEventsMax, to - next + 1);
      // A truncated stream answers from its first kept revision, so versions may jump past `to`.
      const page = await this.#readRaw(stream, { fromRevision: BigInt(next - 1), maxCount: count, direction: FORWARDS });
      for (const raw of page) {
        const event = journalEventOrThrow(raw);
        if (event.version > to) return;
        yield event;
      }
      const last = page.at(-1);
      if (page.length < count || last === undefined) return;
      next = Number(last.revision) + 2;
    }
  }

  async *readAll(range: PositionRange = {}): AsyncIterable<RecordedEvent> {
    invariant(!this.#closed, 'readAll on a closed journal');
    const truncation = truncationView((stream) => this.#truncateBefore(stream));
    let cursor: AllCursor = { after: (range.fromPosition ?? 1n) - 1n, afterIsEvent: false };
    for (;;) {
      const batch = await this.#readAfter(cursor, pageEventsMax, truncation);
      yield* batch;
      const last = batch.at(-1);
      if (batch.length < pageEventsMax || last === undefined) return;
      cursor = { after: last.position, afterIsEvent: true };
    }
  }

  subscribe(range: PositionRange = {}): Observable<RecordedEvent> {
    invariant(!this.#closed, 'subscribe on a closed journal');
    const fromPosition = range.fromPosition ?? 1n;
    // Per subscriber: its own truncation cache and knowledge of which positions are real events.
    return defer(() => {
      const truncation = truncationView((stream) => this.#truncateBefore(stream));
      let lastDelivered: bigint | undefined;
      return followLog({
        after: fromPosition - 1n,
        readBatch: async (after, limit) => {
          const batch = await this.#readBatchWhileOpen({ after, afterIsEvent: after === lastDelivered }, limit, truncation);
          lastDelivered = batch.at(-1)?.position ?? lastDelivered;
          return batch;
        },
        changes: this.#liveChanges(),
        batchEventsMax: pageEventsMax,
      });
    });
  }

  async saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    invariant(isJournalStream(snapshot.stream), 'snapshots belong to journal streams');
    invariant(snapshot.version >= 1, 'a snapshot covers at least one event');
    const head = await this.#headVersion(snapshot.stream);
    invariant(snapshot.version <= head, 'a snapshot covers recorded events only');
    const data = JSON.parse(JSON.stringify(snapshot)) as SnapshotRecord;
    const snapshotStream = snapshotStreamOf(snapshot.stream);
    for (let attempt = 1; attempt <= conditionalWriteAttemptsMax; attempt += 1) {
      const [current] = await this.#readRaw(snapshotStream, { fromRevision: END, maxCount: 1, direction: BACKWARDS });
      // As in SQLite, an older snapshot never replaces a newer one.
      if (current !== undefined && snapshotOrThrow(current).version > snapshot.version) return;
      if (current === undefined) await this.#client.setStreamMetadata(snapshotStream, { maxCount: 1 }, { expectedRevision: ANY });
      const written = await this.#appendIfAt(
        snapshotStream,
        jsonEvent({ type: snapshotTakenType, data: data as unknown as JSONType }),
        current?.revision ?? NO_STREAM,
      );
      if (written) return;
    }
    throw new Error(`snapshot of ${snapshot.stream} kept changing under us (${conditionalWriteAttemptsMax} attempts)`);
  }

  async loadSnapshot(stream: StreamId): Promise<SnapshotRecord | undefined> {
    const [current] = await this.#readRaw(snapshotStreamOf(stream), { fromRevision: END, maxCount: 1, direction: BACKWARDS });
    return current === undefined ? undefined : snapshotOrThrow(current);
  }

  async streamSummary(stream: StreamId): Promise<StreamSummary | undefined> {
    const [head, compactedThrough] = await Promise.all([this.#headVersion(stream), this.#truncateBefore(stream)]);
    return head === 0 ? undefined : { stream, version: head, compactedThrough };
  }

  /** Reads the whole stream index (O(index entries)), then two small reads per stream; sorted by name. */
  async *listStreams(): AsyncIterable<StreamSummary> {
    const names = await this.#indexedStreamNames();
    for (let i = 0; i < names.length; i += lookupsInFlightMax) {
      const summaries = await Promise.all(names.slice(i, i + lookupsInFlightMax).map((name) => this.streamSummary(name)));
      for (const summary of summaries) if (summary !== undefined) yield summary;
    }
  }

  /**
   * Sets each covered stream's `truncateBefore`. Stream reads hide the history at once; the
   * server frees the disk only on a scavenge. `bytesBefore`/`bytesAfter` measure the history this
   * compaction examined (ESDB has no cheap size of the whole log); their difference is what was removed.
   */
  async compact(options: { readonly floorPosition?: bigint } = {}): Promise<CompactionReport> {
    invariant(!this.#closed, 'compact on a closed journal');
    let streamsCompacted = 0;
    let eventsRemoved = 0;
    let bytesBefore = 0;
    let bytesAfter = 0;
    for await (const summary of this.listStreams()) {
      const outcome = await this.#compactStream(summary, options.floorPosition);
      bytesBefore += outcome.bytesExamined;
      bytesAfter += outcome.bytesExamined - outcome.bytesRemoved;
      if (outcome.eventsRemoved > 0) streamsCompacted += 1;
      eventsRemoved += outcome.eventsRemoved;
    }
    return { streamsCompacted, eventsRemoved, bytesBefore, bytesAfter };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.next();
    this.#closing.complete();
    await this.#client.dispose();
  }

  async #indexStream(stream: StreamId): Promise<void> {
    if (this.#indexed.has(stream)) return;
    // Written before the append: a crash in between leaves a spare entry, which listStreams skips.
    await this.#client.appendToStream(streamIndexStream, jsonEvent({ type: streamIndexedType, data: { stream } }), {
      expectedRevision: ANY,
    });
    if (this.#indexed.size >= indexedCacheStreamsMax) this.#indexed.clear();
    this.#indexed.add(stream);
  }

  async #indexedStreamNames(): Promise<StreamId[]> {
    const names = new Set<StreamId>();
    let fromRevision = 0n;
    for (;;) {
      const page = await this.#readRaw(streamIndexStream, { fromRevision, maxCount: pageEventsMax, direction: FORWARDS });
      for (const entry of page) {
        const name = indexedStreamOf(entry);
        if (name !== undefined) names.add(name);
      }
      const last = page.at(-1);
      if (page.length < pageEventsMax || last === undefined) break;
      fromRevision = last.revision + 1n;
    }
    // Code-unit order: SQLite's BINARY order for every name outside the astral planes.
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Appends at an expected revision; false when another writer got there first. */
  async #appendIfAt(stream: string, event: EventData, expectedRevision: AppendExpectedRevision): Promise<boolean> {
    try {
      return (await this.#client.appendToStream(stream, event, { expectedRevision })).success;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }

  async #readRaw(stream: string, options: ReadStreamOptions): Promise<EsdbRecordedEvent[]> {
    const out: EsdbRecordedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(stream, { ...options, resolveLinkTos: false })) {
        if (resolved.event !== undefined) out.push(resolved.event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  }

  async #headVersion(stream: StreamId): Promise<number> {
    const [last] = await this.#readRaw(stream, { fromRevision: END, maxCount: 1, direction: BACKWARDS });
    return last === undefined ? 0 : Number(last.revision) + 1;
  }

  async #readMetadata(stream: StreamId): Promise<{ readonly raw: Record<string, unknown>; readonly revision?: bigint }> {
    const [last] = await this.#readRaw(metastreamOf(stream), { fromRevision: END, maxCount: 1, direction: BACKWARDS });
    if (last === undefined) return { raw: {} };
    return { raw: last.isJson && isJsonObject(last.data) ? last.data : {}, revision: last.revision };
  }

  /** The stream's `$tb`: revisions below it are hidden, so it is also the last compacted version. */
  async #truncateBefore(stream: StreamId): Promise<number> {
    return truncateBeforeOf((await this.#readMetadata(stream)).raw);
  }

  /** Raises `$tb` to `through`, keeping the rest of the metadata; the previous `$tb`, or undefined if it was already there. */
  async #advanceTruncation(stream: StreamId, through: number): Promise<number | undefined> {
    for (let attempt = 1; attempt <= conditionalWriteAttemptsMax; attempt += 1) {
      const { raw, revision } = await this.#readMetadata(stream);
      const previous = truncateBeforeOf(raw);
      if (previous >= through) return undefined;
      const kept = Object.fromEntries(Object.entries(raw).filter(([key]) => key !== '$tb'));
      const written = await this.#setMetadataIfAt(stream, { ...kept, truncateBefore: through }, revision ?? NO_STREAM);
      if (written) return previous;
    }
    throw new Error(`metadata of ${stream} kept changing under compaction (${conditionalWriteAttemptsMax} attempts)`);
  }

  async #setMetadataIfAt(stream: StreamId, metadata: Record<string, unknown>, expectedRevision: AppendExpectedRevision): Promise<boolean> {
    try {
      return (await this.#client.setStreamMetadata(stream, metadata, { expectedRevision })).success;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }

  async #compactStream(summary: StreamSummary, floorPosition: bigint | undefined): Promise<StreamCompaction> {
    const nothing: StreamCompaction = { eventsRemoved: 0, bytesExamined: 0, bytesRemoved: 0 };
    const snapshot = await this.loadSnapshot(summary.stream);
    if (snapshot === undefined) return nothing;
    // The newest event of a stream is always kept, so its version survives compaction.
    const target = Math.min(snapshot.version, summary.version - 1);
    if (target <= summary.compactedThrough) return nothing;
    const sizes = new Map<number, number>();
    let through = summary.compactedThrough;
    for await (const event of this.readStream(summary.stream, { from: summary.compactedThrough + 1, to: target })) {
      if (floorPosition !== undefined && event.position >= floorPosition) break;
      sizes.set(event.version, eventBytes(event));
      through = event.version;
    }
    const bytesExamined = sum(sizes.values());
    if (through === summary.compactedThrough) return { ...nothing, bytesExamined };
    const previous = await this.#advanceTruncation(summary.stream, through);
    if (previous === undefined) return { ...nothing, bytesExamined };
    const removed = [...sizes].filter(([version]) => version > previous);
    return { eventsRemoved: removed.length, bytesExamined, bytesRemoved: sum(removed.map(([, bytes]) => bytes)) };
  }

  async #readBatchWhileOpen(cursor: AllCursor, limit: number, truncation: TruncationView): Promise<RecordedEvent[]> {
    if (this.#closed) return [];
    try {
      return await this.#readAfter(cursor, limit, truncation);
    } catch (error) {
      // A read cut short by close() ends the subscription quietly, as SQLite's does.
      if (this.#closed) return [];
      throw error;
    }
  }

  /** Up to `limit` journal events with position > cursor.after, in position order. */
  async #readAfter(cursor: AllCursor, limit: number, truncation: TruncationView): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let floor = cursor.after;
    let page = await this.#firstPageAfter(cursor);
    for (;;) {
      const fresh = page.events.filter((event) => event.position.commit > floor);
      await truncation.prefetch(fresh.filter(isJournalRecord).map((event) => event.streamId));
      for (const raw of fresh) {
        const event = keptJournalEvent(raw, truncation);
        if (event === undefined) continue;
        out.push(event);
        if (out.length >= limit) return out;
      }
      const last = page.events.at(-1);
      if (!page.full || last === undefined) return out;
      // Any record's own position is a valid place to resume; it comes back first and is skipped.
      if (last.position.commit > floor) floor = last.position.commit;
      page = await this.#readAllPage(exactly(last.position.commit));
    }
  }

  /**
   * ESDB reads `$all` only from a record's exact position; the port allows any inclusive position.
   * Try the two exact readings (`after` is an event, or `after + 1` is) and check the first record
   * really sits there; otherwise scan from the start (cost: all of `$all` up to the position).
   */
  async #firstPageAfter(cursor: AllCursor): Promise<AllPage> {
    if (cursor.after <= 0n) return this.#readAllPage(START);
    const candidates = cursor.afterIsEvent ? [cursor.after, cursor.after + 1n] : [cursor.after + 1n, cursor.after];
    for (const position of candidates) {
      const page = await this.#tryReadAllPage(position);
      if (page !== undefined && page.events[0]?.position.commit === position) return page;
    }
    return this.#readAllPage(START);
  }

  async #tryReadAllPage(position: bigint): Promise<AllPage | undefined> {
    try {
      return await this.#readAllPage(exactly(position));
    } catch (error) {
      if (isConnectionFailure(error)) throw error;
      return undefined; // The server refused a position inside a record.
    }
  }

  async #readAllPage(fromPosition: ReadPosition): Promise<AllPage> {
    const events: AllStreamRecordedEvent[] = [];
    let records = 0;
    const read = this.#client.readAll({ fromPosition, maxCount: pageEventsMax, direction: FORWARDS, resolveLinkTos: false });
    for await (const resolved of read) {
      records += 1;
      if (resolved.event !== undefined) events.push(resolved.event);
    }
    return { events, full: records >= pageEventsMax };
  }

  /** Pulses when `$all` may have grown: on every live non-system event, and once the server confirms. */
  #liveChanges(): Observable<void> {
    return new Observable<void>((subscriber) => {
      let tornDown = false;
      const live = this.#client.subscribeToAll({ fromPosition: END, resolveLinkTos: false, filter: excludeSystemEvents() });
      // Confirmation means appends from here on will pulse; the drain it starts covers those before.
      live.on('confirmation', () => subscriber.next());
      live.on('data', () => subscriber.next());
      live.on('error', (error) => subscriber.error(error));
      live.on('end', () => {
        if (!tornDown) subscriber.error(new Error('EventStoreDB ended the live subscription to $all'));
      });
      return () => {
        tornDown = true;
        void live.unsubscribe();
      };
    }).pipe(takeUntil(this.#closing));
  }
}

interface AllCursor {
  /** Deliver events with positions above this one. */
  readonly after: bigint;
  /** `after` is known to be an event's own position (one this store delivered). */
  readonly afterIsEvent: boolean;
}

interface AllPage {
  readonly events: readonly AllStreamRecordedEvent[];
  /** The read returned as many records as it asked for, so more may follow. */
  readonly full: boolean;
}

interface StreamCompaction {
  readonly eventsRemoved: number;
  readonly bytesExamined: number;
  readonly bytesRemoved: number;
}

interface TruncationView {
  prefetch(streams: readonly StreamId[]): Promise<void>;
  /** The stream's `$tb` as last looked up (0 if never truncated). */
  before(stream: StreamId): number;
}

/** Remembers truncation points for one reader; a stale one only lets through what a race would. */
function truncationView(lookup: (stream: StreamId) => Promise<number>): TruncationView {
  const known = new Map<StreamId, number>();
  return {
    async prefetch(streams) {
      const missing = [...new Set(streams)].filter((stream) => !known.has(stream));
      if (known.size + missing.length > truncationCacheStreamsMax) known.clear();
      for (let i = 0; i < missing.length; i += lookupsInFlightMax) {
        const chunk = missing.slice(i, i + lookupsInFlightMax);
        const values = await Promise.all(chunk.map(lookup));
        chunk.forEach((stream, j) => known.set(stream, values[j] ?? 0));
      }
    },
    before: (stream) => known.get(stream) ?? 0,
  };
}

const exactly = (position: bigint): ReadPosition => ({ commit: position, prepare: position });

const isJournalStream = (stream: string): boolean =>
  stream.length > 0 && !stream.startsWith('$') && !stream.startsWith(bookkeepingPrefix);

const isJournalRecord = (event: EsdbRecordedEvent): boolean => isJournalStream(event.streamId) && !event.type.startsWith('$');

const toExpectedRevision = (expected: ExpectedVersion): AppendExpectedRevision => {
  if (expected === 'any') return ANY;
  return expected === 0 ? NO_STREAM : BigInt(expected - 1);
};

/** Our version after ESDB's current revision: revision r holds version r + 1; no stream is 0. */
const versionAfter = (revision: CurrentRevision): number => (typeof revision === 'bigint' ? Number(revision) + 1 : 0);

const toEventData = (event: NewEvent): EventData =>
  // JSON scalars (null, numbers, booleans) round-trip too: the client stringifies any data.
  jsonEvent({ type: event.type, data: event.data as JSONType, metadata: event.meta as unknown as JSONType });

const truncateBeforeOf = (raw: Record<string, unknown>): number => {
  const tb = raw['$tb'];
  return typeof tb === 'number' && Number.isSafeInteger(tb) && tb > 0 ? tb : 0;
};

/** Parses an ESDB record into a journal event (STYLE R11); foreign records are errors. */
function decodeJournalEvent(event: EsdbRecordedEvent): Result<RecordedEvent, string> {
  const where = `${event.streamId}@${event.revision}`;
  if (!event.isJson) return err(`${where} is not a JSON event`);
  const meta = decodeMeta(event.metadata);
  if (meta === undefined) return err(`${where} carries no edgehive meta (at, origin)`);
  if (event.position === undefined) {
    return err(`${where} came without its $all position; edgehive needs EventStoreDB 22.10 or newer`);
  }
  return ok({
    stream: event.streamId,
    version: Number(event.revision) + 1,
    position: event.position.commit,
    type: event.type,
    data: event.data as JsonValue,
    meta,
  });
}

function decodeMeta(raw: unknown): EventMeta | undefined {
  if (raw instanceof Uint8Array || !isJsonObject(raw)) return undefined;
  if (typeof raw.at !== 'string') return undefined;
  if (typeof raw.origin !== 'string') return undefined;
  if (raw.causationId !== undefined && typeof raw.causationId !== 'string') return undefined;
  if (raw.correlationId !== undefined && typeof raw.correlationId !== 'string') return undefined;
  return raw as unknown as EventMeta;
}

/** In a journal stream every record must be ours; anything else is corruption, loudly. */
function journalEventOrThrow(raw: EsdbRecordedEvent): RecordedEvent {
  const decoded = decodeJournalEvent(raw);
  if (!decoded.ok) throw new Error(`journal stream holds a foreign record: ${decoded.error}`);
  return decoded.value;
}

/** In `$all`, system, bookkeeping, compacted and foreign records are simply not journal events. */
function keptJournalEvent(raw: AllStreamRecordedEvent, truncation: TruncationView): RecordedEvent | undefined {
  if (!isJournalRecord(raw)) return undefined;
  if (Number(raw.revision) < truncation.before(raw.streamId)) return undefined;
  const decoded = decodeJournalEvent(raw);
  return decoded.ok ? decoded.value : undefined;
}

function snapshotOrThrow(raw: EsdbRecordedEvent): SnapshotRecord {
  const data: unknown = raw.isJson ? raw.data : undefined;
  const shaped =
    isJsonObject(data) &&
    typeof data.stream === 'string' &&
    typeof data.at === 'string' &&
    Number.isSafeInteger(data.version) &&
    data.state !== undefined;
  // Compaction trusts snapshots, so a malformed one must stop readers rather than read as "none".
  if (!shaped) throw new Error(`snapshot record ${raw.streamId}@${raw.revision} is malformed`);
  return { stream: data.stream as string, version: data.version as number, state: data.state as JsonValue, at: data.at as string };
}

function indexedStreamOf(entry: EsdbRecordedEvent): StreamId | undefined {
  if (!entry.isJson || !isJsonObject(entry.data)) return undefined;
  const stream = entry.data.stream;
  return typeof stream === 'string' && isJournalStream(stream) ? stream : undefined;
}

/** Errors that say nothing about the position asked for: the read itself could not happen. */
const isConnectionFailure = (error: unknown): boolean =>
  error instanceof UnavailableError ||
  error instanceof DeadlineExceededError ||
  error instanceof CancelledError ||
  error instanceof AccessDeniedError ||
  error instanceof NotLeaderError;

/** The same measure as the SQLite adapter's: names, data and meta as JSON, plus a row's overhead. */
const eventBytes = (event: RecordedEvent): number =>
  event.stream.length + event.type.length + JSON.stringify(event.data).length + JSON.stringify(event.meta).length + 24;

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

const withoutCredentials = (connectionString: string): string => connectionString.replace(/\/\/[^/@]*@/, '//');

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
