// The probe schedule, with a manual timer. Method: script each attempt's result, advance time
// second by second, and assert when attempts happen (initial delay, period, a slow attempt's
// skipped tick) and when the outcome flips (failure and success thresholds).
import { describe, expect, it } from 'vitest';
import { ProbeRunner, probeScheduleDefaults, type ProbeSchedule, type ProbeTimer } from './probe.runner.js';
import type { ProbeResult } from './runtime.port.js';

/** Timers that fire only when `advance` moves past them. */
class ManualTimer implements ProbeTimer {
  nowMs = 0;
  #pending: { atMs: number; fire: () => void }[] = [];
  after(ms: number, fire: () => void): () => void {
    const entry = { atMs: this.nowMs + ms, fire };
    this.#pending.push(entry);
    return () => {
      this.#pending = this.#pending.filter((e) => e !== entry);
    };
  }
  /** Moves time forward, firing due timers in order and letting attempts settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      const due = this.#pending.filter((e) => e.atMs <= end).sort((a, b) => a.atMs - b.atMs)[0];
      if (due === undefined) break;
      this.#pending = this.#pending.filter((e) => e !== due);
      this.nowMs = due.atMs;
      due.fire();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.nowMs = end;
  }
}

const pass: ProbeResult = { result: 'Success', message: 'ok' };
const fail: ProbeResult = { result: 'Failure', message: 'no' };

function runner(schedule: Partial<ProbeSchedule>, results: ProbeResult[], initial: ProbeResult['result']) {
  const timer = new ManualTimer();
  const attemptsAtMs: number[] = [];
  const changes: { atMs: number; result: ProbeResult['result'] }[] = [];
  const probe = new ProbeRunner({
    schedule: { ...probeScheduleDefaults, ...schedule },
    attempt: async () => {
      attemptsAtMs.push(timer.nowMs);
      return results.shift() ?? pass;
    },
    timer,
    initial,
    onChange: (r) => changes.push({ atMs: timer.nowMs, result: r.result }),
  });
  return { probe, timer, attemptsAtMs, changes };
}

describe('ProbeRunner', () => {
  it('waits initialDelaySeconds, then attempts every periodSeconds', async () => {
    const { probe, timer, attemptsAtMs } = runner({ initialDelaySeconds: 5, periodSeconds: 10 }, [], 'Success');
    probe.start();
    await timer.advance(36_000);
    expect(attemptsAtMs).toEqual([5_000, 15_000, 25_000, 35_000]);
    probe.stop();
    await timer.advance(60_000);
    expect(attemptsAtMs).toHaveLength(4);
  });

  it('a liveness probe fails only after failureThreshold failures in a row', async () => {
    const { probe, timer, changes } = runner({ periodSeconds: 1, failureThreshold: 3 }, [fail, fail, pass, fail, fail, fail], 'Success');
    probe.start();
    await timer.advance(5_500);
    expect(changes).toEqual([{ atMs: 5_000, result: 'Failure' }]);
    expect(probe.outcome).toBe('Failure');
  });

  it('a readiness probe passes after successThreshold successes in a row, and flips back on failures', async () => {
    const { probe, timer, changes } = runner({ periodSeconds: 1, successThreshold: 2, failureThreshold: 1 }, [pass, fail, pass, pass, pass, fail], 'Failure');
    probe.start();
    await timer.advance(7_500);
    // Attempts after the scripted ones pass: two of them make it ready again at 7 s.
    expect(changes).toEqual([
      { atMs: 3_000, result: 'Success' },
      { atMs: 5_000, result: 'Failure' },
      { atMs: 7_000, result: 'Success' },
    ]);
  });

  it('skips a tick while the previous attempt is still running', async () => {
    const timer = new ManualTimer();
    const attemptsAtMs: number[] = [];
    let release: () => void = () => undefined;
    const probe = new ProbeRunner({
      schedule: { ...probeScheduleDefaults, periodSeconds: 1 },
      attempt: () => {
        attemptsAtMs.push(timer.nowMs);
        return attemptsAtMs.length === 1 ? new Promise((resolve) => (release = () => resolve(pass))) : Promise.resolve(pass);
      },
      timer,
      initial: 'Success',
      onChange: () => undefined,
    });
    probe.start();
    await timer.advance(2_500);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    await timer.advance(1_000);
    expect(attemptsAtMs).toEqual([0, 3_000]);
    probe.stop();
  });

  it('refuses a schedule Kubernetes would refuse', () => {
    const make = (schedule: Partial<ProbeSchedule>) => () => runner(schedule, [], 'Success');
    expect(make({ periodSeconds: 0 })).toThrow('periodSeconds');
    expect(make({ failureThreshold: 0 })).toThrow('failureThreshold');
  });
});
