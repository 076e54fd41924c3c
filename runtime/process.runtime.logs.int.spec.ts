// Container logs on real files. Method: containers print known lines; the log is read back whole,
// by tail, for the previous run, and followed while lines are still being written; a fast writer
// paced by rotation against a small logBytesMax shows rotation keeping every file bounded, and
// readers (tail, follow) seeing every line once, in order.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProcessRuntime } from './process.runtime.js';
import type { LogOptions } from './runtime.port.js';
import { exitOf, launchOf, nodeScript, readAll, RuntimeFixture, sh, waitFor } from './runtime.testing.js';

let fx: RuntimeFixture;
beforeEach(() => {
  fx = new RuntimeFixture();
});
afterEach(() => fx.cleanup());

const whole: LogOptions = { previous: false, tailLines: null, follow: false };

async function runToEnd(runtime: ProcessRuntime, command: readonly string[]): Promise<string> {
  const launch = launchOf(command, { workingDir: fx.dir });
  const exited = exitOf(runtime, launch.runId);
  const started = await runtime.start(launch);
  if (!started.ok) throw new Error(started.error.message);
  await exited;
  return launch.runId;
}

async function logText(runtime: ProcessRuntime, options: LogOptions): Promise<string> {
  const logs = await runtime.logs('uid-1', 'app', options);
  if (!logs.ok) throw new Error(logs.error.message);
  return readAll(logs.value);
}

describe('logs of a container', () => {
  it('serve the latest run, or the one before with previous; older runs are forgotten', async () => {
    const runtime = fx.open();
    const first = await runToEnd(runtime, sh('echo one; echo oops >&2'));
    await runToEnd(runtime, sh('echo two'));
    expect(await logText(runtime, whole)).toBe('two\n');
    expect(await logText(runtime, { ...whole, previous: true })).toBe('one\noops\n');
    await runToEnd(runtime, sh('echo three'));
    expect(await logText(runtime, { ...whole, previous: true })).toBe('two\n');
    expect(existsSync(join(fx.dataDir, 'pods', 'uid-1', 'logs', 'app', `${first}.log`))).toBe(false);
  });

  it('previous without an earlier run, or an unknown container, is NotFound', async () => {
    const runtime = fx.open();
    await runToEnd(runtime, sh('echo only'));
    const previous = await runtime.logs('uid-1', 'app', { ...whole, previous: true });
    expect(previous.ok === false && previous.error).toEqual({ reason: 'NotFound', message: 'previous terminated container "app" in pod uid-1 not found' });
    const unknown = await runtime.logs('uid-1', 'nope', whole);
    expect(unknown.ok === false && unknown.error.reason).toBe('NotFound');
  });

  it('tailLines keeps the last lines (a final newline ends the last line, not a new one)', async () => {
    const runtime = fx.open();
    await runToEnd(runtime, sh('for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; done'));
    expect(await logText(runtime, { ...whole, tailLines: 3 })).toBe('8\n9\n10\n');
    expect(await logText(runtime, { ...whole, tailLines: 100 })).toBe('1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n');
    expect(await logText(runtime, { ...whole, tailLines: 0 })).toBe('');
    await runToEnd(runtime, sh('printf "a\\nb\\npartial"'));
    expect(await logText(runtime, { ...whole, tailLines: 2 })).toBe('b\npartial');
  });

  it('follow streams lines written after the call and ends when the run ends', async () => {
    const runtime = fx.open();
    const launch = launchOf(sh('echo a; while [ ! -e go1 ]; do sleep 0.02; done; echo b; while [ ! -e go2 ]; do sleep 0.02; done; echo c'), { workingDir: fx.dir });
    await runtime.start(launch);
    const logs = await runtime.logs('uid-1', 'app', { ...whole, follow: true });
    if (!logs.ok) throw new Error(logs.error.message);
    let text = '';
    logs.value.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const ended = new Promise((resolve) => logs.value.once('end', resolve));
    await waitFor('line a', () => text === 'a\n');
    writeFileSync(join(fx.dir, 'go1'), '');
    await waitFor('line b', () => text === 'a\nb\n');
    writeFileSync(join(fx.dir, 'go2'), '');
    await ended;
    expect(text).toBe('a\nb\nc\n');
  });

  it('a follower that closes early frees its place (logFollowersMax)', async () => {
    const runtime = fx.open({ limits: { logFollowersMax: 1 } });
    await runtime.start(launchOf(sh('echo x; sleep 30')));
    const follow = { ...whole, follow: true };
    const first = await runtime.logs('uid-1', 'app', follow);
    if (!first.ok) throw new Error(first.error.message);
    const refused = await runtime.logs('uid-1', 'app', follow);
    expect(refused.ok === false && refused.error.reason).toBe('LimitReached');
    const closed = new Promise((resolve) => first.value.once('close', resolve));
    first.value.destroy();
    await closed;
    const again = await runtime.logs('uid-1', 'app', follow);
    expect(again.ok).toBe(true);
    if (again.ok) (again.value as Readable).destroy();
  });
});

/**
 * A writer paced by rotation: it appends `rounds` rounds of `linesPerRound` 100-byte numbered
 * lines, each in one write and each followed by a wait until the runtime has truncated its log,
 * then `finalLines` more (under logBytesMax, so they stay in the live file) and exits; the number
 * of rotations is so known whatever the machine's load.
 */
const pacedWriter = (rounds: number, linesPerRound: number, finalLines: number) =>
  nodeScript(`
    const fs = require('node:fs');
    const lines = (from, count) => Array.from({ length: count }, (_, i) => String(from + i).padStart(6, '0') + 'x'.repeat(93) + '\\n').join('');
    let round = 0;
    const next = () => {
      if (round === ${rounds}) return fs.writeSync(1, lines(round * ${linesPerRound}, ${finalLines}));
      const text = lines(round * ${linesPerRound}, ${linesPerRound});
      fs.writeSync(1, text);
      round += 1;
      const wait = setInterval(() => { if (fs.fstatSync(1).size < text.length) { clearInterval(wait); next(); } }, 5);
    };
    next();`);

const numbersIn = (text: string): number[] => text.split('\n').filter((l) => l !== '').map((l) => Number(l.slice(0, 6)));
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('log rotation', () => {
  it('keeps logRotatedFilesMax rotated files, each near logBytesMax, lines in order', async () => {
    const logBytesMax = 4096;
    const runtime = fx.open({ limits: { logBytesMax, logRotatedFilesMax: 2, logCheckIntervalMs: 20 } });
    // Six rounds of 5000 bytes (six rotations, the last two kept), then 1000 bytes in the live file.
    const runId = await runToEnd(runtime, pacedWriter(6, 50, 10));
    const path = join(fx.dataDir, 'pods', 'uid-1', 'logs', 'app', `${runId}.log`);
    expect(readdirSync(dirname(path)).sort()).toEqual([`${runId}.log`, `${runId}.log.1`, `${runId}.log.2`]);
    expect([path, `${path}.1`, `${path}.2`].map((p) => statSync(p).size)).toEqual([1000, 5000, 5000]);
    expect(numbersIn(await logText(runtime, whole))).toEqual(upTo(310).slice(200));
    expect(await logText(runtime, { ...whole, tailLines: 1 })).toBe(`000309${'x'.repeat(93)}\n`);
    // 70 lines: the 10 live ones, all 50 of .1 and the last 10 of .2.
    expect(numbersIn(await logText(runtime, { ...whole, tailLines: 70 }))).toEqual(upTo(310).slice(240));
  });

  it('sinceSeconds skips rotated files last written before the cutoff (lines carry no timestamps)', async () => {
    const runtime = fx.open({ limits: { logBytesMax: 4096, logRotatedFilesMax: 2, logCheckIntervalMs: 20 } });
    const runId = await runToEnd(runtime, pacedWriter(2, 50, 10));
    const path = join(fx.dataDir, 'pods', 'uid-1', 'logs', 'app', `${runId}.log`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(`${path}.2`, hourAgo, hourAgo);
    expect(numbersIn(await logText(runtime, { ...whole, sinceSeconds: 60 }))).toEqual(upTo(110).slice(50));
    expect(numbersIn(await logText(runtime, { ...whole, sinceSeconds: 7200 }))).toEqual(upTo(110));
  });

  it('a follower reads across rotations without losing or repeating a line', async () => {
    const runtime = fx.open({ limits: { logBytesMax: 2048, logRotatedFilesMax: 3, logCheckIntervalMs: 20 } });
    await runtime.start(launchOf(pacedWriter(12, 25, 10), { workingDir: fx.dir }));
    const logs = await runtime.logs('uid-1', 'app', { ...whole, follow: true });
    if (!logs.ok) throw new Error(logs.error.message);
    expect(numbersIn(await readAll(logs.value))).toEqual(upTo(310));
  });
});
