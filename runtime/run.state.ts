// One container run as the process runtime holds it in memory, and the only way it signals one:
// after checking the recorded identity, so a reused PID is never signalled.
import type { ChildProcess } from 'node:child_process';
import { isSameProcessAlive } from './proc.reader.js';
import type { RunRecord } from './run-record.store.js';
import type { ContainerExit, ExecSession, RunRef } from './runtime.port.js';

/**
 * A recorded run. `watched`: its end will be noticed (it is our child, or a scan found it alive
 * and the poller checks it); an unwatched run was loaded from disk and not verified yet.
 */
export type Run = {
  record: RunRecord;
  child: ChildProcess | null;
  watched: boolean;
  exit: ContainerExit | null;
  readonly ended: Promise<ContainerExit>;
  readonly settle: (exit: ContainerExit) => void;
  /** Monotonic time of the pending SIGKILL of a stop, or null. */
  killAtMs: number | null;
  killTimer: NodeJS.Timeout | null;
  readonly sessions: Set<ExecSession>;
};

export const runKey = (podUid: string, runId: string): string => `${podUid}/${runId}`;
export const refOf = (record: RunRecord): RunRef => ({ podUid: record.pod.uid, container: record.container, runId: record.runId });

export function newRun(record: RunRecord, child: ChildProcess | null): Run {
  let settle: (exit: ContainerExit) => void = () => undefined;
  const ended = new Promise<ContainerExit>((resolve) => {
    settle = resolve;
  });
  return { record, child, watched: child !== null, exit: null, ended, settle, killAtMs: null, killTimer: null, sessions: new Set() };
}

/**
 * Whether the run's leader process (the shim) is alive and is the one recorded. An unreaped child
 * of ours is known without /proc: its pid cannot have been reused while we have not waited for it.
 */
export function isRunAlive(run: Run, bootId: string): boolean {
  if (run.exit !== null) return false;
  const child = run.child;
  if (child !== null) return child.exitCode === null && child.signalCode === null;
  return isSameProcessAlive(run.record, bootId);
}

/**
 * Sends `signal` to the run's process group, only if its leader is verifiably the recorded
 * process (the group id is the leader's pid: detached spawns call setsid). Between the check and
 * the kill a pid could in theory be reused; Node has no pidfd to close that gap, which is
 * microseconds wide against the lifetime of the recorded process.
 */
export function signalRunGroup(run: Run, bootId: string, signal: NodeJS.Signals): boolean {
  if (!isRunAlive(run, bootId)) return false;
  try {
    process.kill(-run.record.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The newest run of a container (highest seq) and the one before it. */
export function runsOfContainer(runs: Iterable<Run>, podUid: string, container: string): Run[] {
  return [...runs].filter((r) => r.record.pod.uid === podUid && r.record.container === container).sort((a, b) => b.record.seq - a.record.seq);
}
