// An in-memory event store: the unit-test double for the port and the model the properties check
// the real adapters against. It keeps the same rules as the SQLite adapter, minus the disk.
import { Observable, Subject } from 'rxjs';
import { err, invariant, ok } from '../kernel/index.js';
import {
  eventsPerAppendMax,
  type AppendResult,
  type CompactionReport,
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

interface StreamState {
  version: number;
  compactedThrough: number;
}

export class MemoryEventStore implements EventStore {
  #events: RecordedEvent[] = [];
  #streams = new Map<StreamId, StreamState>();
  #snapshots = new Map<StreamId, SnapshotRecord>();
  #lastPosition = 0n;
  #appended = new Subject<void>();
  #closed = false;

  append(stream: StreamId, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult> {
    invariant(!this.#closed, 'append on a closed store');
    invariant(events.length > 0, 'an append carries at least one event');
    invariant(events.length <= eventsPerAppendMax, 'append batch bounded');
    const state = this.#streams.get(stream) ?? { version: 0, compactedThrough: 0 };
    if (expected !== 'any' && expected !== state.version) {
      return Promise.resolve(err({ kind: 'WrongExpectedVersion', stream, expected, actual: state.version }));
    }
    let copies: NewEvent[];
    try {
      // A JSON round trip, as the real adapters do: a payload that is not JSON fails its own append.
      copies = events.map((event) => JSON.parse(JSON.stringify(event)) as NewEvent);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    for (const event of copies) {
      this.#lastPosition += 1n;
      state.version += 1;
      this.#events.push({ ...event, stream, version: state.version, position: this.#lastPosition });
    }
    this.#streams.set(stream, state);
    this.#appended.next();
    return Promise.resolve(ok({ nextVersion: state.version, position: this.#lastPosition }));
  }

  async *readStream(stream: StreamId, range: ReadRange = {}): AsyncIterable<RecordedEvent> {
    const from = range.from ?? 1;
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    for (const event of this.#events) {
      if (event.stream === stream && event.version >= from && event.version <= to) yield structuredClone(event);
    }
  }

  async *readAll(range: PositionRange = {}): AsyncIterable<RecordedEvent> {
    yield* this.#readAfter((range.fromPosition ?? 1n) - 1n, Number.MAX_SAFE_INTEGER);
  }

  subscribe(range: PositionRange = {}): Observable<RecordedEvent> {
    return followLog({
      after: (range.fromPosition ?? 1n) - 1n,
      readBatch: (after, limit) => [...this.#readAfter(after, limit)],
      changes: this.#appended.asObservable(),
    });
  }

  saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    const state = this.#streams.get(snapshot.stream);
    invariant(state !== undefined && snapshot.version <= state.version, 'a snapshot covers recorded events only');
    this.#snapshots.set(snapshot.stream, structuredClone(snapshot));
    return Promise.resolve();
  }

  loadSnapshot(stream: StreamId): Promise<SnapshotRecord | undefined> {
    const snapshot = this.#snapshots.get(stream);
    return Promise.resolve(snapshot === undefined ? undefined : structuredClone(snapshot));
  }

  streamSummary(stream: StreamId): Promise<StreamSummary | undefined> {
    const state = this.#streams.get(stream);
    return Promise.resolve(state === undefined ? undefined : { stream, ...state });
  }

  async *listStreams(): AsyncIterable<StreamSummary> {
    for (const [stream, state] of [...this.#streams].sort(([a], [b]) => a.localeCompare(b))) yield { stream, ...state };
  }

  compact(options: { readonly floorPosition?: bigint } = {}): Promise<CompactionReport> {
    const floor = options.floorPosition;
    const bytesBefore = this.#bytes();
    const before = this.#events.length;
    const touched = new Set<StreamId>();
    this.#events = this.#events.filter((event) => {
      const snapshot = this.#snapshots.get(event.stream);
      const state = this.#streams.get(event.stream);
      invariant(state !== undefined, 'every event belongs to a known stream');
      const covered = snapshot !== undefined && event.version <= snapshot.version && event.version < state.version;
      const belowFloor = floor === undefined || event.position < floor;
      if (covered && belowFloor) {
        touched.add(event.stream);
        state.compactedThrough = Math.max(state.compactedThrough, event.version);
        return false;
      }
      return true;
    });
    return Promise.resolve({
      streamsCompacted: touched.size,
      eventsRemoved: before - this.#events.length,
      bytesBefore,
      bytesAfter: this.#bytes(),
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#appended.complete();
    return Promise.resolve();
  }

  *#readAfter(after: bigint, limit: number): Iterable<RecordedEvent> {
    let count = 0;
    for (const event of this.#events) {
      if (count >= limit) return;
      if (event.position > after) {
        count += 1;
        yield structuredClone(event);
      }
    }
  }

  #bytes(): number {
    return this.#events.reduce((sum, e) => sum + JSON.stringify(e.data).length + JSON.stringify(e.meta).length, 0);
  }
}
