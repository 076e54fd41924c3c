// Test helpers that run Debian's mosquitto and its clients as real processes: a broker on a free
// 127.0.0.1 port from a temporary config, a password file made by mosquitto_passwd, and a check
// that fails loudly (never skips) when the binaries are missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { until } from './mqtt.testing.js';

const MOSQUITTO_BINARIES = ['mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'mosquitto_passwd'] as const;
type MosquittoBinary = (typeof MOSQUITTO_BINARIES)[number];
const START_ATTEMPTS_MAX = 5;
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;

/** The absolute path of each mosquitto binary; throws a clear failure naming `.ci/run` when one is missing. */
export function requireMosquitto(): Record<MosquittoBinary, string> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin'];
  const found: Partial<Record<MosquittoBinary, string>> = {};
  for (const name of MOSQUITTO_BINARIES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        found[name] = candidate;
        break;
      } catch {
        // not in this directory
      }
    }
  }
  const missing = MOSQUITTO_BINARIES.filter((name) => found[name] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `mosquitto is not installed (missing: ${missing.join(', ')}). These tests need it; .ci/run installs it (apt-get install -y mosquitto mosquitto-clients).`,
    );
  }
  return found as Record<MosquittoBinary, string>;
}

/** A running mosquitto process. */
export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** Everything mosquitto logged (subscriptions included, one `<client id> <qos> <filter>` line each). */
  readonly output: () => string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return address.port;
}

/** Writes a password file with one user, made by the real mosquitto_passwd. */
export async function writePasswordFile(dir: string, username: string, password: string): Promise<string> {
  const file = join(dir, 'passwords');
  const made = spawnSync(requireMosquitto().mosquitto_passwd, ['-b', '-c', file, username, password], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
  await chmod(file, 0o600);
  return file;
}

/** Makes a temporary directory removed by the returned cleanup. */
export async function tempDir(): Promise<{ readonly dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-mosquitto-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts `mosquitto -c <config>` on a free 127.0.0.1 port with the test settings of
 * platform-notes.md §4 plus `extraConfig` lines; retries on another port if one was taken meanwhile.
 * With `fixedPort` (a restart on the port a client knows), it tries that port only.
 */
export async function startMosquitto(dir: string, extraConfig: readonly string[], fixedPort?: number): Promise<Mosquitto> {
  const { mosquitto } = requireMosquitto();
  let lastOutput = '';
  for (let attempt = 1; attempt <= (fixedPort === undefined ? START_ATTEMPTS_MAX : 1); attempt++) {
    const port = fixedPort ?? (await freePort());
    const config = join(dir, `mosquitto-${port}.conf`);
    const lines = [`listener ${port} 127.0.0.1`, 'max_queued_messages 0', 'max_inflight_messages 0', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'log_type subscribe', ...extraConfig];
    // Run as root, mosquitto would switch to the `mosquitto` user, which cannot read our temporary files.
    lines.push(`user ${userInfo().username}`);
    await writeFile(config, `${lines.join('\n')}\n`);
    const child = spawn(mosquitto, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited = false;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', () => (exited = true));
    await until('mosquitto to run or exit', () => exited || / running/.test(output), READY_TIMEOUT_MS);
    if (!exited) return { port, url: `mqtt://127.0.0.1:${port}`, output: () => output, stop: () => stopProcess(child) };
    lastOutput = output;
    if (!/in use/i.test(output)) break;
  }
  throw new Error(`mosquitto did not start: ${lastOutput}`);
}

/** SIGTERM, then SIGKILL if the process has not exited after a grace period; resolves once it exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
