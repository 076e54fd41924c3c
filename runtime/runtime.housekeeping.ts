// The process runtime's periodic work, each on its own bounded interval: noticing the end of
// adopted processes, enforcing memory limits by RSS polling, and rotating live log files.
import type { ContainerLogs } from './container-log.files.js';
import { readProcessGroups, readRssBytes } from './proc.reader.js';
import { isRunAlive, type Run } from './run.state.js';

export type HousekeepingDeps = {
  readonly limits: {
    readonly exitPollIntervalMs: number;
    readonly memoryPollIntervalMs: number;
    readonly logCheckIntervalMs: number;
    readonly logBytesMax: number;
  };
  readonly bootId: string;
  /** True when memory limits are enforced here (no cgroup). */
  readonly rssLimits: boolean;
  readonly runs: () => Iterable<Run>;
  readonly logs: ContainerLogs;
  readonly finish: (run: Run) => void;
  readonly kill: (run: Run, reason: 'OOMKilled') => void;
};

/** Runs the three loops; a loop whose previous round is still running skips a tick. */
export class RuntimeHousekeeping {
  readonly #deps: HousekeepingDeps;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(deps: HousekeepingDeps) {
    this.#deps = deps;
  }

  start(): void {
    const { limits } = this.#deps;
    this.#every(limits.exitPollIntervalMs, () => this.#pollAdoptedExits());
    if (this.#deps.rssLimits) this.#every(limits.memoryPollIntervalMs, () => this.#enforceMemoryLimits());
    this.#every(limits.logCheckIntervalMs, () => this.#rotateLogs());
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  #every(intervalMs: number, round: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      round().then(
        () => (busy = false),
        () => (busy = false),
      );
    }, intervalMs);
    // Containers outlive the agent; its timers must not keep a finished agent alive either.
    timer.unref();
    this.#timers.push(timer);
  }

  /** Adopted runs are not our children, so no exit event comes: their pid's identity is checked instead. */
  async #pollAdoptedExits(): Promise<void> {
    for (const run of [...this.#deps.runs()]) {
      if (run.watched && run.child === null && run.exit === null && !isRunAlive(run, this.#deps.bootId)) this.#deps.finish(run);
    }
  }

  /** Sums VmRSS over each limited run's process group; a group over its limit is SIGKILLed as OOMKilled. */
  async #enforceMemoryLimits(): Promise<void> {
    const limited = [...this.#deps.runs()].filter((r) => r.watched && r.exit === null && r.record.memoryBytesMax !== null && r.record.killReason === null);
    if (limited.length === 0) return;
    const groups = await readProcessGroups();
    for (const run of limited) {
      let rssBytes = 0;
      for (const pid of groups.get(run.record.pid) ?? []) rssBytes += await readRssBytes(pid);
      if (run.record.memoryBytesMax !== null && rssBytes > run.record.memoryBytesMax) this.#deps.kill(run, 'OOMKilled');
    }
  }

  async #rotateLogs(): Promise<void> {
    const { logBytesMax } = this.#deps.limits;
    for (const run of [...this.#deps.runs()]) {
      if (run.watched && run.exit === null) await this.#deps.logs.rotateIfOver(run.record.logPath, logBytesMax).catch(() => false);
    }
  }
}
