// A disk whose commit points are explicit: a write is visible to its writer at once, durable only
// when its fsync completes, and lost if the process crashes before that. With `FULL` the writer
// hears "committed" only once the write is durable (SQLite synchronous=FULL); with `NORMAL` it
// hears it at once and durability follows later, which the properties must catch as a bug.
import type { Incarnation, SimulatedTime } from './simulated-time.testing.js';

export type Synchronous = 'FULL' | 'NORMAL';

export interface SimulatedDiskOptions {
  /** Time from a write to its fsync completing; fsyncs complete in write order. */
  readonly fsyncMs: number;
  readonly synchronous: Synchronous;
}

/** One write: `durable` turns true when its fsync completed. */
export interface WriteHandle {
  readonly id: number;
  readonly durable: boolean;
}

interface Pending<S> {
  readonly handle: { id: number; durable: boolean };
  readonly apply: (state: S) => S;
}

export class SimulatedDisk<S> {
  #durable: S;
  #visible: S;
  #pending: Pending<S>[] = [];
  #nextId = 1;
  #lastFsyncAt = 0;
  #generation = 0;

  constructor(
    private readonly time: SimulatedTime,
    initial: S,
    private readonly options: SimulatedDiskOptions,
  ) {
    this.#durable = initial;
    this.#visible = initial;
  }

  /** What survives a crash. */
  get durable(): S {
    return this.#durable;
  }

  /** What the writing process reads: durable state plus its writes in flight. */
  get visible(): S {
    return this.#visible;
  }

  /**
   * Writes `apply` (a pure state change). `onCommitted` runs, if `owner` is still alive, when the
   * writer is told the commit succeeded; `onDurable` runs when the data really is on disk.
   */
  write(owner: Incarnation, apply: (state: S) => S, onCommitted: () => void, onDurable: (state: S) => void = () => {}): WriteHandle {
    const handle = { id: this.#nextId++, durable: false };
    this.#visible = apply(this.#visible);
    this.#pending.push({ handle, apply });
    const generation = this.#generation;
    const fsyncAt = Math.max(this.time.now, this.#lastFsyncAt) + this.options.fsyncMs;
    this.#lastFsyncAt = fsyncAt;
    this.time.schedule(fsyncAt - this.time.now, null, () => {
      if (generation !== this.#generation) return;
      const done = this.#pending.shift();
      if (done === undefined || done.handle !== handle) throw new Error('fsyncs complete in write order');
      this.#durable = done.apply(this.#durable);
      handle.durable = true;
      onDurable(this.#durable);
      if (this.options.synchronous === 'FULL' && owner.alive) onCommitted();
    });
    if (this.options.synchronous === 'NORMAL') this.time.schedule(0, owner, onCommitted);
    return handle;
  }

  /** Power loss or process crash: writes not yet fsynced are gone. Returns how many. */
  crash(): number {
    const lost = this.#pending.length;
    this.#generation += 1;
    this.#pending = [];
    this.#visible = this.#durable;
    this.#lastFsyncAt = this.time.now;
    return lost;
  }

  /** The file is replaced (a re-provisioned edge, a restored API server): a new durable state. */
  replace(state: S): void {
    this.crash();
    this.#durable = state;
    this.#visible = state;
  }
}
