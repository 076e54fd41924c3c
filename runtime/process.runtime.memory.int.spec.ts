// Memory limits by RSS polling (what this machine has: no writable cgroup v2). Method: containers
// that allocate and touch memory past a 64 MiB limit, alone or split over two processes of one
// group, are SIGKILLed and reported OOMKilled with 137; one under its limit completes; and a
// runtime that adopted a container after a restart enforces its limit too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitOf, launchOf, nodeScript, RuntimeFixture, sh } from './runtime.testing.js';

let fx: RuntimeFixture;
beforeEach(() => {
  fx = new RuntimeFixture();
});
afterEach(() => fx.cleanup());

const mib = 1024 * 1024;
const limit = 64 * mib;
/** Touches 8 MiB more every 20 ms, up to 1 GiB, then exits 0 (so a missed kill fails the test, not the machine). */
const allocating = "const keep = []; const t = setInterval(() => { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); if (keep.length === 128) { clearInterval(t); } }, 20);";

describe('a memory limit enforced by RSS polling', () => {
  it('kills a process that grows past it: OOMKilled, 137', async () => {
    const runtime = fx.open();
    expect(runtime.memoryEnforcement.kind).toBe('rss');
    const launch = launchOf(nodeScript(allocating), { memoryBytesMax: limit });
    const exited = exitOf(runtime, launch.runId);
    expect((await runtime.start(launch)).ok).toBe(true);
    expect(await exited).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('sums the whole process group: two processes of 40 MiB each pass a 64 MiB limit together', async () => {
    const runtime = fx.open();
    const holder = `${process.execPath} -e "globalThis.b = Buffer.alloc(40 * 1024 * 1024, 1); setInterval(() => {}, 1000)"`;
    const launch = launchOf(sh(`${holder} & ${holder} & wait`), { memoryBytesMax: limit });
    const exited = exitOf(runtime, launch.runId);
    await runtime.start(launch);
    expect(await exited).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('leaves a process under its limit alone', async () => {
    const runtime = fx.open();
    const launch = launchOf(sh('sleep 0.5'), { memoryBytesMax: limit });
    const exited = exitOf(runtime, launch.runId);
    await runtime.start(launch);
    expect(await exited).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  it('is enforced on a container adopted after an agent restart', async () => {
    const first = fx.open();
    const launch = launchOf(nodeScript(`const fs = require('node:fs'); const w = setInterval(() => { if (fs.existsSync('grow')) { clearInterval(w); ${allocating} } }, 20);`), { memoryBytesMax: limit, workingDir: fx.dir });
    expect((await first.start(launch)).ok).toBe(true);
    await first.close();
    const second = fx.open();
    expect((await second.scan())[0]).toMatchObject({ alive: true });
    const exited = exitOf(second, launch.runId);
    writeFileSync(join(fx.dir, 'grow'), '');
    expect(await exited).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });
});
