// The simulated process runtime of one node for the whole-system simulator: container processes
// that outlive the edge process (as the production ProcessRuntime's detached process groups do),
// started, stopped, killed and crashed on SimulatedTime, with the production runtime's rules for
// exits (SIGTERM then SIGKILL at the grace deadline, 137 for a SIGKILL, "Killed" as its reason).
import type { Incarnation, SimulatedTime, TimerHandle } from './simulated-time.testing.js';

/** One run of one container: a process the runtime records so a restarted edge finds it by scan. */
export interface SimProcess {
  readonly namespace: string;
  readonly name: string;
  readonly podUid: string;
  readonly container: string;
  readonly runId: string;
}

/** A run ended, as the runtime's `exits` stream reports it; `at` is the node's wall clock in ms. */
export interface SimExit {
  readonly podUid: string;
  readonly container: string;
  readonly runId: string;
  readonly exitCode: number;
  /** The production runtime's ExitReason: `Killed` for its own SIGKILL, else `Completed`/`Error`. */
  readonly reason?: string;
  /** A short message, as `kubectl describe` shows it (production's exitMessageOf). */
  readonly message?: string;
  readonly at: number;
}

/** Timing of the simulated runtime. */
export interface SimulatedRuntimeOptions {
  /** From `start` until the runtime reports the run started (the production start's promise resolving). */
  readonly startMs: number;
  /** How long a process takes to exit after SIGTERM (it exits 143 then, unless SIGKILLed at the grace deadline first). */
  readonly stopMs: number;
  /** The node's wall clock in ms (what `at` of an exit reads). */
  readonly wallMs: () => number;
}

interface Run {
  readonly process: SimProcess;
  alive: boolean;
  /** When the pending stop ends the run (simulated time), and the timer that does it. */
  stopAt: number | null;
  stopTimer: TimerHandle | null;
  /** Order of recording: scans and crash indices follow it, as the production scan sorts by seq. */
  readonly seq: number;
}

/** Exit code of a death by SIGTERM (128 + 15) and by SIGKILL (128 + 9). */
const SIGTERM_EXIT_CODE = 143;
const SIGKILL_EXIT_CODE = 137;
/** Runs one node records at most (alive or dead but not yet removed): far above any honest simulation. */
export const SIM_RUNS_MAX = 10_000;

const runKey = (podUid: string, runId: string): string => `${podUid}/${runId}`;

/** production runtime/process.spawner.ts exitReasonOf and exitMessageOf, for the exits the simulation produces. */
function exitWords(exitCode: number, killed: boolean): { readonly reason: string; readonly message: string } {
  if (killed && exitCode === SIGKILL_EXIT_CODE) return { reason: 'Killed', message: 'killed with SIGKILL by the runtime' };
  if (exitCode === 0) return { reason: 'Completed', message: 'exited with code 0' };
  return { reason: 'Error', message: exitCode > 128 ? `exited with code ${exitCode} (signal ${exitCode - 128})` : `exited with code ${exitCode}` };
}

/**
 * One node's container processes. Its events are owned by no edge life: a crashed edge leaves its
 * processes running, and a restarted edge scans them, adopts what its pods still claim and kills
 * the rest.
 * @example
 * const runtime = new SimulatedRuntime(time, 'edge-a', { startMs: 20, stopMs: 50, wallMs });
 * runtime.attach(life, (exit) => apps.exited(exit));
 * runtime.start({ namespace, name, podUid, container: 'app', runId }, life, (at) => started(at));
 */
export class SimulatedRuntime {
  readonly #time: SimulatedTime;
  readonly #options: SimulatedRuntimeOptions;
  readonly #runs = new Map<string, Run>();
  #seq = 0;
  #listener: { readonly life: Incarnation; readonly onExit: (exit: SimExit) => void } | null = null;

  constructor(
    time: SimulatedTime,
    readonly node: string,
    options: SimulatedRuntimeOptions,
  ) {
    if (!(options.startMs >= 0 && options.stopMs >= 0)) throw new Error('runtime delays are non-negative');
    this.#time = time;
    this.#options = options;
  }

  /** The current edge process listens for exits; exits while no live listener is attached are not delivered (the next life's scan shows the run dead). */
  attach(life: Incarnation, onExit: (exit: SimExit) => void): void {
    this.#listener = { life, onExit };
  }

  /**
   * Starts a run: its process exists (and a scan finds it) from now on, as production records a run
   * before its start resolves; `onStarted(wallMs)` after `startMs`, only while `life` lives and the
   * process still does (an exit before that is reported as an exit, as production's exits stream does).
   */
  start(process: SimProcess, life: Incarnation, onStarted: (atWallMs: number) => void): void {
    const key = runKey(process.podUid, process.runId);
    if (this.#runs.has(key)) throw new Error(`${this.node}: run ${key} started twice (run ids must be fresh)`);
    if (this.#runs.size >= SIM_RUNS_MAX) throw new Error(`${this.node}: more than ${SIM_RUNS_MAX} runs recorded`);
    const run: Run = { process: { ...process }, alive: true, stopAt: null, stopTimer: null, seq: this.#seq++ };
    this.#runs.set(key, run);
    this.#time.schedule(this.#options.startMs, life, () => {
      if (run.alive) onStarted(this.#options.wallMs());
    });
  }

  /**
   * SIGTERM: the run exits with 143 after `stopMs`, or is SIGKILLed (137, `Killed`) at the grace
   * deadline if that comes first (0 grace: at once). Asking again only shortens the deadline, as
   * production's stop does. A run that is not alive is left alone.
   */
  stop(podUid: string, runId: string, gracePeriodSeconds: number): void {
    const run = this.#runs.get(runKey(podUid, runId));
    if (run === undefined || !run.alive) return;
    const graceMs = Math.max(0, gracePeriodSeconds) * 1000;
    const killed = graceMs < this.#options.stopMs;
    const afterMs = killed ? graceMs : this.#options.stopMs;
    const at = this.#time.now + afterMs;
    if (run.stopAt !== null && run.stopAt <= at) return;
    run.stopTimer?.cancel();
    run.stopAt = at;
    run.stopTimer = this.#time.schedule(afterMs, null, () => this.#end(run, killed ? SIGKILL_EXIT_CODE : SIGTERM_EXIT_CODE, killed));
  }

  /** Fault: the `index`-th alive process (modulo their count, in recording order) exits on its own with `exitCode`; false if none is alive. */
  crashContainer(index: number, exitCode: number): boolean {
    const alive = this.#aliveRuns();
    if (alive.length === 0) return false;
    const run = alive[((index % alive.length) + alive.length) % alive.length]!;
    this.#end(run, exitCode, false);
    return true;
  }

  /** Every recorded run (alive or dead since), as production's scan: adopted runs keep being watched. */
  scan(): readonly (SimProcess & { readonly alive: boolean })[] {
    return [...this.#runs.values()].sort((a, b) => a.seq - b.seq).map((run) => ({ ...run.process, alive: run.alive }));
  }

  /** SIGKILLs each alive run `keep` refuses (exit 137, `Killed`, delivered as usual). */
  killOrphans(keep: (p: SimProcess) => boolean): void {
    for (const run of this.#aliveRuns()) if (!keep(run.process)) this.#end(run, SIGKILL_EXIT_CODE, true);
  }

  /** Forgets a pod's dead runs (production refuses while a run is alive; alive runs are kept here). */
  removePod(podUid: string): void {
    for (const [key, run] of this.#runs) if (run.process.podUid === podUid && !run.alive) this.#runs.delete(key);
  }

  /** Alive processes now (the world checks "no pod runs on two nodes" with it). */
  alive(): readonly SimProcess[] {
    return this.#aliveRuns().map((run) => run.process);
  }

  #aliveRuns(): Run[] {
    return [...this.#runs.values()].filter((run) => run.alive).sort((a, b) => a.seq - b.seq);
  }

  /**
   * The process is gone now (alive() and scans show it at once); its exit reaches the edge one event
   * later, as production's exits stream is asynchronous, and only if a live edge listens then.
   */
  #end(run: Run, exitCode: number, killed: boolean): void {
    if (!run.alive) return;
    run.alive = false;
    run.stopTimer?.cancel();
    run.stopTimer = null;
    const { podUid, container, runId } = run.process;
    const exit: SimExit = { podUid, container, runId, exitCode, ...exitWords(exitCode, killed), at: this.#options.wallMs() };
    this.#time.schedule(0, null, () => {
      const listener = this.#listener;
      if (listener !== null && listener.life.alive) listener.onExit(exit);
    });
  }
}
