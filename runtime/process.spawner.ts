// Spawns container processes and exec sessions: each container runs under a tiny sh shim, in its
// own session and process group, writing its main process's exit code where any later agent can read it.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertNever, err, ok, type Result } from '../kernel/index.js';
import { readChildren, readCmdline, readProcStat } from './proc.reader.js';
import type { ExitReason, RuntimeError } from './runtime.port.js';

/**
 * The shim: join the run's cgroup if there is one, survive the signals aimed at the container
 * (a caught signal is reset to default in the child, so the container still gets them), wait for
 * the main process, record its status (128 + N for a signal), then kill whatever it left behind
 * in the group, as Kubernetes does when a container's main process ends. Without the shim an
 * adopted process's exit code would be unknowable: only a parent can wait for it.
 */
const shimScript = [
  'f=$1; c=$2; shift 2',
  '[ -z "$c" ] || echo $$ > "$c" || exit 125',
  'trap : TERM INT HUP',
  '"$@"',
  's=$?',
  'echo $s > "$f"',
  'kill -KILL 0',
].join('\n');

/** The shell that runs the shim: POSIX sh is on every Linux host. */
export const shimShell = '/bin/sh';

/** Finds the executable for argv[0] as execvp would (PATH unless it has a `/`), as a RunContainerError value if missing. */
export function resolveExecutable(command: string, path: string, workingDir: string): Result<string, RuntimeError> {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : join(workingDir, command)] : path.split(':').filter((d) => d !== '').map((d) => join(d, command));
  for (const candidate of candidates) {
    if (isExecutableFile(candidate)) return ok(candidate);
  }
  const where = command.includes('/') ? 'no such executable file' : 'executable file not found in $PATH';
  return err({ reason: 'RunContainerError', message: `exec: ${JSON.stringify(command)}: ${where}` });
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Checks a working directory exists before anything is spawned in it. */
export function checkWorkingDir(dir: string): Result<string, RuntimeError> {
  try {
    if (statSync(dir).isDirectory()) return ok(dir);
  } catch {
    // Reported below, as for a file that is not a directory.
  }
  return err({ reason: 'RunContainerError', message: `chdir to cwd (${JSON.stringify(dir)}) set in config.json failed: no such directory` });
}

export type ContainerSpawn = {
  readonly executable: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string;
  readonly logFd: number;
  readonly exitFile: string;
  /** `<cgroup>/cgroup.procs` to join, or null. */
  readonly cgroupProcs: string | null;
};

/** Spawns a container's shim detached (setsid: its pid is its process group id) with stdout and stderr on the log file. */
export function spawnContainer(s: ContainerSpawn): Promise<Result<ChildProcess & { pid: number }, RuntimeError>> {
  const argv = ['-c', shimScript, 'edgehive-shim', s.exitFile, s.cgroupProcs ?? '', s.executable, ...s.args];
  return settleSpawn(() => spawn(shimShell, argv, { cwd: s.workingDir, env: s.env, detached: true, stdio: ['ignore', s.logFd, s.logFd] }));
}

/** How often the start waits for the shim's child to exec the main process. */
const mainExecPollMs = 2;

/**
 * Waits (at most `timeoutMs`) until the shim's child has exec'd the main process, or the shim
 * has ended. Until then the child still carries the shim's SIGTERM trap, and a SIGTERM sent by a
 * stop would be swallowed; once `start` has waited for this, a stop's SIGTERM reaches the main
 * process. A forked child has its parent's cmdline until it execs, which is how this tells.
 */
export async function waitUntilMainExecs(shimPid: number, timeoutMs: number): Promise<void> {
  const shimCmdline = readCmdline(shimPid);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const shim = readProcStat(shimPid);
    if (shim === undefined || shim.state === 'Z') return;
    if (readChildren(shimPid).some((child) => { const c = readCmdline(child); return c !== undefined && c !== shimCmdline; })) return;
    await sleep(mainExecPollMs);
  }
}

/** Spawns an exec session's command detached, with pipes; it joins the container's cgroup first when there is one. */
export function spawnExec(executable: string, args: readonly string[], env: Readonly<Record<string, string>>, workingDir: string, stdin: boolean, cgroupProcs: string | null): Promise<Result<ChildProcess & { pid: number }, RuntimeError>> {
  const [file, argv] = cgroupProcs === null ? [executable, args] : [shimShell, ['-c', 'echo $$ > "$1" || exit 125; shift; exec "$@"', 'edgehive-exec', cgroupProcs, executable, ...args]];
  return settleSpawn(() => spawn(file, [...argv], { cwd: workingDir, env, detached: true, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] }));
}

/**
 * A spawn either has a pid at once or reports an 'error' event soon after (E2BIG, EAGAIN…); a
 * synchronous throw (an argument Node refuses) is caught too: every failure becomes a Result.
 */
function settleSpawn(spawnChild: () => ChildProcess): Promise<Result<ChildProcess & { pid: number }, RuntimeError>> {
  let child: ChildProcess;
  try {
    child = spawnChild();
  } catch (e) {
    return Promise.resolve(err({ reason: 'RunContainerError', message: `spawn failed: ${(e as Error).message}` }));
  }
  const pid = child.pid;
  if (pid !== undefined) {
    // Later errors (e.g. a kill of a gone process) must not crash the agent.
    child.on('error', () => undefined);
    return Promise.resolve(ok(child as ChildProcess & { pid: number }));
  }
  return new Promise((resolve) => {
    child.once('error', (e) => resolve(err({ reason: 'RunContainerError', message: `spawn failed: ${e.message}` })));
  });
}

/** Signal numbers on Linux, for 128 + N exit codes. */
const signalNumbers: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** A child's exit as a Kubernetes exit code: its code, or 128 + N for death by signal N. */
export const exitCodeOf = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal === null ? 9 : (signalNumbers[signal] ?? 9));

/** What ended a run: the runtime's own kill first, then the exit code. */
export function exitReasonOf(exitCode: number, killReason: 'Killed' | 'OOMKilled' | null, oomKilled: boolean): ExitReason {
  if (killReason === 'OOMKilled' || oomKilled) return 'OOMKilled';
  if (killReason === 'Killed' && exitCode === 137) return 'Killed';
  return exitCode === 0 ? 'Completed' : 'Error';
}

/** A short human message for an exit, as `kubectl describe` shows it. */
export function exitMessageOf(exitCode: number, reason: ExitReason): string {
  switch (reason) {
    case 'Completed':
      return 'exited with code 0';
    case 'Error':
      return exitCode > 128 ? `exited with code ${exitCode} (signal ${exitCode - 128})` : `exited with code ${exitCode}`;
    case 'OOMKilled':
      return 'killed: over its memory limit';
    case 'Killed':
      return 'killed with SIGKILL by the runtime';
    case 'ContainerLost':
      return 'the container process ended while no agent watched it, leaving no exit code';
    default:
      return assertNever(reason);
  }
}
