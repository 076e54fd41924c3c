// Drives the real kubectl binaries against a server, for end-to-end specs: one-shot runs (with
// optional stdin, e.g. `apply -f -`) and long-running ones (`get -w`) whose output is awaited line
// by line. Every child is tracked so a spec can kill what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { findKubectl } from '../tls/kubectl.fixture.js';

export { findKubectl };

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlRunner {
  readonly binary: string;
  run(args: readonly string[], stdin?: string): Promise<KubectlResult>;
  /** Runs `args` until stopped; `waitFor` resolves with the output once `match` holds. */
  start(args: readonly string[]): { waitFor(match: (stdout: string) => boolean, timeoutMs?: number): Promise<string>; stop(): void };
  killAll(): void;
}

export function kubectlRunner(binary: string, kubeconfig: string, home: string, cacheDir: string): KubectlRunner {
  const running = new Set<ChildProcess>();
  const spawnKubectl = (args: readonly string[]): ChildProcess => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, KUBECONFIG: kubeconfig, NO_PROXY: '127.0.0.1,localhost' };
    const child = spawn(binary, ['--cache-dir', cacheDir, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    child.once('close', () => running.delete(child));
    return child;
  };
  return {
    binary,
    run(args, stdin) {
      const child = spawnKubectl(args);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      child.stdout?.on('data', (c: Buffer) => out.push(c));
      child.stderr?.on('data', (c: Buffer) => errOut.push(c));
      child.stdin?.end(stdin ?? '');
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`kubectl ${args.join(' ')} did not finish in 30 s`));
        }, 30_000);
        child.once('error', reject);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
        });
      });
    },
    start(args) {
      const child = spawnKubectl(args);
      child.stdin?.end();
      let stdout = '';
      const waiters = new Set<() => void>();
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        for (const wake of waiters) wake();
      });
      child.stderr?.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        for (const wake of waiters) wake();
      });
      return {
        waitFor: (match, timeoutMs = 15_000) =>
          new Promise((resolve, reject) => {
            const check = (): void => {
              if (!match(stdout)) return;
              waiters.delete(check);
              clearTimeout(timer);
              resolve(stdout);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(new Error(`kubectl ${args.join(' ')}: no matching output within ${timeoutMs} ms; got:\n${stdout}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
        stop: () => child.kill('SIGTERM'),
      };
    },
    killAll() {
      for (const child of running) child.kill('SIGKILL');
      running.clear();
    },
  };
}
