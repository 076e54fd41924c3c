// Test double for Lease specs: a LeaseStore in front of a real one that can hang every request (a
// paused process: nothing leaves it) or fail it, and that counts reads and records when each
// successful write was sent, on the same monotonic clock the holders use.
import { err, systemClock, type Result } from '../../kernel/index.js';
import type { LeaseRecord, LeaseSpec } from './lease-lock.js';
import type { LeaseRef, LeaseStore, LeaseStoreError } from './lease-holder.js';

/** How the gate treats requests: pass them, hang them until abandoned, or fail them with 503. */
export type GateMode = 'open' | 'blocked' | 'failing';

/** A LeaseStore whose requests can be hung or failed on demand. */
export class GatedLeaseStore implements LeaseStore {
  mode: GateMode = 'open';
  reads = 0;
  /** Monotonic send times of the writes that succeeded, oldest first. */
  readonly writesSentAtMs: number[] = [];
  readonly #inner: LeaseStore;
  readonly #opened = new Set<() => void>();

  constructor(inner: LeaseStore) {
    this.#inner = inner;
  }

  get ref(): LeaseRef {
    return this.#inner.ref;
  }

  /** Lets hung requests go on (those abandoned meanwhile never reach the server). */
  open(): void {
    this.mode = 'open';
    for (const resume of [...this.#opened]) resume();
  }

  async read(signal: AbortSignal): Promise<Result<LeaseRecord | undefined, LeaseStoreError>> {
    const gate = await this.#pass(signal);
    if (!gate.ok) return gate;
    this.reads += 1;
    return this.#inner.read(signal);
  }

  async create(spec: LeaseSpec, signal: AbortSignal): Promise<Result<LeaseRecord, LeaseStoreError>> {
    return this.#write(signal, () => this.#inner.create(spec, signal));
  }

  async replace(spec: LeaseSpec, resourceVersion: string, signal: AbortSignal): Promise<Result<LeaseRecord, LeaseStoreError>> {
    return this.#write(signal, () => this.#inner.replace(spec, resourceVersion, signal));
  }

  async #write(signal: AbortSignal, write: () => Promise<Result<LeaseRecord, LeaseStoreError>>): Promise<Result<LeaseRecord, LeaseStoreError>> {
    const gate = await this.#pass(signal);
    if (!gate.ok) return gate;
    const sentAtMs = systemClock.monotonicMs();
    const written = await write();
    if (written.ok) this.writesSentAtMs.push(sentAtMs);
    return written;
  }

  async #pass(signal: AbortSignal): Promise<Result<void, LeaseStoreError>> {
    if (this.mode === 'failing') return err({ status: 503, message: 'the gate fails every request' });
    if (this.mode === 'open') return { ok: true, value: undefined };
    const passed = await new Promise<boolean>((resolve) => {
      const resume = (): void => {
        this.#opened.delete(resume);
        resolve(!signal.aborted);
      };
      this.#opened.add(resume);
      signal.addEventListener('abort', resume, { once: true });
    });
    return passed ? { ok: true, value: undefined } : err({ status: 0, message: 'abandoned while the gate was blocked' });
  }
}
