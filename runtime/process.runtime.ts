// The process runtime: the ContainerRuntime adapter that runs each container as a supervised local
// process, records it so a restarted agent adopts or kills it, and enforces logs and memory bounds.
import { existsSync, mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Subject, type Observable } from 'rxjs';
import { assertNever, err, ok, systemClock, type Clock, type Result } from '../kernel/index.js';
import { limitsProblem, processRuntimeLimitsDefault, type ProcessRuntimeLimits, type ProcessRuntimeOptions } from './process.limits.js';
import { ContainerLogs } from './container-log.files.js';
import { startExecSession } from './exec.session.js';
import { defaultPath, planLaunch, launchProblem } from './launch.plan.js';
import { createRunCgroup, detectMemoryEnforcement, killCgroup, removeCgroup, cgroupOomKilled, type MemoryEnforcement } from './memory.limits.js';
import { hasProcFs, readBootId, readProcStat } from './proc.reader.js';
import { checkExec, checkHttp, checkTcp } from './probe.checks.js';
import { checkWorkingDir, exitCodeOf, exitMessageOf, exitReasonOf, resolveExecutable, spawnContainer, waitUntilMainExecs, type ContainerSpawn } from './process.spawner.js';
import { RuntimeHousekeeping } from './runtime.housekeeping.js';
import { RunRecordStore, type RunRecord } from './run-record.store.js';
import { isRunAlive, newRun, refOf, runKey, runsOfContainer, signalRunGroup, type Run } from './run.state.js';
import type { ContainerExit, ContainerLaunch, ContainerRuntime, ExecOptions, ExecSession, LogOptions, ObservedProcess, ProbeAction, ProbeResult, RunRef, RuntimeError, StartedContainer, VolumeMount } from './runtime.port.js';
import { materializeVolumes } from './volume.materializer.js';

const unavailable = (message: string): Result<never, RuntimeError> => err({ reason: 'RuntimeUnavailable', message });

/**
 * Opens the process runtime on a data directory: loads the run records an earlier agent left
 * (verify them with `scan`) and picks how memory limits are enforced.
 */
export function openProcessRuntime(options: ProcessRuntimeOptions): Result<ProcessRuntime, RuntimeError> {
  if (!hasProcFs()) return unavailable('the process runtime needs Linux /proc');
  const bootId = readBootId();
  if (bootId === undefined) return unavailable('cannot read /proc/sys/kernel/random/boot_id');
  const limits = { ...processRuntimeLimitsDefault, ...options.limits };
  const badLimit = limitsProblem(limits);
  if (badLimit !== undefined) return unavailable(badLimit);
  const wanted = options.memoryEnforcement ?? 'auto';
  const memory: MemoryEnforcement = wanted === 'rss' ? { kind: 'rss', why: 'chosen by configuration' } : detectMemoryEnforcement('/', options.cgroupParent ?? null);
  if (wanted === 'cgroup' && memory.kind === 'rss') return unavailable(`cgroup memory enforcement unavailable: ${memory.why}`);
  let records: RunRecordStore;
  try {
    records = new RunRecordStore(options.dataDir);
  } catch (e) {
    return unavailable(`data directory ${options.dataDir}: ${(e as Error).message}`);
  }
  return ok(new ProcessRuntime({ dataDir: options.dataDir, clock: options.clock ?? systemClock, limits, memory, bootId, records }));
}

/** A launch made ready to spawn: what the spawner takes, less the cgroup it joins, plus where the run lives. */
type Prepared = Omit<ContainerSpawn, 'cgroupProcs'> & {
  readonly seq: number;
  readonly logPath: string;
  readonly cgroupDir: string | null;
};

type Deps = { readonly dataDir: string; readonly clock: Clock; readonly limits: ProcessRuntimeLimits; readonly memory: MemoryEnforcement; readonly bootId: string; readonly records: RunRecordStore };

/** The process runtime; see the room's door for what containers get. Open it with `openProcessRuntime`. */
export class ProcessRuntime implements ContainerRuntime {
  readonly #deps: Deps;
  readonly #runs = new Map<string, Run>();
  readonly #starting = new Set<string>();
  readonly #exits = new Subject<ContainerExit>();
  readonly #housekeeping: RuntimeHousekeeping;
  readonly #logs: ContainerLogs;
  #followers = 0;
  #sessions = 0;
  #closed = false;

  /** Exits of runs started here or found alive by `scan`. */
  readonly exits: Observable<ContainerExit> = this.#exits.asObservable();

  constructor(deps: Deps) {
    this.#deps = deps;
    this.#logs = new ContainerLogs(deps.limits.logRotatedFilesMax);
    for (const record of deps.records.loadAll(deps.limits.runsMax)) {
      const run = newRun(record, null);
      if (record.exit !== null) run.exit = record.exit;
      this.#runs.set(runKey(record.pod.uid, record.runId), run);
    }
    this.#housekeeping = new RuntimeHousekeeping({
      limits: deps.limits,
      bootId: deps.bootId,
      rssLimits: deps.memory.kind === 'rss',
      runs: () => this.#runs.values(),
      logs: this.#logs,
      finish: (run) => this.#finish(run, null),
      kill: (run, reason) => this.#kill(run, reason),
    });
    this.#housekeeping.start();
  }

  /** How memory limits are enforced here, and why. */
  get memoryEnforcement(): MemoryEnforcement {
    return this.#deps.memory;
  }

  async start(launch: ContainerLaunch): Promise<Result<StartedContainer, RuntimeError>> {
    if (this.#closed) return unavailable('the runtime is closed');
    const problem = launchProblem(launch);
    if (problem !== undefined) return err({ reason: 'CreateContainerConfigError', message: problem });
    const containerKey = `${launch.pod.uid}/${launch.container}`;
    const refused = this.#startRefusal(launch, containerKey);
    if (refused !== undefined) return err(refused);
    this.#starting.add(containerKey);
    try {
      return await this.#start(launch);
    } finally {
      this.#starting.delete(containerKey);
    }
  }

  #startRefusal(launch: ContainerLaunch, containerKey: string): RuntimeError | undefined {
    const config = (message: string): RuntimeError => ({ reason: 'CreateContainerConfigError', message });
    if (this.#starting.has(containerKey)) return config(`container ${launch.container} is being started already`);
    if (this.#runs.has(runKey(launch.pod.uid, launch.runId))) return config(`run id ${launch.runId} is already used in pod ${launch.pod.uid}`);
    if (this.#runs.size >= this.#deps.limits.runsMax) return { reason: 'LimitReached', message: `the runtime holds ${this.#deps.limits.runsMax} runs already` };
    for (const run of runsOfContainer(this.#runs.values(), launch.pod.uid, launch.container)) {
      this.#verify(run);
      if (run.exit === null) return config(`container ${launch.container} still runs (run ${run.record.runId})`);
    }
    return undefined;
  }

  async #start(launch: ContainerLaunch): Promise<Result<StartedContainer, RuntimeError>> {
    const prepared = await this.#prepare(launch);
    if (!prepared.ok) return prepared;
    const p = prepared.value;
    const cgroupProcs = p.cgroupDir === null ? null : join(p.cgroupDir, 'cgroup.procs');
    const spawned = await spawnContainer({ executable: p.executable, args: p.args, env: p.env, workingDir: p.workingDir, logFd: p.logFd, exitFile: p.exitFile, cgroupProcs }).finally(() => closeSync(p.logFd));
    if (!spawned.ok) {
      if (p.cgroupDir !== null) removeCgroup(p.cgroupDir);
      return spawned;
    }
    const child = spawned.value;
    // No event-loop turn has passed since the spawn, so the child cannot have been reaped: this is its entry.
    const stat = readProcStat(child.pid);
    const record: RunRecord = {
      v: 1, pod: launch.pod, container: launch.container, runId: launch.runId, seq: p.seq, pid: child.pid, startTicks: stat?.startTicks ?? 0, bootId: this.#deps.bootId,
      startedAt: new Date(this.#deps.clock.nowMs()).toISOString(), workingDir: p.workingDir, logPath: p.logPath, memoryBytesMax: launch.memoryBytesMax, cgroupDir: p.cgroupDir, killReason: null, exit: null,
    };
    const registered = this.#register(record, child);
    if (registered.ok) await waitUntilMainExecs(child.pid, this.#deps.limits.mainExecWaitMs);
    return registered;
  }

  /**
   * Everything a run needs on the host before its spawn: volumes, the planned argv and env, the
   * working directory, the executable, the log file (open), the cgroup. A host failure (a full
   * disk, a permission) becomes a RunContainerError value, never a rejection.
   */
  async #prepare(launch: ContainerLaunch): Promise<Result<Prepared, RuntimeError>> {
    const podDir = this.#podDir(launch.pod.uid);
    const volumes = materializeVolumes(podDir, launch.volumes);
    if (!volumes.ok) return volumes;
    const plan = planLaunch(launch, volumes.value);
    if (!plan.ok) return plan;
    const { uid } = launch.pod;
    try {
      const workingDir = launch.workingDir ?? join(podDir, 'containers', launch.container);
      if (launch.workingDir === null) mkdirSync(workingDir, { recursive: true });
      const cwd = checkWorkingDir(workingDir);
      if (!cwd.ok) return cwd;
      const [command, ...args] = plan.value.argv;
      const executable = resolveExecutable(command ?? '', plan.value.env['PATH'] ?? defaultPath, workingDir);
      if (!executable.ok) return executable;
      const seq = await this.#pruneOlderRuns(uid, launch.container);
      const logPath = join(podDir, 'logs', launch.container, `${launch.runId}.log`);
      mkdirSync(dirname(logPath), { recursive: true });
      const memory = this.#deps.memory;
      const cgroupDir = memory.kind === 'cgroup' ? createRunCgroup(memory.parent, `edgehive-${uid}-${launch.runId}`, launch.memoryBytesMax) : null;
      const exitFile = this.#deps.records.exitFilePath(uid, launch.runId);
      this.#deps.records.preparePod(uid);
      rmSync(exitFile, { force: true });
      const logFd = openSync(logPath, 'a', 0o640);
      return ok({ workingDir, executable: executable.value, args, env: plan.value.env, seq, logPath, logFd, cgroupDir, exitFile });
    } catch (e) {
      return err({ reason: 'RunContainerError', message: `preparing container ${launch.container}: ${(e as Error).message}` });
    }
  }

  /** Records the run durably, then watches it; an unrecordable run is killed (it could never be found again). */
  #register(record: RunRecord, child: NonNullable<Run['child']> & { pid: number }): Result<StartedContainer, RuntimeError> {
    try {
      this.#deps.records.write(record);
    } catch (e) {
      process.kill(-child.pid, 'SIGKILL');
      return err({ reason: 'RunContainerError', message: `cannot record the run: ${(e as Error).message}` });
    }
    const run = newRun(record, child);
    this.#runs.set(runKey(record.pod.uid, record.runId), run);
    child.unref();
    child.once('exit', (code, signal) => this.#finish(run, exitCodeOf(code, signal)));
    return ok({ ...refOf(record), pid: record.pid, startedAt: record.startedAt });
  }

  /** Keeps a container's newest ended run (it becomes `previous`), forgets older ones; returns the next seq. */
  async #pruneOlderRuns(podUid: string, container: string): Promise<number> {
    const runs = runsOfContainer(this.#runs.values(), podUid, container);
    for (const old of runs.slice(1)) {
      if (old.exit === null) continue;
      this.#runs.delete(runKey(podUid, old.record.runId));
      this.#deps.records.remove(podUid, old.record.runId);
      await this.#logs.remove(old.record.logPath);
    }
    return (runs[0]?.record.seq ?? 0) + 1;
  }

  /**
   * Concludes a run's end, once: the shim's exit file is the truth when present (also for adopted
   * runs); otherwise our child's own status, or for an adopted run nothing (ContainerLost).
   */
  #finish(run: Run, childExitCode: number | null): void {
    if (run.exit !== null || this.#closed) return;
    const r = run.record;
    const fileCode = this.#deps.records.readExitCode(r.pod.uid, r.runId);
    const exitCode = fileCode ?? childExitCode ?? 137;
    const oomKilled = r.cgroupDir !== null && cgroupOomKilled(r.cgroupDir);
    const lost = fileCode === undefined && childExitCode === null && r.killReason === null && !oomKilled;
    const reason = lost ? 'ContainerLost' : exitReasonOf(exitCode, r.killReason, oomKilled);
    const exit: ContainerExit = { ...refOf(r), exitCode, reason, message: exitMessageOf(exitCode, reason), at: new Date(this.#deps.clock.nowMs()).toISOString() };
    if (run.killTimer !== null) clearTimeout(run.killTimer);
    if (r.cgroupDir !== null) {
      killCgroup(r.cgroupDir);
      removeCgroup(r.cgroupDir);
    }
    for (const session of run.sessions) session.kill();
    run.exit = exit;
    run.record = { ...r, exit };
    try {
      this.#deps.records.write(run.record);
    } catch {
      // The exit is still reported; a later scan concludes it again from the exit file.
    }
    run.settle(exit);
    if (run.watched) this.#exits.next(exit);
  }

  /** A loaded run that was not verified yet: watch it if it is the recorded process, else conclude its end. */
  #verify(run: Run): void {
    if (run.exit !== null || run.watched) return;
    if (isRunAlive(run, this.#deps.bootId)) run.watched = true;
    else this.#finish(run, null);
  }

  /** SIGKILLs a run's group (its cgroup when it has one), recording why first so any agent reports it right. */
  #kill(run: Run, reason: 'Killed' | 'OOMKilled'): void {
    if (run.exit !== null || !isRunAlive(run, this.#deps.bootId)) return;
    if (run.record.killReason === null) {
      run.record = { ...run.record, killReason: reason };
      try {
        this.#deps.records.write(run.record);
      } catch {
        // Kill anyway: this agent still knows why; only an agent restarted before the exit would not.
      }
    }
    const cgroup = run.record.cgroupDir;
    if (cgroup === null || !killCgroup(cgroup)) signalRunGroup(run, this.#deps.bootId, 'SIGKILL');
  }

  async stop(ref: RunRef, gracePeriodSeconds: number): Promise<Result<ContainerExit, RuntimeError>> {
    if (this.#closed) return unavailable('the runtime is closed');
    if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0) return err({ reason: 'CreateContainerConfigError', message: 'gracePeriodSeconds must be a non-negative integer' });
    const run = this.#runs.get(runKey(ref.podUid, ref.runId));
    if (run === undefined || run.record.container !== ref.container) return err({ reason: 'NotFound', message: `no run ${ref.runId} of container ${ref.container} in pod ${ref.podUid}` });
    this.#verify(run);
    if (run.exit !== null) return ok(run.exit);
    const killAtMs = this.#deps.clock.monotonicMs() + gracePeriodSeconds * 1000;
    if (run.killAtMs === null || killAtMs < run.killAtMs) {
      const first = run.killAtMs === null;
      run.killAtMs = killAtMs;
      if (run.killTimer !== null) clearTimeout(run.killTimer);
      if (gracePeriodSeconds === 0) this.#kill(run, 'Killed');
      else {
        if (first) signalRunGroup(run, this.#deps.bootId, 'SIGTERM');
        run.killTimer = setTimeout(() => this.#kill(run, 'Killed'), gracePeriodSeconds * 1000);
      }
    }
    return ok(await run.ended);
  }

  async scan(): Promise<readonly ObservedProcess[]> {
    const runs = [...this.#runs.values()].sort((a, b) => a.record.seq - b.record.seq);
    return runs.map((run): ObservedProcess => {
      this.#verify(run);
      const base = { ...refOf(run.record), pod: run.record.pod };
      return run.exit === null ? { ...base, alive: true, pid: run.record.pid } : { ...base, alive: false, exit: run.exit };
    });
  }

  async killOrphans(keep: (run: RunRef) => boolean): Promise<readonly ContainerExit[]> {
    // A closed runtime no longer sees exits, so it could not report these.
    if (this.#closed) return [];
    const killed: Promise<ContainerExit>[] = [];
    for (const run of this.#runs.values()) {
      if (run.exit !== null || keep(refOf(run.record))) continue;
      this.#verify(run);
      if (run.exit !== null) continue;
      this.#kill(run, 'Killed');
      killed.push(run.ended);
    }
    return Promise.all(killed);
  }

  async logs(podUid: string, container: string, options: LogOptions): Promise<Result<Readable, RuntimeError>> {
    const runs = runsOfContainer(this.#runs.values(), podUid, container);
    const run = options.previous ? runs[1] : runs[0];
    if (run === undefined) {
      const what = options.previous ? `previous terminated container "${container}"` : `container "${container}"`;
      return err({ reason: 'NotFound', message: `${what} in pod ${podUid} not found` });
    }
    const follow = options.follow && run.exit === null;
    if (follow && this.#followers >= this.#deps.limits.logFollowersMax) return err({ reason: 'LimitReached', message: `${this.#deps.limits.logFollowersMax} logs are followed already` });
    const sinceMs = options.sinceSeconds === undefined ? null : this.#deps.clock.nowMs() - options.sinceSeconds * 1000;
    const hasEnded = (): boolean => {
      this.#verify(run);
      return run.exit !== null || this.#closed;
    };
    const stream = this.#logs.read(run.record.logPath, {
      tailLines: options.tailLines,
      sinceMs,
      follow: follow ? { hasEnded, pollMs: this.#deps.limits.logFollowPollMs } : null,
    });
    if (follow) {
      this.#followers += 1;
      stream.once('close', () => (this.#followers -= 1));
    }
    return ok(stream);
  }

  async exec(podUid: string, container: string, command: readonly string[], options: ExecOptions): Promise<Result<ExecSession, RuntimeError>> {
    const run = runsOfContainer(this.#runs.values(), podUid, container)[0];
    if (run === undefined) return err({ reason: 'NotFound', message: `container ${container} not found in pod ${podUid}` });
    this.#verify(run);
    if (run.exit !== null) return err({ reason: 'NotRunning', message: `container ${container} is not running` });
    if (this.#sessions >= this.#deps.limits.execSessionsMax) return err({ reason: 'LimitReached', message: `${this.#deps.limits.execSessionsMax} exec sessions are open already` });
    this.#sessions += 1;
    const started = await startExecSession(run, this.#deps.bootId, command, options);
    if (!started.ok) this.#sessions -= 1;
    else void started.value.exit.then(() => (this.#sessions -= 1));
    return started;
  }

  async probe(podUid: string, container: string, action: ProbeAction, timeoutSeconds: number): Promise<ProbeResult> {
    const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
    switch (action.type) {
      case 'exec':
        return checkExec(() => this.exec(podUid, container, action.command, { stdin: false }), timeoutMs);
      case 'httpGet':
        return checkHttp(action, timeoutMs);
      case 'tcpSocket':
        return checkTcp(action, timeoutMs);
      default:
        return assertNever(action);
    }
  }

  async refreshVolumes(podUid: string, volumes: readonly VolumeMount[]): Promise<Result<void, RuntimeError>> {
    const podDir = this.#podDir(podUid);
    if (!existsSync(podDir)) return ok(undefined);
    const refreshed = materializeVolumes(podDir, volumes);
    return refreshed.ok ? ok(undefined) : refreshed;
  }

  async removePod(podUid: string): Promise<Result<void, RuntimeError>> {
    const runs = [...this.#runs.values()].filter((r) => r.record.pod.uid === podUid);
    for (const run of runs) this.#verify(run);
    const alive = runs.find((r) => r.exit === null);
    if (alive !== undefined) return err({ reason: 'StillRunning', message: `pod ${podUid} still runs container ${alive.record.container}; stop it first` });
    for (const run of runs) {
      if (run.record.cgroupDir !== null) removeCgroup(run.record.cgroupDir);
      await this.#logs.remove(run.record.logPath);
      this.#runs.delete(runKey(podUid, run.record.runId));
    }
    this.#deps.records.removePod(podUid);
    rmSync(this.#podDir(podUid), { recursive: true, force: true });
    return ok(undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#housekeeping.stop();
    for (const run of this.#runs.values()) {
      if (run.killTimer !== null) clearTimeout(run.killTimer);
      run.child?.removeAllListeners('exit');
    }
    this.#exits.complete();
  }

  #podDir(podUid: string): string {
    return join(this.#deps.dataDir, 'pods', podUid);
  }
}

