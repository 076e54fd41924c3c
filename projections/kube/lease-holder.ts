// Holds one coordination.k8s.io/v1 Lease for this process, as client-go's leaderelection does: one
// acquire attempt at a time, renewals every retryPeriod while held, and a loss reported once when no
// renewal succeeds within renewDeadline on this process's monotonic clock, or when another holder
// wrote the Lease. Writes carry the resourceVersion read as a precondition, so of two contenders only
// one wins (the other gets 409). The decisions are lease-lock.ts's; this file only does the I/O.
import { createHash } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ApiException, CoordinationV1Api, Observable as ClientObservable, type KubeConfig, type ObservableMiddleware, type V1Lease } from '@kubernetes/client-node';
import { err, invariant, ok, systemClock, type Clock, type Result } from '../../kernel/index.js';
import {
  LEASE_TIMING_DEFAULT,
  decideLease,
  observeLease,
  releaseSpec,
  renewalOverdue,
  validateLeaseTiming,
  type LeaseDecision,
  type LeaseLostReason,
  type LeaseObservation,
  type LeaseRecord,
  type LeaseSpec,
  type LeaseTiming,
} from './lease-lock.js';

/** Where a Lease lives. */
export interface LeaseRef {
  readonly namespace: string;
  readonly name: string;
}

/** The Lease whose holder runs the embedded mode's control loops. */
export const CONTROLLERS_LEASE: LeaseRef = { namespace: 'kube-system', name: 'edgehive-controllers' };

/**
 * Where per-node stream ownership Leases live: not kube-node-lease, whose Leases are named after
 * their node, so that no node name can ever make one clash with a node's heartbeat Lease.
 */
export const NODE_STREAM_LEASE_NAMESPACE = 'kube-system';
const NODE_STREAM_PREFIX = 'edgehive-stream.';
/** Over-long names are hashed under another prefix, so they cannot equal any plainly-named one. */
const NODE_STREAM_HASHED_PREFIX = 'edgehive-stream-h.';
/** An object name is a DNS subdomain: 253 characters at most. */
const OBJECT_NAME_CHARS_MAX = 253;

/** The Lease a cloud process holds while it owns node `nodeName`'s stream. */
export function nodeStreamLease(nodeName: string): LeaseRef {
  const plain = `${NODE_STREAM_PREFIX}${nodeName}`;
  if (plain.length <= OBJECT_NAME_CHARS_MAX) return { namespace: NODE_STREAM_LEASE_NAMESPACE, name: plain };
  return { namespace: NODE_STREAM_LEASE_NAMESPACE, name: `${NODE_STREAM_HASHED_PREFIX}${createHash('sha256').update(nodeName).digest('hex')}` };
}

/** A failed Lease request: the HTTP status (409 = someone else wrote first; 0 = no answer) and why. */
export interface LeaseStoreError {
  readonly status: number;
  readonly message: string;
}

/** The three Lease requests locking needs; each gives up when `signal` aborts. */
export interface LeaseStore {
  readonly ref: LeaseRef;
  /** The Lease, or undefined when it does not exist. */
  read(signal: AbortSignal): Promise<Result<LeaseRecord | undefined, LeaseStoreError>>;
  create(spec: LeaseSpec, signal: AbortSignal): Promise<Result<LeaseRecord, LeaseStoreError>>;
  /** Replaces the spec only if the Lease is still at `resourceVersion`. */
  replace(spec: LeaseSpec, resourceVersion: string, signal: AbortSignal): Promise<Result<LeaseRecord, LeaseStoreError>>;
}

/** client-node types MicroTime as a Date but hands the wire's string through; either becomes a Date. */
const timeOf = (value: unknown): Date | undefined => {
  const time = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return time === undefined || Number.isNaN(time.getTime()) ? undefined : time;
};

const recordOf = (lease: V1Lease): LeaseRecord => ({
  holderIdentity: lease.spec?.holderIdentity ?? '',
  leaseDurationSeconds: lease.spec?.leaseDurationSeconds,
  acquireTime: timeOf(lease.spec?.acquireTime),
  renewTime: timeOf(lease.spec?.renewTime),
  leaseTransitions: lease.spec?.leaseTransitions ?? 0,
  resourceVersion: lease.metadata?.resourceVersion ?? '',
});

const storeErrorOf = (error: unknown): LeaseStoreError =>
  error instanceof ApiException ? { status: error.code, message: `HTTP ${error.code}` } : { status: 0, message: error instanceof Error ? error.message : String(error) };

/** Per-request options that hand `signal` to client-node's fetch, so an abandoned request is cut. */
const withSignal = (signal: AbortSignal): { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' } => ({
  middleware: [
    {
      pre: (request) => {
        request.setSignal(signal);
        return new ClientObservable(Promise.resolve(request));
      },
      post: (response) => new ClientObservable(Promise.resolve(response)),
    },
  ],
  middlewareMergeStrategy: 'append',
});

/** A LeaseStore on the Kubernetes API at `ref`, through client-node's CoordinationV1Api. */
export function kubeLeaseStore(kc: KubeConfig, ref: LeaseRef): LeaseStore {
  const api = kc.makeApiClient(CoordinationV1Api);
  const bodyOf = (spec: LeaseSpec, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: ref.name, namespace: ref.namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: { ...spec },
  });
  const attempt = async <T>(request: () => Promise<T>): Promise<Result<T, LeaseStoreError>> => {
    try {
      return ok(await request());
    } catch (error) {
      return err(storeErrorOf(error));
    }
  };
  return {
    ref,
    read: async (signal) => {
      const read = await attempt(() => api.readNamespacedLease({ name: ref.name, namespace: ref.namespace }, withSignal(signal)));
      if (read.ok) return ok(recordOf(read.value));
      return read.error.status === 404 ? ok(undefined) : read;
    },
    create: async (spec, signal) => {
      const created = await attempt(() => api.createNamespacedLease({ namespace: ref.namespace, body: bodyOf(spec) }, withSignal(signal)));
      return created.ok ? ok(recordOf(created.value)) : created;
    },
    replace: async (spec, resourceVersion, signal) => {
      const replaced = await attempt(() => api.replaceNamespacedLease({ name: ref.name, namespace: ref.namespace, body: bodyOf(spec, resourceVersion) }, withSignal(signal)));
      return replaced.ok ? ok(recordOf(replaced.value)) : replaced;
    },
  };
}

/** The answer of `request`, or an error as soon as `signal` aborts, whether or not the store heeds it. */
function untilAborted<T>(request: () => Promise<Result<T, LeaseStoreError>>, signal: AbortSignal): Promise<Result<T, LeaseStoreError>> {
  const abandoned = (): Result<T, LeaseStoreError> => err({ status: 0, message: `request abandoned: ${String(signal.reason)}` });
  if (signal.aborted) return Promise.resolve(abandoned());
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(abandoned());
    signal.addEventListener('abort', onAbort, { once: true });
    request().then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        resolve(err(storeErrorOf(error)));
      },
    );
  });
}

/** Waits `ms`; false when `signal` aborted first. */
export async function pauseUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleepFor(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Why a holder stopped holding on its own: its renewals missed the deadline, or another holder wrote the Lease. */
export interface LeaseLoss {
  readonly reason: LeaseLostReason;
  readonly holder: string;
}

/** The result of one acquire attempt. */
export type AcquireOutcome =
  | { readonly acquired: true; readonly why: 'absent' | 'released' | 'expired' | 'mine' | 'alreadyHeld' }
  /** Another process holds it: it may expire, try again after `retryAfterMs`. */
  | { readonly acquired: false; readonly reason: 'held'; readonly holder: string; readonly retryAfterMs: number }
  /** The request failed (409: another contender wrote first). */
  | { readonly acquired: false; readonly reason: 'failed'; readonly error: LeaseStoreError; readonly retryAfterMs: number };

/** How a LeaseHolder is made. */
export interface LeaseHolderOptions {
  readonly store: LeaseStore;
  /** Unique per process (client-go uses hostname + a random suffix); two processes must never share one. */
  readonly identity: string;
  /** Defaults to kube-controller-manager's: 15 s / 10 s / 2 s. */
  readonly timing?: LeaseTiming;
  /** Monotonic time judges everything; wall time only stamps renewTime. */
  readonly clock?: Clock;
  /** Failed renewals and releases, for the log; a loss itself goes to `hold`'s callback. */
  readonly onError?: (message: string) => void;
}

/** One step of locking: what was written, or why nothing was. */
type StepOutcome =
  | { readonly kind: 'written'; readonly decision: Extract<LeaseDecision, { kind: 'acquire' | 'renew' }> }
  | { readonly kind: 'wait'; readonly holder: string; readonly retryAfterMs: number }
  | { readonly kind: 'lost'; readonly loss: LeaseLoss }
  | { readonly kind: 'failed'; readonly error: LeaseStoreError };

/**
 * Holds one Lease for this process.
 *
 * @example
 * const holder = new LeaseHolder({ store: kubeLeaseStore(kc, nodeStreamLease('edge-1')), identity });
 * if (await holder.acquire()) holder.hold((loss) => connection.close(1012, `lease lost: ${loss.reason}`));
 * // … on a clean disconnect:
 * await holder.release();
 */
export class LeaseHolder {
  readonly #store: LeaseStore;
  readonly #identity: string;
  readonly #timing: LeaseTiming;
  readonly #clock: Clock;
  readonly #onError: (message: string) => void;
  #observation: LeaseObservation | undefined;
  /** Monotonic time my last successful write was sent, while I hold the Lease. */
  #renewedAtMs: number | undefined;
  /** What my last successful write returned: renewals replace it directly, without a read. */
  #lastWritten: LeaseRecord | undefined;
  #hold: { readonly stop: AbortController; readonly ended: Promise<void> } | undefined;

  constructor(options: LeaseHolderOptions) {
    const timing = validateLeaseTiming(options.timing ?? LEASE_TIMING_DEFAULT);
    invariant(timing.ok, `lease timing: ${timing.ok ? '' : timing.error}`);
    invariant(options.identity !== '', 'a Lease holder has an identity');
    this.#store = options.store;
    this.#identity = options.identity;
    this.#timing = timing.value;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => undefined);
  }

  get ref(): LeaseRef {
    return this.#store.ref;
  }

  get identity(): string {
    return this.#identity;
  }

  get timing(): LeaseTiming {
    return this.#timing;
  }

  /** True from a successful acquire until a loss, `stop()` or `release()`. */
  get holding(): boolean {
    return this.#renewedAtMs !== undefined;
  }

  /** Monotonic time my last successful write was sent; undefined when I do not hold the Lease. */
  get renewedAtMs(): number | undefined {
    return this.#renewedAtMs;
  }

  /** One attempt to acquire the Lease; true when this process holds it now. */
  async acquire(): Promise<boolean> {
    return (await this.tryAcquire()).acquired;
  }

  /**
   * One attempt to acquire the Lease, saying why it failed and when to try again; bounded by
   * renewDeadline, and abandoned early when `signal` aborts.
   */
  async tryAcquire(signal?: AbortSignal): Promise<AcquireOutcome> {
    if (this.holding) return { acquired: true, why: 'alreadyHeld' };
    const deadline = AbortSignal.timeout(this.#timing.renewDeadlineMs);
    const step = await this.#step(signal === undefined ? deadline : AbortSignal.any([signal, deadline]));
    const retryAfterMs = this.#timing.retryPeriodMs;
    switch (step.kind) {
      case 'written':
        return { acquired: true, why: step.decision.kind === 'acquire' ? step.decision.why : 'mine' };
      case 'wait':
        return { acquired: false, reason: 'held', holder: step.holder, retryAfterMs: step.retryAfterMs };
      case 'lost':
        // Not holding, so a loss cannot be decided; kept total rather than trusted.
        return { acquired: false, reason: 'held', holder: step.loss.holder, retryAfterMs };
      case 'failed':
        return { acquired: false, reason: 'failed', error: step.error, retryAfterMs };
    }
  }

  /**
   * Keeps the acquired Lease renewed every retryPeriod until `stop()` or `release()`; calls `onLost`
   * once, and stops holding, if no renewal succeeds within renewDeadline or another holder wrote it.
   */
  hold(onLost: (loss: LeaseLoss) => void): void {
    invariant(this.holding, 'hold() follows a successful acquire()');
    invariant(this.#hold === undefined, 'one hold at a time');
    const stop = new AbortController();
    const ended = this.#renewUntilLost(stop.signal).then((loss) => {
      this.#hold = undefined;
      if (loss === undefined) return;
      this.#forget();
      try {
        onLost(loss);
      } catch (error) {
        this.#onError(`lease ${this.#name()}: the loss callback failed: ${(error as Error).message}`);
      }
    });
    this.#hold = { stop, ended };
  }

  /** Stops renewing without releasing, as a crashed or paused process would: others wait out the lease. */
  async stop(): Promise<void> {
    await this.#endHold();
    this.#forget();
  }

  /**
   * Stops renewing and gives the Lease up at once (no holder), so another process takes it on its
   * next attempt; true when the release was written. A Lease that is no longer mine is left alone.
   */
  async release(): Promise<boolean> {
    await this.#endHold();
    if (!this.holding) return false;
    let lease = this.#lastWritten;
    this.#forget();
    const signal = AbortSignal.timeout(this.#timing.renewDeadlineMs);
    // Straight at the version I wrote last; on a conflict, once more at the version read.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const spec = releaseSpec(lease, this.#identity, new Date(this.#clock.nowMs()));
      if (lease === undefined || spec === undefined) return false;
      const { resourceVersion } = lease;
      const written = await untilAborted(() => this.#store.replace(spec, resourceVersion, signal), signal);
      if (written.ok) return true;
      this.#onError(`lease ${this.#name()} not released: ${written.error.status} ${written.error.message}`);
      if (written.error.status !== 409) return false;
      const read = await untilAborted(() => this.#store.read(signal), signal);
      if (!read.ok) return false;
      lease = read.value;
    }
    return false;
  }

  #name(): string {
    return `${this.#store.ref.namespace}/${this.#store.ref.name}`;
  }

  #forget(): void {
    this.#renewedAtMs = undefined;
    this.#lastWritten = undefined;
  }

  async #endHold(): Promise<void> {
    const hold = this.#hold;
    if (hold === undefined) return;
    hold.stop.abort(new Error('stopped'));
    await hold.ended;
  }

  async #renewUntilLost(stop: AbortSignal): Promise<LeaseLoss | undefined> {
    for (;;) {
      const renewedAtMs = this.#renewedAtMs;
      invariant(renewedAtMs !== undefined, 'renewing only while holding');
      const deadlineMs = renewedAtMs + this.#timing.renewDeadlineMs;
      if (renewalOverdue(renewedAtMs, this.#clock.monotonicMs(), this.#timing)) return { reason: 'renewDeadlinePassed', holder: this.#identity };
      // Wake for the next renewal, or just past the deadline when renewals keep failing.
      const untilDeadlineMs = deadlineMs - this.#clock.monotonicMs();
      if (!(await pauseUnlessAborted(Math.ceil(Math.max(0, Math.min(this.#timing.retryPeriodMs, untilDeadlineMs + 1))), stop))) return undefined;
      const leftMs = deadlineMs - this.#clock.monotonicMs();
      if (leftMs < 0) continue;
      const outcome = await this.#renew(AbortSignal.any([stop, AbortSignal.timeout(Math.ceil(leftMs) + 1)]));
      if (stop.aborted) return undefined;
      if (outcome.kind === 'lost') return outcome.loss;
      if (outcome.kind === 'failed') this.#onError(`lease ${this.#name()} not renewed: ${outcome.error.status} ${outcome.error.message}`);
    }
  }

  /** Renews straight at the version I wrote last; reads first only when that conflicts. */
  async #renew(signal: AbortSignal): Promise<StepOutcome> {
    const last = this.#lastWritten;
    if (last !== undefined) {
      const decision = this.#decide(last, this.#clock.monotonicMs());
      if (decision.kind === 'lost') return { kind: 'lost', loss: { reason: decision.reason, holder: decision.holder } };
      if (decision.kind === 'renew') {
        const written = await this.#write(decision, signal);
        if (written.kind !== 'failed' || written.error.status !== 409) return written;
      }
    }
    return this.#step(signal);
  }

  /** Read, decide, and write what the decision says. */
  async #step(signal: AbortSignal): Promise<StepOutcome> {
    const read = await untilAborted(() => this.#store.read(signal), signal);
    if (!read.ok) return { kind: 'failed', error: read.error };
    // Seen when the answer arrived: later than the server wrote it, so a contender never waits too little.
    const seenAtMs = this.#clock.monotonicMs();
    this.#observation = observeLease(this.#observation, read.value, seenAtMs);
    const decision = this.#decide(read.value, seenAtMs);
    switch (decision.kind) {
      case 'wait':
        return { kind: 'wait', holder: decision.holder, retryAfterMs: decision.retryAfterMs };
      case 'lost':
        return { kind: 'lost', loss: { reason: decision.reason, holder: decision.holder } };
      case 'acquire':
      case 'renew':
        return this.#write(decision, signal);
    }
  }

  #decide(lease: LeaseRecord | undefined, nowMs: number): LeaseDecision {
    const wallNow = new Date(this.#clock.nowMs());
    return decideLease({ lease, observedAtMs: this.#observation?.atMs ?? nowMs, identity: this.#identity, nowMs, wallNow, renewedAtMs: this.#renewedAtMs, timing: this.#timing });
  }

  async #write(decision: Extract<LeaseDecision, { kind: 'acquire' | 'renew' }>, signal: AbortSignal): Promise<StepOutcome> {
    // Sent before the server can have written it: the holder's deadline runs from no later than a contender's wait.
    const sentAtMs = this.#clock.monotonicMs();
    const { resourceVersion, spec } = decision;
    const written = await untilAborted(() => (resourceVersion === undefined ? this.#store.create(spec, signal) : this.#store.replace(spec, resourceVersion, signal)), signal);
    if (!written.ok) return { kind: 'failed', error: written.error };
    this.#renewedAtMs = sentAtMs;
    this.#lastWritten = written.value;
    this.#observation = observeLease(undefined, written.value, sentAtMs);
    return { kind: 'written', decision };
  }
}

/** Node names a NodeStreamLeases keeps holders for, at most; idle ones are dropped first. */
export const NODE_STREAM_HOLDERS_MAX = 100_000;

/** How the per-node Lease holders of one cloud process are made. */
export interface NodeStreamLeasesOptions {
  readonly kubeConfig: KubeConfig;
  readonly identity: string;
  readonly timing?: LeaseTiming;
  readonly clock?: Clock;
  readonly onError?: (message: string) => void;
  readonly holdersMax?: number;
}

/**
 * One LeaseHolder per node for the life of the process: a contender must remember when it first saw
 * a node's Lease to judge it expired, so the hub asks for the same holder on every `hello` of a node.
 */
export class NodeStreamLeases {
  readonly #options: NodeStreamLeasesOptions;
  readonly #holders = new Map<string, LeaseHolder>();
  readonly #holdersMax: number;

  constructor(options: NodeStreamLeasesOptions) {
    this.#options = options;
    this.#holdersMax = options.holdersMax ?? NODE_STREAM_HOLDERS_MAX;
    invariant(this.#holdersMax > 0, 'room for at least one node');
  }

  /** The holder of node `nodeName`'s stream Lease (the same one each time while it is kept). */
  holderFor(nodeName: string): LeaseHolder {
    const kept = this.#holders.get(nodeName);
    if (kept !== undefined) return kept;
    if (this.#holders.size >= this.#holdersMax) this.#dropOneIdle();
    const { kubeConfig, identity, timing, clock, onError } = this.#options;
    const holder = new LeaseHolder({ store: kubeLeaseStore(kubeConfig, nodeStreamLease(nodeName)), identity, ...(timing === undefined ? {} : { timing }), ...(clock === undefined ? {} : { clock }), ...(onError === undefined ? {} : { onError }) });
    this.#holders.set(nodeName, holder);
    return holder;
  }

  /** Releases every node Lease held (on shutdown), so other processes take the nodes at once. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#holders.values()].map((holder) => holder.release()));
  }

  #dropOneIdle(): void {
    for (const [name, holder] of this.#holders) {
      if (holder.holding) continue;
      this.#holders.delete(name);
      return;
    }
    invariant(false, `no more than ${this.#holdersMax} node stream Leases held at once`);
  }
}
