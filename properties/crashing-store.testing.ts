// An EventStore wrapper that "crashes the process" at a chosen append: before the append reaches
// the journal, or after it committed but before the caller heard back. After that, it is dead.
import type { Observable } from 'rxjs';
import type { EventStore, ExpectedVersion, NewEvent, StreamId, SnapshotRecord, AppendResult } from '../journal/index.js';

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

export interface CrashPlan {
  /** 0-based index of the append at which the crash happens. */
  readonly atAppend: number;
  readonly when: 'beforeCommit' | 'afterCommit';
}

export class CrashingStore implements EventStore {
  #appends = 0;
  #dead = false;
  constructor(private readonly inner: EventStore, private readonly plan: CrashPlan | undefined) {}

  get crashed(): boolean {
    return this.#dead;
  }

  async append(stream: StreamId, expected: ExpectedVersion, events: readonly NewEvent[]): Promise<AppendResult> {
    this.#alive();
    const index = this.#appends++;
    if (this.plan?.atAppend === index && this.plan.when === 'beforeCommit') this.#die();
    const result = await this.inner.append(stream, expected, events);
    if (this.plan?.atAppend === index) this.#die();
    return result;
  }
  readStream(stream: StreamId, range?: { from?: number; to?: number }) {
    this.#alive();
    return this.inner.readStream(stream, range);
  }
  readAll(range?: { fromPosition?: bigint }) {
    this.#alive();
    return this.inner.readAll(range);
  }
  subscribe(range?: { fromPosition?: bigint }): Observable<never> {
    this.#alive();
    return this.inner.subscribe(range) as Observable<never>;
  }
  saveSnapshot(snapshot: SnapshotRecord) {
    this.#alive();
    return this.inner.saveSnapshot(snapshot);
  }
  loadSnapshot(stream: StreamId) {
    this.#alive();
    return this.inner.loadSnapshot(stream);
  }
  streamSummary(stream: StreamId) {
    this.#alive();
    return this.inner.streamSummary(stream);
  }
  listStreams() {
    this.#alive();
    return this.inner.listStreams();
  }
  compact(options?: { floorPosition?: bigint }) {
    this.#alive();
    return this.inner.compact(options);
  }
  close() {
    return this.inner.close();
  }

  #alive(): void {
    if (this.#dead) throw new SimulatedCrash('the process already crashed');
  }
  #die(): never {
    this.#dead = true;
    throw new SimulatedCrash('simulated crash');
  }
}
