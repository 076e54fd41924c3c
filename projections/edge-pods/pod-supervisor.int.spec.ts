// The pod supervisor with real parts: a SQLite journal, the process runtime, real node processes.
// Method: given desired Pods, when the supervisor reconciles, restarts (a new runtime and host on
// the same files, as after kill -9 of the agent) or the Pod leaves, then the processes, the pod
// actors' journaled states and the reported statuses say the same thing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorHost } from '../../actors/index.js';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { randomIds, systemClock, type JsonObject } from '../../kernel/index.js';
import { openProcessRuntime, type ContainerRuntime } from '../../runtime/index.js';
import type { UpEvent } from '../../transport/index.js';
import type { HeldObjects } from './container-launch.js';
import { POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED } from '../reports/edge-reports.js';
import { PodSupervisor } from './pod-supervisor.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const noneHeld: HeldObjects = { configMap: () => undefined, secret: () => undefined };
const LONG_RUNNING = "process.on('SIGTERM', () => process.exit(0)); console.log('ready ' + process.env.GREETING); setInterval(() => {}, 1000)";

const podOf = (name: string, uid: string, script: string, extra: { deletionTimestamp?: string; restartPolicy?: string } = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid, ...(extra.deletionTimestamp === undefined ? {} : { deletionTimestamp: extra.deletionTimestamp, deletionGracePeriodSeconds: 5 }) },
  spec: {
    nodeName: 'edge-1',
    restartPolicy: extra.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: 5,
    containers: [{ name: 'app', image: 'none', command: [process.execPath, '-e', script], env: [{ name: 'GREETING', value: 'hello' }] }],
  },
});

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Agent {
  readonly supervisor: PodSupervisor;
  readonly runtime: ContainerRuntime;
  readonly reports: UpEvent[];
  /** Stops the supervisor, the runtime's watching and the journal; processes keep running. */
  stop(): Promise<void>;
}

/** One agent life on `dir`: journal, runtime and supervisor, as `edgehive edge` would wire them. */
async function agentOn(dir: string): Promise<Agent> {
  const journal = openSqliteJournal(join(dir, 'journal.db'));
  if (!journal.ok) throw new Error(journal.error.kind);
  const store: SqliteEventStore = journal.value;
  const runtime = openProcessRuntime({ dataDir: join(dir, 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) throw new Error(runtime.error.message);
  const reports: UpEvent[] = [];
  const supervisor = new PodSupervisor({
    nodeName: 'edge-1',
    hostIP: '127.0.0.1',
    host: new ActorHost({ store, clock: systemClock, ids: randomIds, origin: 'edge-1' }),
    runtime: runtime.value,
    held: noneHeld,
    report: async (events) => void reports.push(...events),
    clock: systemClock,
    ids: randomIds,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await supervisor.stop();
    await runtime.value.close();
    await store.close();
  };
  cleanups.push(stop);
  return { supervisor, runtime: runtime.value, reports, stop };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-supervisor-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Kills whatever processes the runtime on `dir` still has, whichever agent started them. Cleanups
 * run last-registered first, so this (registered after tempDir) runs before the dir is removed.
 */
function killAllAfterwards(dir: string): void {
  cleanups.push(async () => {
    const runtime = openProcessRuntime({ dataDir: join(dir, 'runtime'), memoryEnforcement: 'rss' });
    if (!runtime.ok) return;
    await runtime.value.scan();
    await runtime.value.killOrphans(() => false);
    await runtime.value.close();
  });
}

const statusOf = (reports: readonly UpEvent[], uid: string): Record<string, unknown> | undefined =>
  [...reports].reverse().find((e) => e.type === POD_STATUS_REPORTED && (e.data as { UID?: string }).UID === uid)?.data as Record<string, unknown> | undefined;
const phaseOf = (reports: readonly UpEvent[], uid: string): string | undefined => (statusOf(reports, uid)?.['Status'] as { phase?: string } | undefined)?.phase;
const logText = async (runtime: ContainerRuntime, uid: string): Promise<string> => {
  const logs = await runtime.logs(uid, 'app', { previous: false, tailLines: null, follow: false });
  if (!logs.ok) return '';
  let text = '';
  for await (const chunk of logs.value) text += String(chunk);
  return text;
};
const alivePids = async (runtime: ContainerRuntime, uid: string): Promise<number[]> => (await runtime.scan()).flatMap((o) => (o.podUid === uid && o.alive ? [o.pid] : []));

describe('PodSupervisor', () => {
  it('runs a desired pod’s container, reports it Running, and stops it and reports completion when the pod leaves', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    await agent.supervisor.start([podOf('web', 'uid-web', LONG_RUNNING)]);
    await until('the pod reported Running', () => phaseOf(agent.reports, 'uid-web') === 'Running');
    expect(agent.supervisor.states().get('uid-web')?.status).toBe('running');
    const logs = await agent.runtime.logs('uid-web', 'app', { previous: false, tailLines: null, follow: false });
    expect(logs.ok).toBe(true);
    // After a full resync the agent reports every pod again, though nothing changed.
    agent.reports.length = 0;
    agent.supervisor.reportAll();
    await until('the status reported again', () => phaseOf(agent.reports, 'uid-web') === 'Running');

    await agent.supervisor.reconcile([]);
    await until('termination completed reported', () => agent.reports.some((e) => e.type === POD_TERMINATION_COMPLETED && (e.data as { UID: string }).UID === 'uid-web'));
    expect(agent.supervisor.states().has('uid-web')).toBe(false);
    expect(await alivePids(agent.runtime, 'uid-web')).toEqual([]);
  });

  it('after the agent dies and comes back, adopts the running process: the same one, exactly one', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const pod = podOf('web', 'uid-adopt', LONG_RUNNING);
    const first = await agentOn(dir);
    await first.supervisor.start([pod]);
    await until('running under the first agent', () => first.supervisor.states().get('uid-adopt')?.status === 'running');
    const [pid] = await alivePids(first.runtime, 'uid-adopt');
    await first.stop();

    const second = await agentOn(dir);
    await second.supervisor.start([pod]);
    expect(second.supervisor.states().get('uid-adopt')?.status).toBe('running');
    expect(await alivePids(second.runtime, 'uid-adopt')).toEqual([pid]);
    await until('the adopted pod reported Running', () => phaseOf(second.reports, 'uid-adopt') === 'Running');
  });

  it('given a container that died while the agent was down, when the agent comes back, then it restarts it after the back-off (the restart the scan decides is not dropped)', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const pod = podOf('web', 'uid-lost', LONG_RUNNING);
    const first = await agentOn(dir);
    await first.supervisor.start([pod]);
    await until('running under the first agent', () => first.supervisor.states().get('uid-lost')?.status === 'running');
    const [pid] = await alivePids(first.runtime, 'uid-lost');
    await first.stop();
    process.kill(pid!, 'SIGKILL');
    await until('the process is gone', () => {
      try {
        process.kill(pid!, 0);
        return false;
      } catch {
        return true;
      }
    });

    const second = await agentOn(dir);
    await second.supervisor.start([pod]);
    expect(second.supervisor.states().get('uid-lost')?.status).toBe('crashLoopBackOff');
    // The kubelet's first back-off is 10 s.
    const restarted = await until('restarted after the back-off', () => {
      const state = second.supervisor.states().get('uid-lost');
      return state?.status === 'running' && state.containers[0]!.restartCount === 1 ? state : undefined;
    }, 25_000);
    expect(restarted.containers[0]!.lastState).toMatchObject({ exitCode: 137, reason: 'ContainerLost' });
    expect(await alivePids(second.runtime, 'uid-lost')).toHaveLength(1);
  }, 40_000);

  it('kills processes of a pod that is no longer desired when the agent comes back', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const first = await agentOn(dir);
    await first.supervisor.start([podOf('gone', 'uid-gone', LONG_RUNNING)]);
    await until('running', () => first.supervisor.states().get('uid-gone')?.status === 'running');
    await first.stop();

    const second = await agentOn(dir);
    await second.supervisor.start([]);
    expect(await alivePids(second.runtime, 'uid-gone')).toEqual([]);
  });

  it('terminates a pod marked for deletion with its grace period and reports completion', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    await agent.supervisor.start([podOf('web', 'uid-del', LONG_RUNNING)]);
    await until('running', () => agent.supervisor.states().get('uid-del')?.status === 'running');
    const deleting = podOf('web', 'uid-del', LONG_RUNNING, { deletionTimestamp: new Date().toISOString() });
    await agent.supervisor.reconcile([deleting]);
    await until('termination completed', () => agent.reports.some((e) => e.type === POD_TERMINATION_COMPLETED));
    expect(await alivePids(agent.runtime, 'uid-del')).toEqual([]);
    // Held deleting until the cloud's delete lands: reconciled again, the end is not reported again.
    await agent.supervisor.reconcile([deleting]);
    await agent.supervisor.reconcile([deleting]);
    expect(agent.reports.filter((e) => e.type === POD_TERMINATION_COMPLETED)).toHaveLength(1);
  });

  it('given a pod terminating with a long grace period, when its deletion is asked again with a shorter one, then it stops within the shorter one', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    const stubborn = "process.on('SIGTERM', () => {}); console.log('ignoring SIGTERM'); setInterval(() => {}, 1000)";
    const deleting = (grace: number): JsonObject => {
      const pod = podOf('slow', 'uid-slow', stubborn);
      return { ...pod, metadata: { ...(pod['metadata'] as JsonObject), deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: grace } };
    };
    await agent.supervisor.start([podOf('slow', 'uid-slow', stubborn)]);
    await until('running', () => agent.supervisor.states().get('uid-slow')?.status === 'running');
    // Only once the handler is installed does SIGTERM leave it running.
    await until('the container ignores SIGTERM', async () => (await logText(agent.runtime, 'uid-slow')).includes('ignoring SIGTERM'));
    await agent.supervisor.reconcile([deleting(120)]);
    await until('terminating', () => agent.supervisor.states().get('uid-slow')?.status === 'terminating');
    expect(await alivePids(agent.runtime, 'uid-slow')).toHaveLength(1);
    await agent.supervisor.reconcile([deleting(0)]);
    await until('termination completed within the shorter grace period', () => agent.reports.some((e) => e.type === POD_TERMINATION_COMPLETED), 10_000);
    expect(await alivePids(agent.runtime, 'uid-slow')).toEqual([]);
  });

  it('given a pod deleted before it ever ran here, when it arrives deleting, then nothing starts and its end is confirmed once, however often it is reconciled', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    const deleted = podOf('late', 'uid-late', LONG_RUNNING, { deletionTimestamp: new Date().toISOString() });
    await agent.supervisor.start([deleted]);
    await agent.supervisor.reconcile([deleted]);
    await agent.supervisor.reconcile([deleted]);
    expect(agent.reports.filter((e) => e.type === POD_TERMINATION_COMPLETED)).toEqual([{ type: POD_TERMINATION_COMPLETED, data: { resource: 'default/pod/late', UID: 'uid-late' } }]);
    expect((await agent.runtime.scan()).filter((o) => o.podUid === 'uid-late')).toEqual([]);
    expect(agent.supervisor.states().has('uid-late')).toBe(false);
  });

  it('reports a container the runtime cannot start with its reason, and keeps serving other pods', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    const broken: JsonObject = { ...podOf('broken', 'uid-broken', ''), spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none', command: ['/nonexistent/binary'] }] } };
    await agent.supervisor.start([broken, podOf('web', 'uid-ok', LONG_RUNNING)]);
    await until('the good pod running', () => phaseOf(agent.reports, 'uid-ok') === 'Running');
    const status = await until('the broken pod’s container reported terminated with a reason', () => {
      const s = statusOf(agent.reports, 'uid-broken')?.['Status'] as { containerStatuses?: Array<{ lastState?: { terminated?: { reason?: string; message?: string } } }> } | undefined;
      return s?.containerStatuses?.[0]?.lastState?.terminated;
    });
    expect(status.reason).toBe('RunContainerError');
    expect(status.message).toContain('/nonexistent/binary');
  });

  it('holds a container not ready until its readiness probe passes, and kills one whose liveness probe fails', async () => {
    const dir = tempDir();
    killAllAfterwards(dir);
    const agent = await agentOn(dir);
    const port = await freePort();
    const listensLater = `setTimeout(() => require('net').createServer().listen(${port}, '127.0.0.1'), 1500); setInterval(() => {}, 1000)`;
    const probed: JsonObject = podOf('probed', 'uid-probed', listensLater);
    const spec = probed['spec'] as { containers: JsonObject[] };
    spec.containers[0] = { ...spec.containers[0]!, readinessProbe: { tcpSocket: { port }, periodSeconds: 1 } };
    const unhealthy: JsonObject = podOf('unhealthy', 'uid-unhealthy', LONG_RUNNING);
    const spec2 = unhealthy['spec'] as { containers: JsonObject[] };
    spec2.containers[0] = { ...spec2.containers[0]!, livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } };
    await agent.supervisor.start([probed, unhealthy]);

    const readyOf = (uid: string) => ((statusOf(agent.reports, uid)?.['Status'] as { containerStatuses?: Array<{ ready: boolean; state: object }> } | undefined)?.containerStatuses?.[0]);
    await until('probed running but not ready', () => readyOf('uid-probed')?.ready === false && 'running' in (readyOf('uid-probed')?.state ?? {}));
    await until('probed ready once it listens', () => readyOf('uid-probed')?.ready === true);

    const killed = await until('the unhealthy container killed by its liveness probe', () => {
      const last = (statusOf(agent.reports, 'uid-unhealthy')?.['Status'] as { containerStatuses?: Array<{ lastState?: { terminated?: { exitCode: number } } }> } | undefined)?.containerStatuses?.[0]?.lastState?.terminated;
      return last;
    });
    expect([0, 143, 137]).toContain(killed.exitCode);
  });
});

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
