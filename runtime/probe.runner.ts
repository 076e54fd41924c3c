// Runs one probe on the kubelet's schedule (initial delay, period, thresholds) and reports when
// its outcome flips; the timer is injected, so the schedule is tested without waiting.
import { invariant } from '../kernel/index.js';
import type { ProbeResult } from './runtime.port.js';

/** A cancellable timer: the real one wraps setTimeout, tests advance a manual one. */
export interface ProbeTimer {
  /** Calls `fire` once after `ms`; the returned function cancels it. */
  after(ms: number, fire: () => void): () => void;
}

/** The timing fields of a Kubernetes Probe, in its units. */
export type ProbeSchedule = {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
};

/** Kubernetes' defaults for a probe's timing fields. */
export const probeScheduleDefaults: ProbeSchedule = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 };

/** The real timer, for adapters and the composition root. */
export const systemProbeTimer: ProbeTimer = {
  after(ms, fire) {
    const handle = setTimeout(fire, ms);
    return () => clearTimeout(handle);
  },
};

export type ProbeRunnerOptions = {
  readonly schedule: ProbeSchedule;
  /** One attempt; it must honour `schedule.timeoutSeconds` itself (the checks in probe.checks.ts do). */
  readonly attempt: () => Promise<ProbeResult>;
  readonly timer: ProbeTimer;
  /** The outcome before any attempt: Failure for readiness and startup, Success for liveness. */
  readonly initial: ProbeResult['result'];
  /** Called when the outcome flips, with the attempt that flipped it. */
  readonly onChange: (result: ProbeResult) => void;
};

/**
 * Attempts every `periodSeconds` (measured from each attempt's start; a tick that finds the last
 * attempt still running is skipped, as the kubelet's ticker does) and flips the outcome after
 * `failureThreshold` failures or `successThreshold` successes in a row.
 */
export class ProbeRunner {
  readonly #options: ProbeRunnerOptions;
  #outcome: ProbeResult['result'];
  #streak = 0;
  #busy = false;
  #cancel: (() => void) | null = null;
  #stopped = false;

  constructor(options: ProbeRunnerOptions) {
    const s = options.schedule;
    invariant(Number.isInteger(s.periodSeconds) && s.periodSeconds >= 1, 'periodSeconds is a positive integer');
    invariant(Number.isInteger(s.initialDelaySeconds) && s.initialDelaySeconds >= 0, 'initialDelaySeconds is a non-negative integer');
    invariant(Number.isInteger(s.failureThreshold) && s.failureThreshold >= 1, 'failureThreshold is a positive integer');
    invariant(Number.isInteger(s.successThreshold) && s.successThreshold >= 1, 'successThreshold is a positive integer');
    this.#options = options;
    this.#outcome = options.initial;
  }

  /** The current outcome. */
  get outcome(): ProbeResult['result'] {
    return this.#outcome;
  }

  start(): void {
    invariant(this.#cancel === null && !this.#stopped, 'a probe runner starts once');
    this.#arm(this.#options.schedule.initialDelaySeconds * 1000);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
  }

  #arm(ms: number): void {
    if (this.#stopped) return;
    this.#cancel = this.#options.timer.after(ms, () => this.#tick());
  }

  #tick(): void {
    this.#arm(this.#options.schedule.periodSeconds * 1000);
    if (this.#busy) return;
    this.#busy = true;
    void this.#options.attempt().then(
      (result) => this.#record(result),
      (e: unknown) => this.#record({ result: 'Failure', message: `probe errored: ${String(e)}` }),
    );
  }

  #record(result: ProbeResult): void {
    this.#busy = false;
    if (this.#stopped) return;
    if (result.result === this.#outcome) {
      this.#streak = 0;
      return;
    }
    this.#streak += 1;
    const threshold = result.result === 'Success' ? this.#options.schedule.successThreshold : this.#options.schedule.failureThreshold;
    if (this.#streak < threshold) return;
    this.#outcome = result.result;
    this.#streak = 0;
    this.#options.onChange(result);
  }
}
