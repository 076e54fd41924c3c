// Time and identity as ports, so pure rooms stay deterministic and tests can drive them (STYLE R8).

/** Wall time for records, monotonic time for timeouts, and sleeping for back-off. */
export interface Clock {
  /** Milliseconds since the epoch; only for timestamps people read, never for timeouts. */
  nowMs(): number;
  /** Milliseconds on a clock that never goes back; for timeouts and liveness. */
  monotonicMs(): number;
  sleep(ms: number): Promise<void>;
}

/** A source of fresh unique ids (event ids, correlation ids, journal ids). */
export interface Ids {
  next(): string;
}

/** A clock that only moves when told to: the test double for `Clock`. */
export class ManualClock implements Clock {
  #nowMs: number;
  #monotonicMs = 0;
  constructor(startMs: number) {
    this.#nowMs = startMs;
  }
  nowMs(): number {
    return this.#nowMs;
  }
  monotonicMs(): number {
    return this.#monotonicMs;
  }
  advance(ms: number): void {
    this.#nowMs += ms;
    this.#monotonicMs += ms;
  }
  sleep(ms: number): Promise<void> {
    this.advance(ms);
    return Promise.resolve();
  }
}

/** Deterministic ids `prefix-1`, `prefix-2`, …: the test double for `Ids`. */
export class SequentialIds implements Ids {
  #count = 0;
  constructor(private readonly prefix: string) {}
  next(): string {
    this.#count += 1;
    return `${this.prefix}-${this.#count}`;
  }
}
