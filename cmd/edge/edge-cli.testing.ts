// Runs long-lived `edgehive` processes (cloud, edge) for end-to-end specs: collects stdout lines to
// wait on and keeps stderr (the JSON logs) for the failure message, so a spec that times out says why.
import { spawn, type ChildProcess } from 'node:child_process';
import { edgehiveBin } from '../replay/cli-harness.testing.js';

export interface RunningCli {
  readonly child: ChildProcess;
  readonly lines: readonly string[];
  stderr(): string;
  /** Resolves with the first stdout line (so far or to come) matching `pattern`; fails after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code once the process ended (null when a signal ended it). */
  exited(): Promise<number | null>;
}

/** Starts `edgehive ...args`; the spec stops it (SIGTERM to test shutdown, SIGKILL in afterEach). */
export function startEdgehive(args: readonly string[]): RunningCli {
  const child = spawn(process.execPath, [edgehiveBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const lines: string[] = [];
  const wake = new Set<() => void>();
  let partial = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const check of wake) check();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after the last stdout chunk, unlike 'exit': a line printed just before exiting still counts.
  let closed = false;
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.once('close', () => {
    closed = true;
    for (const check of wake) check();
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((line) => pattern.test(line));
        if (found === undefined && !closed) return;
        wake.delete(check);
        clearTimeout(timer);
        if (found !== undefined) resolve(found);
        else reject(new Error(`edgehive ${args[0] ?? ''} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
      };
      const timer = setTimeout(() => {
        wake.delete(check);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
      }, timeoutMs);
      wake.add(check);
      check();
    });
  return { child, lines, stderr: () => stderr, waitForLine, exited: () => exit };
}
