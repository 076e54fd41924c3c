// Test fixtures for the process runtime: a temp data dir, runtimes with short intervals, launch
// builders, condition waits, and a cleanup that kills every process a test started.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import type { ProcessRuntimeOptions } from './process.limits.js';
import { openProcessRuntime, type ProcessRuntime } from './process.runtime.js';
import { readProcStat } from './proc.reader.js';
import type { ContainerExit, ContainerLaunch } from './runtime.port.js';

/** Intervals short enough for tests to finish quickly. */
export const fastLimits = { exitPollIntervalMs: 50, memoryPollIntervalMs: 50, logCheckIntervalMs: 50, logFollowPollMs: 20 } as const;

/** One test's world: a data dir and every runtime and stray pid to clean up after it. */
export class RuntimeFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'edgehive-runtime-'));
  readonly dataDir = join(this.dir, 'data');
  readonly #runtimes: ProcessRuntime[] = [];
  readonly #pids = new Set<number>();

  /** Opens a runtime on this fixture's data dir (a second call simulates an agent restart). */
  open(options: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime {
    const opened = openProcessRuntime({ dataDir: this.dataDir, memoryEnforcement: 'rss', ...options, limits: { ...fastLimits, ...options.limits } });
    if (!opened.ok) throw new Error(opened.error.message);
    this.#runtimes.push(opened.value);
    return opened.value;
  }

  /** Remembers a process group started outside a runtime, to kill it at cleanup. */
  track(pid: number): void {
    this.#pids.add(pid);
  }

  /** Kills every recorded run of every runtime, closes them, kills tracked groups, removes the dir. */
  async cleanup(): Promise<void> {
    for (const runtime of this.#runtimes) {
      for (const observed of await runtime.scan()) if (observed.alive) this.#pids.add(observed.pid);
      await runtime.killOrphans(() => false);
      await runtime.close();
    }
    for (const pid of this.#pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let runCounter = 0;

/** A launch of `command` in pod `p`/`uid-1` with everything else empty; override what a test needs. */
export function launchOf(command: readonly string[], overrides: Partial<ContainerLaunch> = {}): ContainerLaunch {
  runCounter += 1;
  return {
    pod: { namespace: 'default', name: 'p', uid: 'uid-1' },
    container: 'app',
    runId: `run-${runCounter}`,
    command,
    args: [],
    env: [],
    workingDir: null,
    volumes: [],
    memoryBytesMax: null,
    ...overrides,
  };
}

/** A shell script as a container command. */
export const sh = (script: string): readonly string[] => ['/bin/sh', '-c', script];

/** Node itself as a container command, running `code`. */
export const nodeScript = (code: string): readonly string[] => [process.execPath, '-e', code];

/** The next exit of `runId` on `runtime`, failing after `timeoutMs`; subscribe before causing it. */
export function exitOf(runtime: ProcessRuntime, runId: string, timeoutMs = 10_000): Promise<ContainerExit> {
  return firstValueFrom(runtime.exits.pipe(filter((e) => e.runId === runId), timeout(timeoutMs)));
}

/** Polls `condition` every 20 ms until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `pid` names a live (non-zombie) process. */
export const isAlive = (pid: number): boolean => {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
};

/** Reads a whole Readable as text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}
