// Leader election on a Lease, as client-go's leaderelection runs it for kube-controller-manager: keep
// trying to acquire the Lease, run the leader's work while it is held, stop that work when the Lease
// is lost, and campaign again. Only one process's control loops run at a time.
import { invariant } from '../../kernel/index.js';
import { pauseUnlessAborted, type LeaseHolder, type LeaseLoss } from './lease-holder.js';

/** Why leading stopped: `stop()` was called, or the Lease was lost. */
export type LeadershipEnd = { readonly kind: 'stopped' } | ({ readonly kind: 'lost' } & LeaseLoss);

/** How a LeaderElector is made. */
export interface LeaderElectorOptions {
  /** The Lease to lead by, e.g. `new LeaseHolder({ store: kubeLeaseStore(kc, CONTROLLERS_LEASE), identity })`. */
  readonly holder: LeaseHolder;
  /** Starts the leader's work; awaited before a loss or stop can end it. */
  readonly onStartedLeading: () => void | Promise<void>;
  /** Stops the leader's work; awaited before the Lease is released or campaigned for again. */
  readonly onStoppedLeading: (end: LeadershipEnd) => void | Promise<void>;
  /** Release the Lease on `stop()` so another process leads at once (client-go's ReleaseOnCancel); default true. */
  readonly releaseOnStop?: boolean;
  /** A callback that threw, for the log. */
  readonly onError?: (message: string) => void;
}

/**
 * Campaigns for a Lease until stopped.
 *
 * @example
 * const elector = new LeaderElector({
 *   holder: new LeaseHolder({ store: kubeLeaseStore(kc, CONTROLLERS_LEASE), identity }),
 *   onStartedLeading: () => controllers.start(),
 *   onStoppedLeading: () => controllers.stop(),
 * });
 * elector.start();
 * // … on shutdown:
 * await elector.stop();
 */
export class LeaderElector {
  readonly #options: LeaderElectorOptions;
  readonly #stop = new AbortController();
  #campaign: Promise<void> | undefined;
  #leading = false;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
  }

  /** True while this process runs the leader's work. */
  get leading(): boolean {
    return this.#leading;
  }

  get holder(): LeaseHolder {
    return this.#options.holder;
  }

  /** Starts campaigning; once only. */
  start(): void {
    invariant(this.#campaign === undefined, 'a LeaderElector starts once');
    this.#campaign = this.#run();
  }

  /** Stops campaigning; when leading, stops the leader's work first, then releases (or just stops renewing). */
  async stop(): Promise<void> {
    this.#stop.abort(new Error('stopped'));
    await this.#campaign;
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    const { holder } = this.#options;
    while (!stop.aborted) {
      const outcome = await holder.tryAcquire(stop);
      if (!outcome.acquired) {
        await pauseUnlessAborted(outcome.retryAfterMs, stop);
        continue;
      }
      await this.#lead(stop);
    }
  }

  /** Leads until the Lease is lost or the elector is stopped. */
  async #lead(stop: AbortSignal): Promise<void> {
    const { holder, releaseOnStop = true } = this.#options;
    const letGo = (): Promise<unknown> => (releaseOnStop ? holder.release() : holder.stop());
    // Acquired just as the elector stopped: nothing was started, so nothing is stopped.
    if (stop.aborted) return void (await letGo());
    const lost = new Promise<LeaseLoss>((resolve) => holder.hold(resolve));
    const stopped = new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
    this.#leading = true;
    await this.#call('onStartedLeading', () => this.#options.onStartedLeading());
    const end = await Promise.race([lost.then((loss): LeadershipEnd => ({ kind: 'lost', ...loss })), stopped.then((): LeadershipEnd => ({ kind: 'stopped' }))]);
    this.#leading = false;
    // The work stops while the Lease is still held, so no other process's work overlaps it.
    await this.#call('onStoppedLeading', () => this.#options.onStoppedLeading(end));
    if (end.kind === 'stopped') await letGo();
  }

  async #call(name: string, callback: () => void | Promise<void>): Promise<void> {
    try {
      await callback();
    } catch (error) {
      this.#options.onError?.(`leader election on ${this.#options.holder.ref.namespace}/${this.#options.holder.ref.name}: ${name} failed: ${(error as Error).message}`);
    }
  }
}
