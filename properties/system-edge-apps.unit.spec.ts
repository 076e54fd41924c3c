// The simulated edge applications (pods and twins of one edge process life) and the simulated
// process runtime. Method: given/when/then on SimulatedTime with a small in-memory edge journal
// (a commit is durable a fixed time after it was written; a crash drops what is not durable yet,
// outbox included), a runtime whose processes outlive the edge, and the production cloud parser
// for twin reports; nothing waits on a real clock.
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../actors/index.js';
import type { JsonObject } from '../kernel/index.js';
import { parseTwinReport } from '../projections/device-controller/device-status.plan.js';
import { POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED, TWIN_REPORTED } from '../projections/index.js';
import type { UpEvent } from '../transport/index.js';
import { EdgeApps } from './system-edge-apps.testing.js';
import { SIMULATION_EPOCH_MS, type EdgeActorJournal, type EdgeAppsPorts, type HeldContent } from './system-ports.testing.js';
import { SimulatedRuntime } from './system-runtime.testing.js';
import { Incarnation, SimulatedTime } from './simulated-time.testing.js';

const NODE = 'edge-a';
const COMMIT_MS = 5;
const START_MS = 20;
const STOP_MS = 50;
/** Long enough for any commit, start, stop and report chain here to settle, shorter than a restart back-off. */
const SETTLE_MS = 1_000;

/** The edge journal file: actor streams and the outbox, written in order, each commit durable after COMMIT_MS. */
class MemoryEdgeDisk {
  durable = { streams: new Map<string, readonly DomainEvent[]>(), outbox: [] as UpEvent[] };
  visible = { streams: new Map<string, readonly DomainEvent[]>(), outbox: [] as UpEvent[] };

  constructor(private readonly time: SimulatedTime) {}

  write(life: Incarnation, change: (d: MemoryEdgeDisk['durable']) => MemoryEdgeDisk['durable'], committed: () => void): void {
    this.visible = change(this.visible);
    this.time.schedule(COMMIT_MS, life, () => {
      this.durable = change(this.durable);
      committed();
    });
  }

  /** The process died: what it had not made durable is gone. */
  crash(): void {
    this.visible = { streams: new Map(this.durable.streams), outbox: [...this.durable.outbox] };
  }

  journalOf(life: Incarnation): EdgeActorJournal {
    const disk = this;
    return {
      get streams() {
        return disk.visible.streams;
      },
      append: (stream, events, committed) => this.write(life, (d) => ({ ...d, streams: new Map(d.streams).set(stream, [...(d.streams.get(stream) ?? []), ...events]) }), committed),
      remove: (stream, committed) =>
        this.write(
          life,
          (d) => {
            const streams = new Map(d.streams);
            streams.delete(stream);
            return { ...d, streams };
          },
          committed,
        ),
    };
  }
}

/** One node: its disk and runtime outlive edge lives; each life gets its own EdgeApps. */
class Node {
  readonly time = new SimulatedTime();
  readonly disk = new MemoryEdgeDisk(this.time);
  readonly runtime = new SimulatedRuntime(this.time, NODE, { startMs: START_MS, stopMs: STOP_MS, wallMs: () => this.wallMs() });
  readonly violations: string[] = [];
  life = new Incarnation(`${NODE} life 0`);
  apps: EdgeApps | undefined;
  #lives = 0;
  #ids = 0;

  wallMs(): number {
    return SIMULATION_EPOCH_MS + this.time.now;
  }

  boot(held: HeldContent): EdgeApps {
    this.life = new Incarnation(`${NODE} life ${++this.#lives}`);
    const life = this.life;
    const ports: EdgeAppsPorts = {
      node: NODE,
      time: this.time,
      life,
      wallMs: () => this.wallMs(),
      nextId: () => `id-${++this.#ids}`,
      journal: this.disk.journalOf(life),
      report: (events) => this.disk.write(life, (d) => ({ ...d, outbox: [...d.outbox, ...structuredClone(events)] }), () => undefined),
      violation: (message) => void this.violations.push(message),
    };
    this.apps = new EdgeApps(ports, this.runtime);
    this.apps.start(held);
    return this.apps;
  }

  crash(): void {
    this.life.kill();
    this.disk.crash();
  }

  settle(ms = SETTLE_MS): void {
    this.time.advance(ms);
  }

  /** Durable up events of a type about one object (by UID). */
  reported(type: string, uid: string): JsonObject[] {
    return this.disk.durable.outbox.filter((e) => e.type === type && (e.data as JsonObject)['UID'] === uid).map((e) => e.data as JsonObject);
  }
}

const podContent = (name: string, uid: string, metadata: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid, ...metadata },
  spec: { nodeName: NODE, restartPolicy: 'Always', containers: [{ name: 'app', image: 'busybox', command: ['sleep', 'infinity'] }] },
});

const heldOf = (...objects: { key: string; content: JsonObject }[]): HeldContent =>
  new Map(objects.map(({ key, content }) => [key, { uid: String((content['metadata'] as JsonObject)['uid']), content }]));
const podEntry = (name: string, uid: string, metadata: JsonObject = {}) => ({ key: `pods/default/${name}`, content: podContent(name, uid, metadata) });

const model: { key: string; content: JsonObject } = {
  key: 'devicemodels/plant/thermo-model',
  content: {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'DeviceModel',
    metadata: { name: 'thermo-model', namespace: 'plant', uid: 'uid-model' },
    spec: { properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }, { name: 'target', type: 'INT', accessMode: 'ReadWrite' }] },
  },
};
const device = (generation: number, target: string): { key: string; content: JsonObject } => ({
  key: 'devices/plant/thermo-0',
  content: {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name: 'thermo-0', namespace: 'plant', uid: 'uid-thermo-0', generation },
    spec: { deviceModelRef: { name: 'thermo-model' }, nodeName: NODE, properties: [{ name: 'target', desired: { value: target } }, { name: 'temperature' }] },
  },
});

const statusOf = (report: JsonObject): JsonObject => report['Status'] as JsonObject;
const containerStateOf = (report: JsonObject): JsonObject => ((statusOf(report)['containerStatuses'] as JsonObject[])[0]!['state'] as JsonObject);
const runIdOf = (apps: EdgeApps, uid: string): string | undefined => {
  const state = apps.pods().get(uid)?.state;
  const c = state === undefined || state.status === 'absent' ? undefined : state.containers[0]?.state;
  return c?.state === 'running' ? c.runId : undefined;
};

describe('SimulatedRuntime', () => {
  it('stops a run with 143 after its stop time, or SIGKILLs it (137, Killed) at a shorter grace deadline, and a second stop only shortens', () => {
    const time = new SimulatedTime();
    const runtime = new SimulatedRuntime(time, NODE, { startMs: START_MS, stopMs: STOP_MS, wallMs: () => time.now });
    const life = new Incarnation('edge');
    const exits: { runId: string; exitCode: number; reason?: string; at: number }[] = [];
    runtime.attach(life, (exit) => exits.push(exit));
    const run = (runId: string) => runtime.start({ namespace: 'default', name: 'p', podUid: 'u', container: 'app', runId }, life, () => undefined);
    run('r1');
    run('r2');
    run('r3');
    runtime.stop('u', 'r1', 30);
    runtime.stop('u', 'r2', 30);
    runtime.stop('u', 'r2', 0);
    runtime.stop('u', 'r3', 0);
    runtime.stop('u', 'r3', 30);
    time.advance(SETTLE_MS);
    expect(exits).toEqual([
      { podUid: 'u', container: 'app', runId: 'r2', exitCode: 137, reason: 'Killed', message: 'killed with SIGKILL by the runtime', at: 0 },
      { podUid: 'u', container: 'app', runId: 'r3', exitCode: 137, reason: 'Killed', message: 'killed with SIGKILL by the runtime', at: 0 },
      { podUid: 'u', container: 'app', runId: 'r1', exitCode: 143, reason: 'Error', message: 'exited with code 143 (signal 15)', at: STOP_MS },
    ]);
    expect(runtime.alive()).toEqual([]);
  });

  it('keeps processes running when the edge dies, delivers no exit to a dead edge, and shows it dead to the next scan', () => {
    const time = new SimulatedTime();
    const runtime = new SimulatedRuntime(time, NODE, { startMs: START_MS, stopMs: STOP_MS, wallMs: () => time.now });
    const first = new Incarnation('edge 1');
    const heard: string[] = [];
    runtime.attach(first, (exit) => heard.push(`first ${exit.runId}`));
    runtime.start({ namespace: 'default', name: 'p', podUid: 'u', container: 'app', runId: 'r1' }, first, () => heard.push('started r1'));
    runtime.start({ namespace: 'default', name: 'p', podUid: 'u', container: 'app', runId: 'r2' }, first, () => heard.push('started r2'));
    first.kill();
    time.advance(SETTLE_MS);
    expect(runtime.alive().map((p) => p.runId)).toEqual(['r1', 'r2']);
    expect(runtime.crashContainer(1, 2)).toBe(true);
    time.advance(SETTLE_MS);
    expect(heard).toEqual([]);
    expect(runtime.scan().map((p) => [p.runId, p.alive])).toEqual([
      ['r1', true],
      ['r2', false],
    ]);
    const second = new Incarnation('edge 2');
    runtime.attach(second, (exit) => heard.push(`second ${exit.runId} ${exit.exitCode}`));
    runtime.killOrphans((p) => p.runId !== 'r1');
    runtime.removePod('u');
    time.advance(SETTLE_MS);
    expect(heard).toEqual(['second r1 137']);
    expect(runtime.scan()).toEqual([]);
    expect(runtime.crashContainer(0, 1)).toBe(false);
  });
});

describe('EdgeApps: pods', () => {
  it('admits and starts a held pod, runs its process and reports it Running', () => {
    const node = new Node();
    const apps = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    expect(node.runtime.alive()).toEqual([{ namespace: 'default', name: 'web', podUid: 'uid-web', container: 'app', runId: runIdOf(apps, 'uid-web') }]);
    expect(apps.pods().get('uid-web')?.state.status).toBe('running');
    const last = node.reported(POD_STATUS_REPORTED, 'uid-web').at(-1)!;
    expect(last['resource']).toBe('default/podstatus/web');
    expect(statusOf(last)['phase']).toBe('Running');
    expect(containerStateOf(last)).toHaveProperty('running');
    expect(statusOf(last)).toEqual(apps.pods().get('uid-web')?.status);
    expect(node.violations).toEqual([]);
  });

  it('stops a pod whose deletionTimestamp arrives, reports PodTerminationCompleted once and removes its stream', () => {
    const node = new Node();
    const apps = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    const deleting = heldOf(podEntry('web', 'uid-web', { deletionTimestamp: '2026-01-01T00:00:01Z', deletionGracePeriodSeconds: 30 }));
    apps.desiredChanged(deleting);
    node.settle();
    apps.desiredChanged(deleting);
    node.settle();
    expect(node.runtime.alive()).toEqual([]);
    expect(node.reported(POD_TERMINATION_COMPLETED, 'uid-web')).toEqual([{ resource: 'default/pod/web', UID: 'uid-web' }]);
    expect([...node.disk.durable.streams.keys()].filter((s) => s.startsWith('pod-'))).toEqual([]);
    expect(apps.pods().get('uid-web')?.status).toBeUndefined();
    apps.desiredChanged(heldOf());
    expect(apps.pods().size).toBe(0);
    expect(node.violations).toEqual([]);
  });

  it('restarts a crashed container after the back-off (restartPolicy Always), reporting CrashLoopBackOff meanwhile', () => {
    const node = new Node();
    const apps = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    const firstRun = runIdOf(apps, 'uid-web');
    expect(node.runtime.crashContainer(0, 1)).toBe(true);
    node.settle();
    expect(apps.pods().get('uid-web')?.state.status).toBe('crashLoopBackOff');
    expect(containerStateOf(node.reported(POD_STATUS_REPORTED, 'uid-web').at(-1)!)).toEqual({ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app' } });
    expect(node.runtime.alive()).toEqual([]);
    node.settle(10_000);
    const secondRun = runIdOf(apps, 'uid-web');
    expect(secondRun).toBeDefined();
    expect(secondRun).not.toBe(firstRun);
    expect(node.runtime.alive().map((p) => p.runId)).toEqual([secondRun]);
    const last = node.reported(POD_STATUS_REPORTED, 'uid-web').at(-1)!;
    expect((statusOf(last)['containerStatuses'] as JsonObject[])[0]!['restartCount']).toBe(1);
  });

  it('after an edge crash, a new life adopts the processes still running (no second process) and kills those of pods no longer held', () => {
    const node = new Node();
    const first = node.boot(heldOf(podEntry('web', 'uid-web'), podEntry('gone', 'uid-gone')));
    node.settle();
    const webRun = runIdOf(first, 'uid-web');
    node.crash();
    const second = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    expect(node.runtime.alive()).toEqual([{ namespace: 'default', name: 'web', podUid: 'uid-web', container: 'app', runId: webRun }]);
    expect(runIdOf(second, 'uid-web')).toBe(webRun);
    expect([...second.pods().keys()]).toEqual(['uid-web']);
    expect(node.violations).toEqual([]);
  });

  it('after an edge crash between asking for a start and hearing of it, the new life adopts the process that started', () => {
    const node = new Node();
    node.boot(heldOf(podEntry('web', 'uid-web')));
    // Admission and the start request are durable after two commits; the start is heard START_MS later.
    node.settle(2 * COMMIT_MS + 1);
    expect(node.runtime.alive()).toHaveLength(1);
    node.crash();
    const second = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    expect(node.runtime.alive()).toHaveLength(1);
    expect(runIdOf(second, 'uid-web')).toBe(node.runtime.alive()[0]!.runId);
    expect(second.pods().get('uid-web')?.state.status).toBe('running');
  });

  it('terminates a pod no longer held (no deletion seen) within its spec grace period and reports its termination', () => {
    const node = new Node();
    const apps = node.boot(heldOf(podEntry('web', 'uid-web')));
    node.settle();
    apps.desiredChanged(heldOf());
    node.settle();
    expect(node.runtime.alive()).toEqual([]);
    expect(node.reported(POD_TERMINATION_COMPLETED, 'uid-web')).toHaveLength(1);
    expect(apps.pods().size).toBe(0);
    expect(node.disk.durable.streams.size).toBe(0);
  });

  it('confirms the termination of a pod held already deleting without ever starting it', () => {
    const node = new Node();
    const apps = node.boot(heldOf(podEntry('web', 'uid-web', { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 })));
    node.settle();
    expect(node.runtime.scan()).toEqual([]);
    expect(node.reported(POD_TERMINATION_COMPLETED, 'uid-web')).toHaveLength(1);
    expect(apps.pods().get('uid-web')?.status).toBeUndefined();
  });
});

describe('EdgeApps: twins', () => {
  it('makes a held Device and its DeviceModel a twin whose expected values are the desired ones', () => {
    const node = new Node();
    const apps = node.boot(heldOf(model, device(1, '21')));
    node.settle();
    expect(apps.twins().get('plant/thermo-0')).toEqual({
      namespace: 'plant',
      name: 'thermo-0',
      uid: 'uid-thermo-0',
      properties: { target: { expected: '21', actual: null }, temperature: { expected: null, actual: null } },
      state: 'unknown',
    });
    expect(node.violations).toEqual([]);
  });

  it('accepts a mapper update and reports the whole twin (TwinReported.v1, read by the cloud parser); refuses a wrong type and does not know other devices', () => {
    const node = new Node();
    const apps = node.boot(heldOf(model, device(1, '21')));
    node.settle();
    const answers: string[] = [];
    expect(apps.mapperUpdate('plant', 'thermo-0', 'temperature', '19.5', (a) => answers.push(a))).toBe('accepted');
    expect(apps.mapperUpdate('plant', 'thermo-0', 'target', 'warm', (a) => answers.push(a))).toBe('refused');
    expect(apps.mapperUpdate('plant', 'thermo-9', 'temperature', '1.5', (a) => answers.push(a))).toBe('unknown');
    node.settle();
    expect(answers.sort()).toEqual(['accepted', 'refused', 'unknown']);
    expect(apps.twins().get('plant/thermo-0')?.properties['temperature']).toEqual({ expected: null, actual: '19.5' });
    const report = node.reported(TWIN_REPORTED, 'uid-thermo-0').at(-1)!;
    const parsed = parseTwinReport(report);
    expect(parsed.ok).toBe(true);
    expect(report['resource']).toBe('device/plant/thermo-0/twin/edge_updated');
    expect(((report['twin'] as JsonObject)['temperature'] as JsonObject)['actual']).toEqual({ value: '19.5', metadata: { timestamp: expect.any(Number) } });
  });

  it('syncs a desired change (a higher generation) into the twin and reports it', () => {
    const node = new Node();
    const apps = node.boot(heldOf(model, device(1, '21')));
    node.settle();
    apps.desiredChanged(heldOf(model, device(2, '23')));
    node.settle();
    expect(apps.twins().get('plant/thermo-0')?.properties['target']).toEqual({ expected: '23', actual: null });
    const report = node.reported(TWIN_REPORTED, 'uid-thermo-0').at(-1)!;
    const target = (report['twin'] as JsonObject)['target'] as JsonObject;
    expect(target['expected']).toMatchObject({ value: '23' });
    expect(target['expected_version']).toEqual({ cloud: 2, edge: 0 });
  });

  it('removes the twin (and its stream) of a Device no longer held', () => {
    const node = new Node();
    const apps = node.boot(heldOf(model, device(1, '21')));
    node.settle();
    apps.desiredChanged(heldOf(model));
    node.settle();
    expect(apps.twins().size).toBe(0);
    expect(apps.mapperUpdate('plant', 'thermo-0', 'temperature', '19.5')).toBe('unknown');
    expect([...node.disk.durable.streams.keys()].filter((s) => s.startsWith('twin-'))).toEqual([]);
  });

  it('keeps the twin and its stream of a Device that comes back while its removal is being journaled', () => {
    const node = new Node();
    const apps = node.boot(heldOf(model, device(1, '21')));
    node.settle();
    expect(apps.mapperUpdate('plant', 'thermo-0', 'temperature', '19.5')).toBe('accepted');
    node.settle();
    apps.desiredChanged(heldOf(model));
    apps.desiredChanged(heldOf(model, device(1, '21')));
    node.settle();
    expect(apps.twins().get('plant/thermo-0')?.properties).toEqual({ target: { expected: '21', actual: null }, temperature: { expected: null, actual: null } });
    expect(node.disk.durable.streams.get('twin-plant.thermo-0.uid-thermo-0')?.map((e) => e.type)).toEqual(['DeviceAdded.v1', 'TwinActualReported.v2', 'DeviceRemoved.v1', 'DeviceAdded.v1']);
    expect(node.violations).toEqual([]);
  });

  it('reports every twin at start, covering a crash between the twin commit and the outbox commit', () => {
    const node = new Node();
    const held = heldOf(model, device(1, '21'));
    node.boot(held).mapperUpdate('plant', 'thermo-0', 'temperature', '19.5');
    // The twin's commits are durable after COMMIT_MS; its report is written then and durable COMMIT_MS later.
    node.settle(COMMIT_MS + 1);
    node.crash();
    expect(node.disk.durable.streams.get('twin-plant.thermo-0.uid-thermo-0')?.map((e) => e.type)).toEqual(['DeviceAdded.v1', 'TwinActualReported.v2']);
    expect(node.reported(TWIN_REPORTED, 'uid-thermo-0')).toEqual([]);
    const second = node.boot(held);
    node.settle();
    expect(second.twins().get('plant/thermo-0')?.properties['temperature']).toEqual({ expected: null, actual: '19.5' });
    const after = node.reported(TWIN_REPORTED, 'uid-thermo-0').at(-1)!;
    expect(((after['twin'] as JsonObject)['temperature'] as JsonObject)['actual']).toMatchObject({ value: '19.5' });
  });
});
