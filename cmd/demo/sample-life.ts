// A sample life for one edge node, one pod and one device twin, played through live journaled
// actors: what `edgehive demo` writes and what the replay end-to-end spec checks replay against.
import { ActorHost, nodeKind, nodeStream, podKind, podStream, twinKind, twinStream, type AnyActorKind, type JournaledActor } from '../../actors/index.js';
import type { EventStore } from '../../journal/index.js';
import { ManualClock, SequentialIds, type JsonValue } from '../../kernel/index.js';

export const sampleStartMs = Date.UTC(2026, 10, 1, 10, 0, 0);

const podUid = '6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b';
const deviceUid = 'a3b4c5d6-e7f8-4a9b-8c7d-6e5f4a3b2c1d';

export const sampleStreams = {
  node: nodeStream('edge-1'),
  pod: podStream('default', 'web', podUid),
  twin: twinStream('default', 'thermostat', deviceUid),
} as const;

/** One step: wait `afterMs`, then send the command built from the current time to one actor. */
interface Step {
  readonly afterMs: number;
  readonly actor: keyof typeof sampleStreams;
  readonly command: (at: number) => { readonly type: string; readonly data: JsonValue };
}

const iso = (ms: number): string => new Date(ms).toISOString();

const steps: readonly Step[] = [
  {
    afterMs: 0,
    actor: 'node',
    command: (at) => ({
      type: 'RegisterNode',
      data: { name: 'edge-1', capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '3Gi', pods: '110' }, labels: { 'node-role.kubernetes.io/edge': '' }, addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], at: iso(at) },
    }),
  },
  { afterMs: 500, actor: 'node', command: (at) => ({ type: 'ConfirmRegistration', data: { at: iso(at) } }) },
  {
    afterMs: 1000,
    actor: 'twin',
    command: (at) => ({
      type: 'AddDevice',
      data: { device: { namespace: 'default', name: 'thermostat', uid: deviceUid }, generation: 1, properties: [{ name: 'temperature', type: 'int', desired: '21' }, { name: 'mode', type: 'string', desired: 'eco' }], at },
    }),
  },
  {
    afterMs: 1000,
    actor: 'pod',
    command: (at) => ({
      type: 'AdmitPod',
      data: { spec: { namespace: 'default', name: 'web', uid: podUid, nodeName: 'edge-1', restartPolicy: 'Always', containers: [{ name: 'app', command: ['/usr/bin/python3', '-m', 'http.server', '8080'] }] }, at: iso(at) },
    }),
  },
  { afterMs: 100, actor: 'pod', command: (at) => ({ type: 'StartPod', data: { at: iso(at) } }) },
  { afterMs: 400, actor: 'pod', command: (at) => ({ type: 'ReportContainerStarted', data: { container: 'app', runId: 'run-1', at: iso(at) } }) },
  { afterMs: 2000, actor: 'twin', command: (at) => ({ type: 'UpdateTwinFromEdge', data: { event_id: 'mqtt-1', twin: { temperature: { actual: { value: '19' } }, mode: { actual: { value: 'eco' } } }, at } }) },
  { afterMs: 1000, actor: 'twin', command: (at) => ({ type: 'ReportDeviceState', data: { state: 'online', at } }) },
  { afterMs: 10_000, actor: 'pod', command: (at) => ({ type: 'ReportContainerExited', data: { container: 'app', runId: 'run-1', exitCode: 1, at: iso(at) } }) },
  { afterMs: 10_000, actor: 'pod', command: (at) => ({ type: 'RestartContainer', data: { container: 'app', at: iso(at) } }) },
  { afterMs: 300, actor: 'pod', command: (at) => ({ type: 'ReportContainerStarted', data: { container: 'app', runId: 'run-2', at: iso(at) } }) },
  { afterMs: 5000, actor: 'node', command: (at) => ({ type: 'ReportConditions', data: { conditions: [{ type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'available memory is below 100Mi' }], at: iso(at) } }) },
  { afterMs: 40_000, actor: 'node', command: (at) => ({ type: 'MarkOffline', data: { at: iso(at) } }) },
  { afterMs: 60_000, actor: 'node', command: (at) => ({ type: 'MarkOnline', data: { at: iso(at) } }) },
  {
    afterMs: 1000,
    actor: 'twin',
    command: (at) => ({ type: 'SyncFromCloud', data: { twin: { temperature: { expected: { value: '22' }, metadata: { type: 'int' }, expected_version: { cloud: 2, edge: 0 } } }, at } }),
  },
  { afterMs: 20_000, actor: 'pod', command: (at) => ({ type: 'RequestTermination', data: { gracePeriodSeconds: 30, at: iso(at) } }) },
  { afterMs: 1500, actor: 'pod', command: (at) => ({ type: 'ReportContainerExited', data: { container: 'app', runId: 'run-2', exitCode: 0, at: iso(at) } }) },
];

/** The live actors' view after the sample life: what a replay of their streams must rebuild. */
export interface LiveOutcome {
  readonly stream: string;
  readonly kind: string;
  readonly version: number;
  readonly state: unknown;
  readonly machine: JsonValue;
}

export interface SampleLifeOptions {
  /** Passed to the actor host: snapshots make history compactable. */
  readonly snapshotEveryEvents?: number;
  /** Sees each actor right after each of its commands, with the clock's time then. */
  readonly onStep?: (outcome: LiveOutcome & { readonly at: number }) => void;
}

const outcomeOf = (name: keyof typeof sampleStreams, actor: JournaledActor<never, never, never, never, never>): LiveOutcome => ({
  stream: actor.stream,
  kind: name,
  version: actor.version,
  state: actor.state,
  machine: actor.persistedSnapshot(),
});

/**
 * Plays the sample life on `store` through an actor host with no-op effects (nothing is launched).
 * Every command must be accepted: a refusal means the sample no longer matches the machines.
 */
export async function playSampleLife(store: EventStore, options: SampleLifeOptions = {}): Promise<readonly LiveOutcome[]> {
  const clock = new ManualClock(sampleStartMs);
  const host = new ActorHost({ store, clock, ids: new SequentialIds('demo'), origin: 'edge-1', ...(options.snapshotEveryEvents === undefined ? {} : { snapshotEveryEvents: options.snapshotEveryEvents }) });
  const kinds: Record<keyof typeof sampleStreams, AnyActorKind> = { node: nodeKind, pod: podKind, twin: twinKind };
  const actors = new Map<keyof typeof sampleStreams, JournaledActor<never, never, never, never, never>>();
  for (const name of Object.keys(sampleStreams) as (keyof typeof sampleStreams)[]) {
    const started = await host.start(kinds[name], sampleStreams[name], {});
    if (!started.ok) throw new Error(`cannot start the sample ${name}: ${started.error.kind}`);
    actors.set(name, started.value as never);
  }
  for (const step of steps) {
    clock.advance(step.afterMs);
    const actor = actors.get(step.actor);
    if (actor === undefined) throw new Error(`no sample actor ${step.actor}`);
    const executed = await actor.execute(step.command(clock.nowMs()) as never);
    if (!executed.ok) throw new Error(`the sample ${step.actor} refused ${step.command(0).type}: ${JSON.stringify(executed.error)}`);
    options.onStep?.({ ...outcomeOf(step.actor, actor), at: clock.nowMs() });
  }
  const outcomes = [...actors].map(([name, actor]) => outcomeOf(name, actor));
  for (const actor of actors.values()) actor.stop();
  return outcomes;
}
