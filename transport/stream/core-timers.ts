// The timers a host runs for its sync cores: one per name, re-arming replaces, and 0 ms means
// "when the I/O in progress is done" (setImmediate), which the receivers use to send one ack per
// I/O turn instead of one per socket read. A 0 ms setTimeout would wait for the next timers phase
// (at least 1 ms), which the ack round trip would pay.
type Armed = { readonly kind: 'timeout'; readonly handle: NodeJS.Timeout } | { readonly kind: 'immediate'; readonly handle: NodeJS.Immediate };

/**
 * ```ts
 * const timers = new CoreTimers();
 * timers.arm('upAckDelay', 0, () => feed(upAckDelayFired)); // after this turn's I/O
 * timers.cancelAll(); // on stop
 * ```
 */
export class CoreTimers {
  readonly #armed = new Map<string, Armed>();

  /** (Re)arms `name`; a timer never keeps the process alive. */
  arm(name: string, afterMs: number, fire: () => void): void {
    this.cancel(name);
    const run = (): void => {
      this.#armed.delete(name);
      fire();
    };
    if (afterMs === 0) {
      const handle = setImmediate(run);
      handle.unref();
      this.#armed.set(name, { kind: 'immediate', handle });
      return;
    }
    const handle = setTimeout(run, afterMs);
    handle.unref();
    this.#armed.set(name, { kind: 'timeout', handle });
  }

  cancel(name: string): void {
    const armed = this.#armed.get(name);
    if (armed === undefined) return;
    if (armed.kind === 'immediate') clearImmediate(armed.handle);
    else clearTimeout(armed.handle);
    this.#armed.delete(name);
  }

  cancelAll(): void {
    for (const name of [...this.#armed.keys()]) this.cancel(name);
  }
}
