// Coalescing and rate limits of status writes, with no I/O. Method: given a queue whose writes are
// promises the spec settles and a clock whose sleeps resolve only when the spec moves it, when
// requests arrive while writes are in flight or waiting, then writes carry the latest request, each
// request resolves only after a write covering it landed, and turns follow the token buckets in
// arrival order.
import { describe, expect, it } from 'vitest';
import { CoalescingWriteQueue, reserveToken, type StatusWriteLimits } from './status-writer.queue.js';

/** A monotonic clock whose sleeps wake only when `advance` passes their deadline. */
class SteppedClock {
  #nowMs = 0;
  readonly #sleepers: { at: number; wake: () => void }[] = [];
  monotonicMs(): number {
    return this.#nowMs;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.#sleepers.push({ at: this.#nowMs + ms, wake }));
  }
  get sleeping(): number {
    return this.#sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    this.#nowMs += ms;
    for (const sleeper of this.#sleepers.filter((s) => s.at <= this.#nowMs)) {
      this.#sleepers.splice(this.#sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
    await settle();
  }
}

/** Lets every promise chain that can move, move (no timers involved). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

interface Started {
  readonly key: string;
  readonly job: number;
  land(): void;
  fail(error: Error): void;
}

function harness(limits: Partial<StatusWriteLimits> = {}) {
  const clock = new SteppedClock();
  const started: Started[] = [];
  const queue = new CoalescingWriteQueue<number>({
    write: (key, job) => new Promise<void>((land, fail) => started.push({ key, job, land, fail })),
    newest: (held, arriving) => Math.max(held, arriving),
    limits: { perObject: { perSecond: 1000, burst: 1000 }, global: { perSecond: 1000, burst: 1000 }, objectsTrackedMax: 100, ...limits },
    clock,
  });
  return { clock, started, queue };
}

/** Tracks whether a promise settled, without awaiting it. */
function track(promise: Promise<void>): { readonly state: () => 'pending' | 'resolved' | 'rejected' } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => void (state = 'resolved'),
    () => void (state = 'rejected'),
  );
  return { state: () => state };
}

describe('reserveToken', () => {
  const limit = { perSecond: 10, burst: 2 };

  it('lets a burst through at once, then makes each next reservation wait one refill longer', () => {
    const first = reserveToken(undefined, 0, limit);
    const second = reserveToken(first.bucket, 0, limit);
    const third = reserveToken(second.bucket, 0, limit);
    const fourth = reserveToken(third.bucket, 0, limit);
    expect([first.waitMs, second.waitMs, third.waitMs, fourth.waitMs]).toEqual([0, 0, 100, 200]);
  });

  it('refills with time, up to the burst and no further', () => {
    const empty = reserveToken(reserveToken(undefined, 0, limit).bucket, 0, limit).bucket;
    expect(reserveToken(empty, 100, limit).waitMs).toBe(0);
    const rested = reserveToken(empty, 60_000, limit);
    expect(rested.bucket.tokens).toBe(1);
  });
});

describe('coalescing per object', () => {
  it('writes the first request, then only the latest of those that came during it, and resolves each after its covering write', async () => {
    const { started, queue } = harness();
    const first = track(queue.submit('pod/a', 1));
    await settle();
    expect(started.map((s) => s.job)).toEqual([1]);
    const later = [2, 3, 4, 5].map((job) => track(queue.submit('pod/a', job)));
    await settle();
    expect(started).toHaveLength(1);
    expect(later.map((p) => p.state())).toEqual(['pending', 'pending', 'pending', 'pending']);

    started[0]!.land();
    await settle();
    expect(first.state()).toBe('resolved');
    // The write that landed started before 2…5 arrived: it covers none of them.
    expect(later.map((p) => p.state())).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(started.map((s) => s.job)).toEqual([1, 5]);

    started[1]!.land();
    await settle();
    expect(later.map((p) => p.state())).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
    expect(queue.counts).toEqual({ requested: 5, written: 2 });
  });

  it('keeps objects apart: a request for another object is not held behind this one', async () => {
    const { started, queue } = harness();
    void queue.submit('pod/a', 1);
    const b = track(queue.submit('pod/b', 7));
    await settle();
    expect(started.map((s) => [s.key, s.job])).toEqual([['pod/a', 1], ['pod/b', 7]]);
    started[1]!.land();
    await settle();
    expect(b.state()).toBe('resolved');
  });

  it('fails every request a failed write covered, and writes again for the next request', async () => {
    const { started, queue } = harness();
    void queue.submit('pod/a', 1);
    await settle();
    const covered = [track(queue.submit('pod/a', 2)), track(queue.submit('pod/a', 3))];
    started[0]!.land();
    await settle();
    started[1]!.fail(new Error('HTTP 500'));
    await settle();
    expect(covered.map((p) => p.state())).toEqual(['rejected', 'rejected']);

    const retried = track(queue.submit('pod/a', 3));
    await settle();
    expect(started.map((s) => s.job)).toEqual([1, 3, 3]);
    started[2]!.land();
    await settle();
    expect(retried.state()).toBe('resolved');
  });
});

describe('rate limits', () => {
  it('spaces one object’s writes by its own bucket, coalescing what arrives while it waits', async () => {
    const { clock, started, queue } = harness({ perObject: { perSecond: 10, burst: 1 } });
    void queue.submit('pod/a', 1);
    await settle();
    started[0]!.land();
    await settle();
    const waiting = [2, 3].map((job) => track(queue.submit('pod/a', job)));
    await settle();
    expect(started).toHaveLength(1);
    expect(clock.sleeping).toBe(1);

    await clock.advance(99);
    expect(started).toHaveLength(1);
    await clock.advance(1);
    expect(started.map((s) => s.job)).toEqual([1, 3]);
    started[1]!.land();
    await settle();
    expect(waiting.map((p) => p.state())).toEqual(['resolved', 'resolved']);
  });

  it('bounds all objects together, granting turns in arrival order', async () => {
    const { clock, started, queue } = harness({ global: { perSecond: 10, burst: 2 } });
    for (const key of ['pod/a', 'pod/b', 'pod/c', 'pod/d']) void queue.submit(key, 1);
    await settle();
    expect(started.map((s) => s.key)).toEqual(['pod/a', 'pod/b']);
    await clock.advance(100);
    expect(started.map((s) => s.key)).toEqual(['pod/a', 'pod/b', 'pod/c']);
    await clock.advance(100);
    expect(started.map((s) => s.key)).toEqual(['pod/a', 'pod/b', 'pod/c', 'pod/d']);
  });

  it('forgets idle objects past the bound, and a forgotten object writes again at once while a remembered one waits', async () => {
    const { started, queue } = harness({ perObject: { perSecond: 1, burst: 1 }, objectsTrackedMax: 4 });
    for (const key of ['pod/a', 'pod/b', 'pod/c', 'pod/d']) void queue.submit(key, 1);
    await settle();
    for (const s of started) s.land();
    await settle();
    void queue.submit('pod/a', 2);
    await settle();
    expect(started).toHaveLength(4);
    // pod/e makes room by forgetting the oldest idle objects, pod/a among them: its bucket starts full again.
    void queue.submit('pod/e', 1);
    await settle();
    void queue.submit('pod/b', 2);
    await settle();
    expect(started.map((s) => `${s.key}:${s.job}`)).toEqual(['pod/a:1', 'pod/b:1', 'pod/c:1', 'pod/d:1', 'pod/e:1', 'pod/b:2']);
  });
});
