// `kubectl exec` for process containers: a command spawned in the container's working directory
// with the environment its main process started with (read back from /proc, so no Secret value is
// stored by the runtime), ended when it exits, when asked, or when the container ends.
import { join } from 'node:path';
import { err, invariant, ok, type Result } from '../kernel/index.js';
import { defaultPath } from './launch.plan.js';
import { readEnviron } from './proc.reader.js';
import { resolveExecutable, spawnExec, exitCodeOf } from './process.spawner.js';
import { isRunAlive, type Run } from './run.state.js';
import type { ExecOptions, ExecSession, RuntimeError } from './runtime.port.js';

/** Starts `command` in a running run's context; the session is added to `run.sessions` until it ends. */
export async function startExecSession(run: Run, bootId: string, command: readonly string[], options: ExecOptions): Promise<Result<ExecSession, RuntimeError>> {
  const [file, ...args] = command;
  if (file === undefined || file === '') return err({ reason: 'CreateContainerConfigError', message: 'exec needs a command' });
  if (command.some((a) => a.includes('\0'))) return err({ reason: 'CreateContainerConfigError', message: 'exec command must not contain NUL' });
  const env = isRunAlive(run, bootId) ? readEnviron(run.record.pid) : undefined;
  if (env === undefined) return err({ reason: 'NotRunning', message: `container ${run.record.container} is not running` });
  const workingDir = run.record.workingDir;
  const executable = resolveExecutable(file, env['PATH'] ?? defaultPath, workingDir);
  if (!executable.ok) return executable;
  const cgroupProcs = run.record.cgroupDir === null ? null : join(run.record.cgroupDir, 'cgroup.procs');
  const spawned = await spawnExec(executable.value, args, env, workingDir, options.stdin, cgroupProcs);
  if (!spawned.ok) return spawned;
  const child = spawned.value;
  child.unref();
  const exit = new Promise<{ exitCode: number }>((resolve) => child.once('exit', (code, signal) => resolve({ exitCode: exitCodeOf(code, signal) })));
  const { stdout, stderr } = child;
  invariant(stdout !== null && stderr !== null, 'an exec session is spawned with stdout and stderr pipes');
  const session: ExecSession = {
    stdin: child.stdin,
    stdout,
    stderr,
    exit,
    kill: () => {
      // Not yet waited for, so the group id is still this session's.
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Ended in between.
      }
    },
  };
  run.sessions.add(session);
  void exit.then(() => run.sessions.delete(session));
  return ok(session);
}
