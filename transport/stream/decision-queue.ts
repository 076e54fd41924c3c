// Runs a host's decisions one after another, in the order the cores made them, without a promise
// per decision: the cloud hub executes a few decisions per up event, and chaining each with
// `.then` cost more than the work itself.
import { invariant } from '../../kernel/index.js';

/** Decisions queued and not yet run, per queue; more means a core is emitting without bound. */
const QUEUED_DECISIONS_MAX = 1_000_000;

/**
 * A FIFO of decisions run by `execute`. Decisions pushed together (one step of a core) are all
 * queued before the first runs, since the run starts on a microtask; a decision whose execution
 * returns a promise holds the ones behind it until it settles. A failed decision goes to `failed`
 * and the queue goes on, as a `.then(...).catch(failed)` chain would.
 *
 * ```ts
 * const queue = new DecisionQueue((d: Decision) => execute(d), (error) => storeFailed(error));
 * for (const decision of decisions) queue.push(decision);
 * await queue.settled(); // on shutdown
 * ```
 */
export class DecisionQueue<D> {
  #queue: D[] = [];
  #head = 0;
  #running: Promise<void> | null = null;

  constructor(
    private readonly execute: (decision: D) => void | Promise<void>,
    private readonly failed: (error: unknown) => void,
  ) {}

  push(decision: D): void {
    invariant(this.#queue.length - this.#head < QUEUED_DECISIONS_MAX, 'decision queue bounded');
    this.#queue.push(decision);
    this.#running ??= Promise.resolve().then(() => this.#drain());
  }

  /** Resolves once every decision queued so far (and any they queue) has run. */
  settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    while (this.#head < this.#queue.length) {
      const decision = this.#queue[this.#head] as D;
      this.#head += 1;
      try {
        const done = this.execute(decision);
        if (done !== undefined) await done;
      } catch (error) {
        this.failed(error);
      }
    }
    this.#queue = [];
    this.#head = 0;
    this.#running = null;
  }
}
