// Runs the real kubectl binaries as child processes for the TLS specs, and keeps track of them so
// `afterEach` can kill whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const KUBECTL_TIMEOUT_MS = 30_000;

export interface KubectlRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir.length > 0 && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds `kubectl.<minor>` (e.g. `kubectl.1.32`): on the PATH, or beside the binary that `kubectl`
 * on the PATH links to, where the google-cloud-sdk dispatcher keeps its versioned binaries.
 */
export function findKubectl(minor: string): string | undefined {
  const name = `kubectl.${minor}`;
  const direct = onPath(name);
  if (direct !== undefined) return direct;
  const dispatcher = onPath('kubectl');
  if (dispatcher === undefined) return undefined;
  const beside = join(dirname(realpathSync(dispatcher)), name);
  return isExecutable(beside) ? beside : undefined;
}

/** Like `findKubectl`, but a missing binary fails the test: these specs always run (STYLE R18). */
export function requireKubectl(minor: string): string {
  const binary = findKubectl(minor);
  if (binary === undefined) throw new Error(`kubectl.${minor} is neither on the PATH nor beside kubectl`);
  return binary;
}

/** Child processes started by one spec file; `killAll` in `afterEach`. */
export class ChildProcesses {
  readonly #running = new Set<ChildProcess>();

  /** Runs `binary args` to completion; `home` keeps kubectl away from the real `~/.kube`. */
  run(binary: string, args: readonly string[], options: { readonly home: string }): Promise<KubectlRun> {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: options.home, NO_PROXY: '127.0.0.1,localhost' };
    delete env['KUBECONFIG'];
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: KUBECTL_TIMEOUT_MS });
    this.#running.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    return new Promise((resolve, reject) => {
      child.once('error', (error) => {
        this.#running.delete(child);
        reject(error);
      });
      child.once('close', (code) => {
        this.#running.delete(child);
        resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
      });
    });
  }

  killAll(): void {
    for (const child of this.#running) child.kill('SIGKILL');
    this.#running.clear();
  }
}
