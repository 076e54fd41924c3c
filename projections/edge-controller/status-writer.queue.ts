// Status writes per object, coalesced and rate-limited: while one object's write is in flight or
// waiting for its turn, newer requests for it replace the one pending (latest wins), and each
// request resolves only once a write that covers it (its own or a newer one) has landed, so the
// acks that rest on it stay honest (PROTOCOL.md, Up). Turns come from two token buckets, one per
// object and one for all, reserved in arrival order so no request overtakes another.
import { invariant, type Clock } from '../../kernel/index.js';

/** A token bucket's bound: `perSecond` tokens refill each second, up to `burst`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The bounds on status writes. */
export interface StatusWriteLimits {
  /** Per object (a Pod by uid, a Node by name). */
  readonly perObject: RateLimit;
  /** All objects of one writer together. */
  readonly global: RateLimit;
  /** Objects whose bucket is remembered; idle ones past this are forgotten (their next write starts full). */
  readonly objectsTrackedMax: number;
}

/**
 * The defaults. Global: one writer serves every edge of a cloud process, as CloudCore's does, and
 * CloudCore sizes its API budget by the nodes it serves (QPS 5 × nodeLimit, burst 10 ×); 500/s,
 * burst 1,000 is that budget for 100 nodes, and the embedded API server tops out below it (one
 * token per status write: a read and a patch), so the bound guards a real cluster's API server. Per object: a burst of 3 lets a pod's start
 * (ContainerCreating, Running, Ready) through at once, and 5 writes/s after it smooths a hot loop;
 * the edge reports on change, and what changes a pod's status on its own (probe periods ≥ 1 s,
 * restart back-off ≥ 10 s) stays well under that. The kubelet has no per-pod bound; KubeEdge's edge
 * posts node status every 10 s. The cloud hub performs one node's effects one at a time, so a
 * request waiting for its turn holds that node's up log: the bound is kept loose on purpose.
 */
export const STATUS_WRITE_LIMITS_DEFAULT: StatusWriteLimits = {
  perObject: { perSecond: 5, burst: 3 },
  global: { perSecond: 500, burst: 1_000 },
  objectsTrackedMax: 16_384,
};

/** Requests waiting on one object's pending write; more means a caller does not wait for its effects. */
const WAITERS_PER_OBJECT_MAX = 65_536;

/** A token bucket's state: tokens (negative while reservations wait) at a monotonic time. */
export interface Bucket {
  readonly tokens: number;
  readonly atMs: number;
}

/**
 * Takes one token at `nowMs`, refilling first (a new bucket starts full). A bucket short of tokens
 * goes negative and says how long to wait, so a later reservation waits behind an earlier one.
 */
export function reserveToken(bucket: Bucket | undefined, nowMs: number, limit: RateLimit): { readonly bucket: Bucket; readonly waitMs: number } {
  invariant(limit.perSecond > 0, 'a rate limit refills');
  invariant(limit.burst >= 1, 'a rate limit lets one write through');
  const start = bucket ?? { tokens: limit.burst, atMs: nowMs };
  const refilled = Math.min(limit.burst, start.tokens + (Math.max(0, nowMs - start.atMs) * limit.perSecond) / 1000);
  const tokens = refilled - 1;
  return { bucket: { tokens, atMs: Math.max(nowMs, start.atMs) }, waitMs: tokens >= 0 ? 0 : Math.ceil((-tokens * 1000) / limit.perSecond) };
}

/** Whether the bucket is full again at `nowMs` (forgetting it then changes nothing). */
export const bucketFull = (bucket: Bucket, nowMs: number, limit: RateLimit): boolean =>
  bucket.tokens + (Math.max(0, nowMs - bucket.atMs) * limit.perSecond) / 1000 >= limit.burst;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Slot<Job> {
  pending: { job: Job; readonly waiters: Waiter[] } | null;
  busy: boolean;
  bucket: Bucket | undefined;
}

/** How many writes ran and how many requests they covered, for tests and metrics. */
export interface WriteQueueCounts {
  readonly requested: number;
  readonly written: number;
}

/**
 * ```ts
 * const queue = new CoalescingWriteQueue<Job>({ write: (key, job) => api(job), newest: (held, arriving) => arriving, limits, clock });
 * await queue.submit(`pod/${uid}`, job); // resolved once a write covering `job` landed
 * ```
 */
export class CoalescingWriteQueue<Job> {
  readonly #slots = new Map<string, Slot<Job>>();
  #global: Bucket | undefined;
  #requested = 0;
  #written = 0;

  constructor(
    private readonly options: {
      /** Writes one object; a rejection fails every request it covered (their callers retry). */
      readonly write: (key: string, job: Job) => Promise<void>;
      /** Of a pending job and a new one for the same object, the one a write should carry. */
      readonly newest: (held: Job, arriving: Job) => Job;
      readonly limits: StatusWriteLimits;
      readonly clock: Pick<Clock, 'monotonicMs' | 'sleep'>;
    },
  ) {}

  get counts(): WriteQueueCounts {
    return { requested: this.#requested, written: this.#written };
  }

  /** Resolves once a write carrying `job` or a newer job for `key` has landed; rejects if that write failed. */
  submit(key: string, job: Job): Promise<void> {
    this.#requested += 1;
    const slot = this.#slot(key);
    return new Promise<void>((resolve, reject) => {
      if (slot.pending === null) slot.pending = { job, waiters: [] };
      else slot.pending.job = this.options.newest(slot.pending.job, job);
      invariant(slot.pending.waiters.length < WAITERS_PER_OBJECT_MAX, 'waiters on one object bounded');
      slot.pending.waiters.push({ resolve, reject });
      if (!slot.busy) void this.#drain(key, slot);
    });
  }

  /** Writes the object's pending job, turn by turn, until none is left. */
  async #drain(key: string, slot: Slot<Job>): Promise<void> {
    slot.busy = true;
    while (slot.pending !== null) {
      await this.#turn(slot);
      // Taken only now: requests that arrived during the wait ride on this write.
      const { job, waiters } = slot.pending;
      slot.pending = null;
      try {
        await this.options.write(key, job);
        this.#written += 1;
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    slot.busy = false;
  }

  /** Waits until both buckets grant a token (reserved now, so later requests queue behind). */
  async #turn(slot: Slot<Job>): Promise<void> {
    const nowMs = this.options.clock.monotonicMs();
    const own = reserveToken(slot.bucket, nowMs, this.options.limits.perObject);
    const all = reserveToken(this.#global, nowMs, this.options.limits.global);
    slot.bucket = own.bucket;
    this.#global = all.bucket;
    const waitMs = Math.max(own.waitMs, all.waitMs);
    if (waitMs > 0) await this.options.clock.sleep(waitMs);
  }

  #slot(key: string): Slot<Job> {
    const known = this.#slots.get(key);
    if (known !== undefined) return known;
    if (this.#slots.size >= this.options.limits.objectsTrackedMax) this.#forgetIdle();
    const slot: Slot<Job> = { pending: null, busy: false, bucket: undefined };
    this.#slots.set(key, slot);
    return slot;
  }

  /** Forgets idle objects, those whose bucket is full first, then the oldest, down to half the bound. */
  #forgetIdle(): void {
    const nowMs = this.options.clock.monotonicMs();
    const idle = [...this.#slots].filter(([, s]) => !s.busy && s.pending === null);
    const full = idle.filter(([, s]) => s.bucket === undefined || bucketFull(s.bucket, nowMs, this.options.limits.perObject));
    for (const [key] of [...full, ...idle]) {
      if (this.#slots.size < this.options.limits.objectsTrackedMax / 2) return;
      this.#slots.delete(key);
    }
  }
}
