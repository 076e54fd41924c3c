// scheduleCertificateRotation with a hand-driven clock and timers. Method: given a certificate's
// window, advance the clock to each timer the schedule set, answer its renewals, and check when it
// renews, what it reports, and that nothing happens after stop().
import { describe, expect, it } from 'vitest';
import { err, ok, type Result } from '../../kernel/index.js';
import { ROTATION_RETRY_MS_MAX, ROTATION_RETRY_MS_MIN, TIMER_DELAY_MS_MAX, scheduleCertificateRotation, type RotationWindow } from './edge.rotation.js';

const DAY_MS = 86_400_000;
const windowFrom = (notBeforeMs: number, days: number): RotationWindow => ({
  rotateAfterMs: notBeforeMs + Math.floor(days * DAY_MS * 0.7),
  rotateBeforeMs: notBeforeMs + Math.floor(days * DAY_MS * 0.9),
  notAfterMs: notBeforeMs + days * DAY_MS,
});

function harness(start: RotationWindow, nowMs = 0) {
  const clock = { nowMs };
  const timers: { fire: () => void; atMs: number; cancelled: boolean }[] = [];
  const renewals: ((answer: Result<RotationWindow, { message: string }>) => void)[] = [];
  const seen: string[] = [];
  const rotation = scheduleCertificateRotation(
    start,
    {
      nowMs: () => clock.nowMs,
      random01: () => 0.5,
      setTimer: (fire, delayMs) => {
        const timer = { fire, atMs: clock.nowMs + delayMs, cancelled: false };
        timers.push(timer);
        return () => void (timer.cancelled = true);
      },
      renew: () => new Promise((resolve) => renewals.push(resolve)),
    },
    { rotated: (next) => seen.push(`rotated until ${next.notAfterMs}`), failed: (message, retryInMs) => seen.push(`failed: ${message}, retry in ${retryInMs}`) },
  );
  /** Moves the clock to the newest timer and fires it. */
  const fireNext = (): number => {
    const timer = timers.at(-1);
    if (timer === undefined || timer.cancelled) throw new Error('no live timer');
    clock.nowMs = timer.atMs;
    timer.fire();
    return timer.atMs;
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { clock, timers, renewals, seen, rotation, fireNext, settle };
}

describe('scheduleCertificateRotation', () => {
  it('renews at the jittered point of the window, then plans the next from the new certificate', async () => {
    const first = windowFrom(0, 10);
    const h = harness(first);
    expect(h.fireNext()).toBe(first.rotateAfterMs + (first.rotateBeforeMs - first.rotateAfterMs) / 2);
    expect(h.renewals).toHaveLength(1);
    const second = windowFrom(h.clock.nowMs, 10);
    h.renewals[0]?.(ok(second));
    await h.settle();
    expect(h.seen).toEqual([`rotated until ${second.notAfterMs}`]);
    expect(h.timers.at(-1)?.atMs).toBe(second.rotateAfterMs + (second.rotateBeforeMs - second.rotateAfterMs) / 2);
  });

  it('waits longer than a timer can hold in steps, renewing only at the end', () => {
    const h = harness(windowFrom(0, 365));
    expect(h.fireNext()).toBe(TIMER_DELAY_MS_MAX);
    expect(h.renewals).toHaveLength(0);
    while (h.renewals.length === 0) h.fireNext();
    expect(h.clock.nowMs).toBe(windowFrom(0, 365).rotateAfterMs + Math.floor((windowFrom(0, 365).rotateBeforeMs - windowFrom(0, 365).rotateAfterMs) * 0.5));
  });

  it('renews at once when the window has begun passing, and retries failures with doubling back-off up to its bound', async () => {
    const h = harness(windowFrom(0, 10), 20 * DAY_MS);
    expect(h.fireNext()).toBe(20 * DAY_MS);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 9; attempt += 1) {
      h.renewals.at(-1)?.(err({ message: 'the cloud is away' }));
      await h.settle();
      const before = h.clock.nowMs;
      delays.push(h.fireNext() - before);
    }
    expect(delays.slice(0, 4)).toEqual([ROTATION_RETRY_MS_MIN, 2 * ROTATION_RETRY_MS_MIN, 4 * ROTATION_RETRY_MS_MIN, 8 * ROTATION_RETRY_MS_MIN]);
    expect(Math.max(...delays)).toBe(ROTATION_RETRY_MS_MAX);
    expect(h.seen[0]).toBe(`failed: the cloud is away, retry in ${ROTATION_RETRY_MS_MIN}`);
  });

  it('does nothing after stop(): the timer is cancelled and a renewal answering late is ignored', async () => {
    const h = harness(windowFrom(0, 10));
    h.fireNext();
    h.rotation.stop();
    h.renewals[0]?.(ok(windowFrom(0, 20)));
    await h.settle();
    expect(h.seen).toEqual([]);
    expect(h.timers).toHaveLength(1);

    const idle = harness(windowFrom(0, 10));
    idle.rotation.stop();
    expect(idle.timers.at(-1)?.cancelled).toBe(true);
  });
});
