// Agent restarts. Method: a first runtime (or a real agent process, SIGKILLed) starts containers;
// a new runtime on the same data dir scans, adopts the live ones and reports their later exits
// with their real exit codes, kills the ones the agent no longer wants, and never signals a
// process whose pid merely matches a record (different start time or boot).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProcStat } from './proc.reader.js';
import { RunRecordStore, type RunRecord } from './run-record.store.js';
import { exitOf, isAlive, launchOf, readAll, RuntimeFixture, sh, waitFor } from './runtime.testing.js';

let fx: RuntimeFixture;
beforeEach(() => {
  fx = new RuntimeFixture();
});
afterEach(() => fx.cleanup());

const waitForRelease = sh('echo before; while [ ! -e release ]; do sleep 0.05; done; echo after; exit 3');

describe('a new runtime on the data dir of one that went away', () => {
  it('adopts a live container and reports its later exit with its real exit code', async () => {
    const first = fx.open();
    const launch = launchOf(waitForRelease, { workingDir: fx.dir, env: [{ name: 'FOO', value: 'bar' }] });
    const started = await first.start(launch);
    if (!started.ok) throw new Error(started.error.message);
    await first.close();

    const second = fx.open();
    expect(await second.scan()).toEqual([expect.objectContaining({ runId: launch.runId, alive: true, pid: started.value.pid })]);
    // Exec still gets the container's env, read back from the adopted process.
    const session = await second.exec('uid-1', 'app', ['sh', '-c', 'echo "$FOO" "$(pwd)"'], { stdin: false });
    expect(session.ok && (await readAll(session.value.stdout))).toBe(`bar ${fx.dir}\n`);
    const exited = exitOf(second, launch.runId);
    writeFileSync(join(fx.dir, 'release'), '');
    expect(await exited).toMatchObject({ runId: launch.runId, exitCode: 3, reason: 'Error' });
    expect((await second.scan())[0]).toMatchObject({ alive: false, exit: { exitCode: 3 } });
  });

  it('reports a container that ended while no runtime watched, with the exit code the shim kept', async () => {
    const first = fx.open();
    const launch = launchOf(sh('sleep 0.2; exit 4'));
    const started = await first.start(launch);
    if (!started.ok) throw new Error(started.error.message);
    await first.close();
    await waitFor('the container to end', () => !isAlive(started.value.pid));

    const second = fx.open();
    expect(await second.scan()).toEqual([expect.objectContaining({ alive: false, exit: expect.objectContaining({ exitCode: 4, reason: 'Error' }) })]);
  });

  it('killOrphans kills the runs the agent no longer wants and keeps the others', async () => {
    const first = fx.open();
    const wanted = launchOf(sh('sleep 30'), { container: 'wanted' });
    const orphan = launchOf(sh('sleep 30'), { container: 'orphan' });
    const a = await first.start(wanted);
    const b = await first.start(orphan);
    if (!a.ok || !b.ok) throw new Error('start failed');
    await first.close();

    const second = fx.open();
    await second.scan();
    const killed = await second.killOrphans((run) => run.runId === wanted.runId);
    expect(killed).toEqual([expect.objectContaining({ runId: orphan.runId, exitCode: 137, reason: 'Killed' })]);
    await waitFor('the orphan to be gone', () => !isAlive(b.value.pid));
    expect(isAlive(a.value.pid)).toBe(true);
  });

  it('never kills a process whose pid matches a record made for another process', async () => {
    const stranger = spawn('/bin/sh', ['-c', 'sleep 30'], { detached: true, stdio: 'ignore' });
    const pid = stranger.pid ?? 0;
    fx.track(pid);
    const stat = readProcStat(pid);
    if (stat === undefined) throw new Error('no stat for the stranger');
    const store = new RunRecordStore(fx.dataDir);
    const bootId = (await import('node:fs')).readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const fake = (runId: string, identity: Pick<RunRecord, 'startTicks' | 'bootId'>): RunRecord => ({
      v: 1, pod: { namespace: 'default', name: 'p', uid: 'uid-1' }, container: runId, runId, seq: 1, pid, ...identity,
      startedAt: new Date().toISOString(), workingDir: fx.dir, logPath: join(fx.dir, `${runId}.log`), memoryBytesMax: null, cgroupDir: null, killReason: null, exit: null,
    });
    store.write(fake('other-start', { startTicks: stat.startTicks + 1, bootId }));
    store.write(fake('other-boot', { startTicks: stat.startTicks, bootId: '00000000-0000-0000-0000-000000000000' }));

    const runtime = fx.open();
    const observed = [...(await runtime.scan())].sort((a, b) => a.runId.localeCompare(b.runId));
    expect(observed).toEqual([
      expect.objectContaining({ runId: 'other-boot', alive: false, exit: expect.objectContaining({ reason: 'ContainerLost' }) }),
      expect.objectContaining({ runId: 'other-start', alive: false, exit: expect.objectContaining({ reason: 'ContainerLost', exitCode: 137 }) }),
    ]);
    expect(await runtime.killOrphans(() => false)).toEqual([]);
    const stopped = await runtime.stop({ podUid: 'uid-1', container: 'other-start', runId: 'other-start' }, 0);
    expect(stopped.ok && stopped.value.reason).toBe('ContainerLost');
    expect(isAlive(pid)).toBe(true);
  });
});

describe('an agent process that is SIGKILLed', () => {
  it('leaves its container running, logging, and adoptable by the next agent', async () => {
    const runId = 'crash-run';
    const agent = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-agent.testing.ts'), fx.dataDir, fx.dir, runId], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: agent.stdout }).on('line', (line) => {
        const match = /^started (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      agent.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
    });
    fx.track(pid);
    const agentGone = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGKILL');
    await agentGone;
    expect(isAlive(pid)).toBe(true);

    const runtime = fx.open();
    expect(await runtime.scan()).toEqual([expect.objectContaining({ runId, alive: true, pid })]);
    const exited = exitOf(runtime, runId);
    writeFileSync(join(fx.dir, 'release'), '');
    expect(await exited).toMatchObject({ runId, exitCode: 3, reason: 'Error' });
    const logs = await runtime.logs('uid-1', 'app', { previous: false, tailLines: null, follow: false });
    expect(logs.ok && (await readAll(logs.value))).toBe('before\nafter\n');
  });
});
