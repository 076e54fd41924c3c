// Virtual time for the deterministic simulations: events run in (time, scheduling order), nothing
// waits on a real clock, and everything a crashed process had scheduled dies with it.

/** One life of a simulated process; events it scheduled do not run after it was killed. */
export class Incarnation {
  #alive = true;
  constructor(readonly label: string) {}
  get alive(): boolean {
    return this.#alive;
  }
  kill(): void {
    this.#alive = false;
  }
}

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly owner: Incarnation | null;
  readonly run: () => void;
  cancelled: boolean;
}

/** A cancellable scheduled event. */
export interface TimerHandle {
  cancel(): void;
}

/** Events one advance may run: far above any honest schedule (a run executes thousands in all). */
const ADVANCE_EVENTS_MAX = 1_000_000;

export class SimulatedTime {
  #now = 0;
  #order = 0;
  #queue: Scheduled[] = [];
  #ran = 0;

  get now(): number {
    return this.#now;
  }

  /** Events run so far: the simulations' work measure. */
  get eventsRun(): number {
    return this.#ran;
  }

  /** Runs `run` after `afterMs` unless `owner` died or the handle was cancelled. */
  schedule(afterMs: number, owner: Incarnation | null, run: () => void): TimerHandle {
    const event: Scheduled = { at: this.#now + Math.max(0, afterMs), order: this.#order++, owner, run, cancelled: false };
    // Binary insertion keeps the queue sorted by (at, order); the queue stays small.
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.#queue[mid]!;
      if (other.at < event.at || (other.at === event.at && other.order < event.order)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, event);
    return { cancel: () => void (event.cancelled = true) };
  }

  /** True when nothing live is scheduled: the simulation is quiescent. */
  idle(): boolean {
    this.#dropDead();
    return this.#queue.length === 0;
  }

  /**
   * Runs every event due by `now + ms`, then sets the clock there. Bounded: events that keep
   * scheduling each other without time passing would otherwise spin forever, hanging the run
   * instead of failing the property with its seed.
   */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (let ran = 0; ; ran++) {
      this.#dropDead();
      const next = this.#queue[0];
      if (next === undefined || next.at > until) break;
      if (ran >= ADVANCE_EVENTS_MAX) throw new Error(`simulated time did not settle: ${ADVANCE_EVENTS_MAX} events due by ${until} ms (now ${this.#now} ms)`);
      this.#runHead();
    }
    this.#now = until;
  }

  /** Runs events until none is left or `eventsMax` ran; true when it went idle. */
  runUntilIdle(eventsMax: number): boolean {
    for (let i = 0; i < eventsMax; i++) {
      this.#dropDead();
      if (this.#queue.length === 0) return true;
      this.#runHead();
    }
    return this.idle();
  }

  #runHead(): void {
    const event = this.#queue.shift()!;
    this.#now = Math.max(this.#now, event.at);
    this.#ran += 1;
    event.run();
  }

  #dropDead(): void {
    while (this.#queue.length > 0 && (this.#queue[0]!.cancelled || this.#queue[0]!.owner?.alive === false)) this.#queue.shift();
  }
}
