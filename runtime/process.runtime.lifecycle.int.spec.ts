// Start, exit and stop with real processes. Method: start containers that end in known ways (exit
// 0, exit 1, death by signal, SIGTERM honoured or ignored) and assert the exit each reports, its
// Kubernetes exit code and reason; then check the launches that must be refused as values.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProcessRuntime } from './process.runtime.js';
import { exitOf, isAlive, launchOf, nodeScript, RuntimeFixture, sh, waitFor } from './runtime.testing.js';

let fx: RuntimeFixture;
beforeEach(() => {
  fx = new RuntimeFixture();
});
afterEach(() => fx.cleanup());

describe('a started container', () => {
  // `$$$$`: Kubernetes expands `$$` in args to `$`, so the shell sees `$$` (its own pid).
  it.each([
    ['exit 0', 0, 'Completed'],
    ['exit 1', 1, 'Error'],
    ['kill -KILL $$$$', 137, 'Error'],
    ['kill -TERM $$$$', 143, 'Error'],
  ] as const)('that runs `%s` reports exit code %i (%s)', async (script, exitCode, reason) => {
    const runtime = fx.open();
    const launch = launchOf(sh(`sleep 0.1; ${script}`));
    const exited = exitOf(runtime, launch.runId);
    const started = await runtime.start(launch);
    expect(started.ok).toBe(true);
    expect(await exited).toMatchObject({ podUid: 'uid-1', container: 'app', runId: launch.runId, exitCode, reason });
  });

  it('is alive and in its own process group while it runs', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('sleep 30')));
    if (!started.ok) throw new Error(started.error.message);
    expect(isAlive(started.value.pid)).toBe(true);
    const observed = await runtime.scan();
    expect(observed).toEqual([expect.objectContaining({ runId: started.value.runId, alive: true, pid: started.value.pid })]);
    expect(readFileSync(`/proc/${started.value.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]).toBe(String(started.value.pid));
  });

  it('gets its env (with $(VAR) expanded), working dir and the default PATH', async () => {
    const runtime = fx.open();
    const launch = launchOf(sh('echo "$GREETING|$(pwd)|$PATH" > out.txt'), {
      env: [
        { name: 'NAME', value: 'edge' },
        { name: 'GREETING', value: 'hello $(NAME) $$(NAME)' },
      ],
      workingDir: fx.dir,
    });
    const exited = exitOf(runtime, launch.runId);
    await runtime.start(launch);
    expect((await exited).reason).toBe('Completed');
    expect(readFileSync(join(fx.dir, 'out.txt'), 'utf8')).toBe(`hello edge $(NAME)|${fx.dir}|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`);
  });

  it('leaves nothing of its process group behind when its main process ends', async () => {
    const runtime = fx.open();
    const launch = launchOf(sh('sleep 30 & echo $! > bg.pid; exit 0'), { workingDir: fx.dir });
    const exited = exitOf(runtime, launch.runId);
    await runtime.start(launch);
    await exited;
    const background = Number(readFileSync(join(fx.dir, 'bg.pid'), 'utf8'));
    await waitFor('the background process to be killed', () => !isAlive(background));
  });
});

describe('stop', () => {
  it('sends SIGTERM, which a process may honour (exit 143)', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(nodeScript('setInterval(() => {}, 1000)')));
    if (!started.ok) throw new Error(started.error.message);
    const stopped = await runtime.stop(started.value, 30);
    expect(stopped).toEqual({ ok: true, value: expect.objectContaining({ exitCode: 143, reason: 'Error' }) });
  });

  it('lets a process handle SIGTERM and exit cleanly (Completed)', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(nodeScript("process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); console.log('ready')")));
    if (!started.ok) throw new Error(started.error.message);
    await waitFor('the handler to be installed', async () => (await readLog(runtime, started.value.podUid)).includes('ready'));
    const stopped = await runtime.stop(started.value, 30);
    expect(stopped.ok && stopped.value.reason).toBe('Completed');
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over (Killed, 137)', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('trap "" TERM; echo ready; while :; do sleep 0.05; done')));
    if (!started.ok) throw new Error(started.error.message);
    await waitFor('the trap to be installed', async () => (await readLog(runtime, started.value.podUid)).includes('ready'));
    const t0 = performance.now();
    const stopped = await runtime.stop(started.value, 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    expect(stopped).toEqual({ ok: true, value: expect.objectContaining({ exitCode: 137, reason: 'Killed' }) });
    expect(isAlive(started.value.pid)).toBe(false);
  });

  it('a second stop may shorten the grace period; stopping an ended run returns its exit', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('trap "" TERM; echo ready; while :; do sleep 0.05; done')));
    if (!started.ok) throw new Error(started.error.message);
    await waitFor('the trap to be installed', async () => (await readLog(runtime, started.value.podUid)).includes('ready'));
    const slow = runtime.stop(started.value, 60);
    const fast = await runtime.stop(started.value, 0);
    expect(fast.ok && fast.value.reason).toBe('Killed');
    expect(await slow).toEqual(fast);
    expect(await runtime.stop(started.value, 5)).toEqual(fast);
  });

  it('of an unknown run is NotFound', async () => {
    const runtime = fx.open();
    const stopped = await runtime.stop({ podUid: 'nope', container: 'app', runId: 'r' }, 1);
    expect(stopped.ok === false && stopped.error.reason).toBe('NotFound');
  });
});

describe('openProcessRuntime', () => {
  it('refuses limits that are not positive integers, as a value', () => {
    const opened = openProcessRuntime({ dataDir: fx.dataDir, limits: { logBytesMax: 0 } });
    expect(opened).toEqual({ ok: false, error: { reason: 'RuntimeUnavailable', message: 'logBytesMax must be an integer of at least 1, not 0' } });
  });
});

describe('removePod', () => {
  it("is refused while a run is alive, then forgets the pod's records, logs and volumes", async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('sleep 30'), { volumes: [{ name: 'scratch', mountPath: '/s', source: { kind: 'emptyDir' } }] }));
    if (!started.ok) throw new Error(started.error.message);
    const refused = await runtime.removePod('uid-1');
    expect(refused.ok === false && refused.error.reason).toBe('StillRunning');
    await runtime.stop(started.value, 0);
    expect(await runtime.removePod('uid-1')).toEqual({ ok: true, value: undefined });
    expect(existsSync(join(fx.dataDir, 'pods', 'uid-1'))).toBe(false);
    expect(existsSync(join(fx.dataDir, 'runtime', 'runs', 'uid-1'))).toBe(false);
    expect(await runtime.scan()).toEqual([]);
  });
});

describe('a launch that cannot run is refused as a value', () => {
  it('a command that does not exist: RunContainerError', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(['no-such-command-edgehive']));
    expect(started).toEqual({ ok: false, error: { reason: 'RunContainerError', message: expect.stringContaining('executable file not found in $PATH') } });
    const absolute = await runtime.start(launchOf(['/no/such/binary']));
    expect(absolute.ok === false && absolute.error.reason).toBe('RunContainerError');
  });

  it('a working directory that does not exist: RunContainerError', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('true'), { workingDir: join(fx.dir, 'missing') }));
    expect(started).toEqual({ ok: false, error: { reason: 'RunContainerError', message: expect.stringContaining('missing') } });
  });

  it('no command: CreateContainerConfigError naming the container', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf([]));
    expect(started).toEqual({ ok: false, error: { reason: 'CreateContainerConfigError', message: expect.stringContaining('no command') } });
  });

  it('a second run of a container that still runs, or a reused run id: CreateContainerConfigError', async () => {
    const runtime = fx.open();
    const first = launchOf(sh('sleep 30'));
    expect((await runtime.start(first)).ok).toBe(true);
    const second = await runtime.start(launchOf(sh('sleep 30')));
    expect(second.ok === false && second.error.reason).toBe('CreateContainerConfigError');
    const reused = await runtime.start({ ...first, container: 'other' });
    expect(reused.ok === false && reused.error.message).toContain('already used');
  });

  it('an invalid path segment in the pod uid: CreateContainerConfigError, nothing written outside the data dir', async () => {
    const runtime = fx.open();
    const started = await runtime.start(launchOf(sh('true'), { pod: { namespace: 'default', name: 'p', uid: '../escape' } }));
    expect(started.ok === false && started.error.reason).toBe('CreateContainerConfigError');
    expect(existsSync(join(fx.dataDir, 'escape'))).toBe(false);
  });
});

async function readLog(runtime: ReturnType<RuntimeFixture['open']>, podUid: string): Promise<string> {
  const logs = await runtime.logs(podUid, 'app', { previous: false, tailLines: null, follow: false });
  if (!logs.ok) return '';
  let text = '';
  for await (const chunk of logs.value) text += String(chunk);
  return text;
}
