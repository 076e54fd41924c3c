// The process runtime's options and bounds (STYLE R13), each with its unit and default.
import type { Clock } from '../kernel/index.js';

/** Every bound of the process runtime (STYLE R13), with its unit. */
export type ProcessRuntimeLimits = {
  /** A live log file is rotated once over this (checked every `logCheckIntervalMs`). */
  readonly logBytesMax: number;
  /** Rotated files kept per run: a run's log holds at most about (1 + this) × `logBytesMax`. */
  readonly logRotatedFilesMax: number;
  readonly logCheckIntervalMs: number;
  readonly logFollowPollMs: number;
  readonly logFollowersMax: number;
  /** How often adopted processes (not our children) are checked for their end. */
  readonly exitPollIntervalMs: number;
  /** How long `start` waits for the main process to be exec'd by the shim before resolving anyway. */
  readonly mainExecWaitMs: number;
  /** How often resident memory is summed per process group when limits are enforced by polling. */
  readonly memoryPollIntervalMs: number;
  readonly execSessionsMax: number;
  /** Runs held at once, alive or recorded (each container keeps its current and previous run). */
  readonly runsMax: number;
};

export const processRuntimeLimitsDefault: ProcessRuntimeLimits = {
  logBytesMax: 10 * 1024 * 1024,
  logRotatedFilesMax: 2,
  logCheckIntervalMs: 1000,
  logFollowPollMs: 250,
  logFollowersMax: 64,
  exitPollIntervalMs: 250,
  mainExecWaitMs: 2000,
  memoryPollIntervalMs: 250,
  execSessionsMax: 32,
  runsMax: 4096,
};

export type ProcessRuntimeOptions = {
  /** Logs, volumes and run records live under it: `pods/<uid>/…` and `runtime/runs/…`. */
  readonly dataDir: string;
  readonly clock?: Clock;
  /** `auto` (default) picks cgroup v2 when delegated and writable, else RSS polling. */
  readonly memoryEnforcement?: 'auto' | 'cgroup' | 'rss';
  /** The cgroup v2 directory to create run cgroups in; default: found from /proc/self/cgroup. */
  readonly cgroupParent?: string;
  readonly limits?: Partial<ProcessRuntimeLimits>;
};

/** Why a set of limits cannot be used, or undefined: every bound is a positive integer (rotated files may be 0). */
export function limitsProblem(limits: ProcessRuntimeLimits): string | undefined {
  for (const [name, value] of Object.entries(limits)) {
    const least = name === 'logRotatedFilesMax' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) return `${name} must be an integer of at least ${least}, not ${value}`;
  }
  return undefined;
}
