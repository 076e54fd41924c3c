// One reconciling pass at a time, however many changes ask for one: a controller calls `request()`
// on every watch event, and a burst of events costs one pass (run after the current I/O turn), with
// one more after it when changes arrived during it. Each pass runs to completion before the next.

/** Runs `pass` coalesced; `stop` waits for the pass in progress and refuses new ones. */
export class PassLoop {
  readonly #pass: () => Promise<void>;
  readonly #onError: (error: Error) => void;
  #due = false;
  #stopped = false;
  #running: Promise<void> = Promise.resolve();

  constructor(pass: () => Promise<void>, onError: (error: Error) => void) {
    this.#pass = pass;
    this.#onError = onError;
  }

  /** Asks for a pass; returns the promise of the pass that will see this request. */
  request(): Promise<void> {
    if (this.#stopped || this.#due) return this.#running;
    this.#due = true;
    this.#running = this.#running.then(async () => {
      // Let the rest of this turn's watch events land first: one pass sees them all.
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#due = false;
      if (this.#stopped) return;
      try {
        await this.#pass();
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return this.#running;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

/** What a pass loop listens to: anything with change notifications (an Informer). */
export interface ChangeSource {
  onChange(listener: () => void): () => void;
}

/**
 * Drives `loop` from watches: a pass on every change of `sources`, and at least every `resyncMs`
 * (so time-based conditions, like minReadySeconds or a progress deadline, are noticed), starting
 * with one now. Returns what stops both.
 */
export function passOnChanges(loop: PassLoop, sources: readonly ChangeSource[], resyncMs: number): () => void {
  const unsubscribes = sources.map((source) => source.onChange(() => void loop.request()));
  const timer = setInterval(() => void loop.request(), resyncMs);
  timer.unref();
  void loop.request();
  return () => {
    clearInterval(timer);
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}
