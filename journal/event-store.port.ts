// The event-store port: the one interface every journal adapter implements (STYLE R9, DESIGN.md Events).
import type { Observable } from 'rxjs';
import type { JsonValue, Result } from '../kernel/index.js';

/** A stream id such as `pod-default.web.<uid>`; one stream per actor. */
export type StreamId = string;

/** Who caused an event and when; `at` is the recording host's wall time (ISO 8601), for people only. */
export interface EventMeta {
  readonly at: string;
  readonly causationId?: string;
  readonly correlationId?: string;
  /** The host (edge node name or `cloud`) that recorded the event. */
  readonly origin: string;
}

/** An event about to be appended: a past-tense, versioned `type` and its data. */
export interface NewEvent {
  readonly type: string;
  readonly data: JsonValue;
  readonly meta: EventMeta;
}

/** An event as the journal holds it. `version` is gap-free from 1 per stream; `position` is global. */
export interface RecordedEvent extends NewEvent {
  readonly stream: StreamId;
  readonly version: number;
  readonly position: bigint;
}

/** The version a writer believes the stream is at (0 = the stream has no events), or `any`. */
export type ExpectedVersion = number | 'any';

/** Optimistic concurrency failed: someone else appended first. */
export interface WrongExpectedVersion {
  readonly kind: 'WrongExpectedVersion';
  readonly stream: StreamId;
  readonly expected: ExpectedVersion;
  readonly actual: number;
}

export type AppendResult = Result<{ readonly nextVersion: number; readonly position: bigint }, WrongExpectedVersion>;

/** A cached fold of a stream up to `version`; events up to it may have been compacted away. */
export interface SnapshotRecord {
  readonly stream: StreamId;
  readonly version: number;
  readonly state: JsonValue;
  readonly at: string;
}

/** What the journal knows of one stream without reading its events. */
export interface StreamSummary {
  readonly stream: StreamId;
  /** The version of the last event appended (0 if none). */
  readonly version: number;
  /** Versions up to this one were compacted away (0 if nothing was). */
  readonly compactedThrough: number;
}

export interface CompactionReport {
  readonly streamsCompacted: number;
  readonly eventsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export interface ReadRange {
  /** First version to read (inclusive, default 1). */
  readonly from?: number;
  /** Last version to read (inclusive, default the head). */
  readonly to?: number;
}

export interface PositionRange {
  /** First global position to read (inclusive, default 1). */
  readonly fromPosition?: bigint;
}

/** Limits every adapter enforces (STYLE R13). */
export const eventsPerAppendMax = 1000;

/**
 * The journal. Appends are atomic (all events of a call or none) and durable when they resolve.
 * @example
 * const r = await store.append('node-edge-1', 0, [{ type: 'NodeRegistered.v1', data, meta }]);
 * if (!r.ok) console.error(r.error.actual);
 */
export interface EventStore {
  append(stream: StreamId, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult>;
  readStream(stream: StreamId, range?: ReadRange): AsyncIterable<RecordedEvent>;
  readAll(range?: PositionRange): AsyncIterable<RecordedEvent>;
  /** Catches up from `fromPosition`, then follows live appends, in position order, without gaps or repeats. */
  subscribe(range?: PositionRange): Observable<RecordedEvent>;
  saveSnapshot(snapshot: SnapshotRecord): Promise<void>;
  loadSnapshot(stream: StreamId): Promise<SnapshotRecord | undefined>;
  streamSummary(stream: StreamId): Promise<StreamSummary | undefined>;
  listStreams(): AsyncIterable<StreamSummary>;
  /** Drops history covered by snapshots (and, if given, below `floorPosition`); never the newest event of a stream. */
  compact(options?: { readonly floorPosition?: bigint }): Promise<CompactionReport>;
  close(): Promise<void>;
}
