// A pod actor across an edge host restart, on a real SQLite journal. Method: given a pod that
// started its container under one host, when a new host rebuilds it from the file and hands it a
// runtime scan (`ObserveRuntime`), then rebuilding ran no effect, a surviving process is adopted,
// a vanished one is reported lost and restarted per restartPolicy, and strangers are killed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { ManualClock, SequentialIds } from '../../kernel/index.js';
import { ActorHost } from '../host/actor-host.js';
import type { PodCommand } from './pod.decider.js';
import type { RunningProcess } from './pod.events.js';
import { podKind, podStream } from './pod.kind.js';

const stream = podStream('default', 'web', 'u1');
const t0 = Date.UTC(2026, 10, 1, 10);
const iso = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();

let dir: string;
let stores: SqliteEventStore[];
let effects: { name: string; params: unknown }[];

/** Effects that only record what they were asked to do, as a runtime adapter would receive it. */
const recording = {
  actions: Object.fromEntries(
    ['startContainers', 'stopContainers', 'scheduleRestart', 'killProcesses'].map((name) => [name, (_: unknown, params: unknown) => void effects.push({ name, params })]),
  ),
};

const hostOnFile = (): ActorHost => {
  const opened = openSqliteJournal(join(dir, 'edge.db'));
  if (!opened.ok) throw new Error(opened.error.kind);
  stores.push(opened.value);
  return new ActorHost({ store: opened.value, clock: new ManualClock(t0 + 60_000), ids: new SequentialIds('c'), origin: 'edge-1' });
};

async function runningPodOnFirstHost(): Promise<void> {
  const started = await hostOnFile().start(podKind, stream, recording as never);
  if (!started.ok) throw new Error(started.error.kind);
  const pod = started.value;
  const commands: PodCommand[] = [
    { type: 'AdmitPod', data: { spec: { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'edge-1', restartPolicy: 'Always', containers: [{ name: 'app', command: ['/bin/sleep', '3600'] }] }, at: iso(0) } },
    { type: 'StartPod', data: { at: iso(1) } },
    { type: 'ReportContainerStarted', data: { container: 'app', runId: 'run-1', at: iso(2) } },
  ];
  for (const command of commands) {
    const executed = await pod.execute(command);
    if (!executed.ok) throw new Error(JSON.stringify(executed.error));
  }
  expect(effects.map((e) => e.name)).toEqual(['startContainers']);
  pod.stop();
  effects = [];
}

/** Restarts on a new host whose runtime scan finds `alive`; returns the rebuilt pod. */
async function restartWith(alive: readonly RunningProcess[]) {
  const effectsBeforeObservation: string[] = [];
  const started = await hostOnFile().start(podKind, stream, recording as never, {
    observe: (): PodCommand => {
      effectsBeforeObservation.push(...effects.map((e) => e.name));
      return { type: 'ObserveRuntime', data: { alive, at: iso(60) } };
    },
  });
  if (!started.ok) throw new Error(started.error.kind);
  return { pod: started.value, effectsBeforeObservation };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-pod-host-'));
  stores = [];
  effects = [];
  await runningPodOnFirstHost();
});
afterEach(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('given a running pod journaled by a host that then went away', () => {
  it('adopts the process the runtime still has, running no effect', async () => {
    const { pod, effectsBeforeObservation } = await restartWith([{ container: 'app', runId: 'run-1' }]);
    expect(effectsBeforeObservation).toEqual([]);
    expect(effects).toEqual([]);
    expect(pod.state.status).toBe('running');
    expect(pod.version).toBe(3);
    pod.stop();
  });

  it('reports a vanished process as lost and schedules its restart under restartPolicy Always', async () => {
    const { pod, effectsBeforeObservation } = await restartWith([]);
    expect(effectsBeforeObservation).toEqual([]);
    expect(effects.map((e) => e.name)).toEqual(['scheduleRestart']);
    expect(effects[0]?.params).toMatchObject({ container: 'app', delayMs: 10_000 });
    expect(pod.state.status).toBe('crashLoopBackOff');
    const events: string[] = [];
    for await (const e of stores[1]!.readStream(stream, { from: 4 })) events.push(`${e.type} ${JSON.stringify(e.data)}`);
    expect(events.join('\n')).toContain('ContainerLost');
    pod.stop();
  });

  it('kills processes no container owns and keeps its own', async () => {
    const { pod } = await restartWith([{ container: 'app', runId: 'run-1' }, { container: 'app', runId: 'run-0' }]);
    expect(effects).toEqual([{ name: 'killProcesses', params: { pod: { namespace: 'default', name: 'web', uid: 'u1' }, runIds: ['run-0'] } }]);
    expect(pod.state.status).toBe('running');
    pod.stop();
  });
});
