// The pod machine through XState's pure transition API (STYLE R7): from a snapshot, an event gives
// the next snapshot and the effects (named actions with params) the host would run; none runs here.
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { decodePodEvent, type PodEvent } from './pod.events.js';
import { admitted, container, exited, podSpec, runningPod, started, startRequested, t, terminationRequested } from './pod.fixtures.testing.js';
import { podMachine } from './pod.machine.js';

type Snapshot = SnapshotFrom<typeof podMachine>;
const pod = { namespace: 'default', name: 'web', uid: 'u1' };

/** Folds events purely and returns the last step's snapshot and effects as {type, params}. */
function step(events: readonly PodEvent[]): [Snapshot, { type: string; params: unknown }[]] {
  let [snapshot, actions] = initialTransition(podMachine);
  for (const event of events) [snapshot, actions] = transition(podMachine, snapshot, event);
  return [snapshot, actions.map((a) => ({ type: a.type, params: a.params }))];
}

describe('the pod machine', () => {
  it('starts absent with no effects', () => {
    const [snapshot, actions] = initialTransition(podMachine);
    expect(snapshot.value).toBe('absent');
    expect(actions).toEqual([]);
  });

  it('admission makes it pending and runs nothing', () => {
    const [snapshot, actions] = step([admitted()]);
    expect(snapshot.value).toBe('pending');
    expect(actions).toEqual([]);
  });

  it('entering containerCreating starts the requested containers, with their specs', () => {
    const spec = podSpec({ containers: [container('app'), container('side')] });
    const [snapshot, actions] = step([admitted(spec), startRequested(['app', 'side'])]);
    expect(snapshot.value).toBe('containerCreating');
    expect(actions).toEqual([{ type: 'startContainers', params: { pod, containers: [container('app'), container('side')] } }]);
  });

  it('becomes running once every app container started, with no effect', () => {
    const [snapshot, actions] = step(runningPod());
    expect(snapshot.value).toBe('running');
    expect(actions).toEqual([]);
    expect(snapshot.context.containers[0]?.state).toEqual({ state: 'running', runId: 'r1', startedAt: t(1) });
  });

  it('a crash with a decided back-off schedules the restart and enters crashLoopBackOff', () => {
    const [snapshot, actions] = step([...runningPod(), exited('app', 'r1', 1, t(5), 10_000)]);
    expect(snapshot.value).toBe('crashLoopBackOff');
    expect(actions).toEqual([{ type: 'scheduleRestart', params: { pod, container: 'app', delayMs: 10_000, restartAt: t(15) } }]);
    expect(snapshot.context.containers[0]).toMatchObject({ state: { state: 'waiting', reason: 'CrashLoopBackOff', restartAt: t(15) }, lastState: { exitCode: 1, reason: 'Error' }, backOffMs: 10_000 });
  });

  it('a scan after a host restart arms again the back-off timer that died with the host, for what is left of it (found by the whole-system simulator)', () => {
    const backingOff = [...runningPod(), exited('app', 'r1', 1, t(5), 10_000)];
    const [snapshot, actions] = step([...backingOff, { type: 'RuntimeObserved.v1', data: { alive: [], at: t(9) } }]);
    expect(snapshot.value).toBe('crashLoopBackOff');
    expect(actions).toEqual([{ type: 'scheduleRestart', params: { pod, container: 'app', delayMs: 6_000, restartAt: t(15) } }]);
    const [, late] = step([...backingOff, { type: 'RuntimeObserved.v1', data: { alive: [], at: t(40) } }]);
    expect(late).toEqual([{ type: 'scheduleRestart', params: { pod, container: 'app', delayMs: 0, restartAt: t(15) } }]);
    // A wall clock set back an hour waits the back-off, not the hour.
    const [, back] = step([...backingOff, { type: 'RuntimeObserved.v1', data: { alive: [], at: t(-3600) } }]);
    expect(back).toEqual([{ type: 'scheduleRestart', params: { pod, container: 'app', delayMs: 10_000, restartAt: t(15) } }]);
  });

  it('a restart moves through restarting back to running and counts it', () => {
    const restarted = [...runningPod(), exited('app', 'r1', 1, t(5), 10_000), startRequested(['app'], t(15))];
    const [restarting, startActions] = step(restarted);
    expect(restarting.value).toBe('restarting');
    expect(startActions).toEqual([{ type: 'startContainers', params: { pod, containers: [container('app')] } }]);
    const [running] = step([...restarted, started('app', 'r2', t(16))]);
    expect(running.value).toBe('running');
    expect(running.context.containers[0]?.restartCount).toBe(1);
  });

  it('an exit without restart (policy Never) schedules nothing', () => {
    const [snapshot, actions] = step([...runningPod('Never'), exited('app', 'r1', 0, t(5), null)]);
    expect(snapshot.value).toBe('succeeded');
    expect(actions).toEqual([]);
  });

  it('termination stops the running containers with the grace period', () => {
    const [snapshot, actions] = step([...runningPod(), terminationRequested(30, t(10))]);
    expect(snapshot.value).toBe('terminating');
    expect(actions).toEqual([{ type: 'stopContainers', params: { pod, runIds: ['r1'], gracePeriodSeconds: 30 } }]);
  });

  it('a start that lands while terminating is stopped within what is left of the grace period', () => {
    const [snapshot, actions] = step([admitted(), startRequested(['app']), terminationRequested(30, t(1)), started('app', 'r1', t(11))]);
    expect(snapshot.value).toBe('terminating');
    expect(actions).toEqual([{ type: 'stopContainers', params: { pod, runIds: ['r1'], gracePeriodSeconds: 20 } }]);
  });

  it('is deleted once the last container of a terminating pod stopped', () => {
    const [snapshot, actions] = step([...runningPod(), terminationRequested(30, t(10)), exited('app', 'r1', 143, t(12), null)]);
    expect(snapshot.value).toBe('deleted');
    expect(actions).toEqual([]);
  });
});

describe('the pod machine after a host restart', () => {
  const observed = (alive: { container: string; runId: string }[], at: string): PodEvent => ({ type: 'RuntimeObserved.v1', data: { alive, at } });

  it('kills processes no container claims, and adopts the one it knows without effect', () => {
    const [snapshot, actions] = step([...runningPod(), observed([{ container: 'app', runId: 'r1' }, { container: 'app', runId: 'r0' }], t(60))]);
    expect(snapshot.value).toBe('running');
    expect(actions).toEqual([{ type: 'killProcesses', params: { pod, runIds: ['r0'] } }]);
  });

  it('stops a terminating pod’s survivors again, within the grace period left', () => {
    const [, actions] = step([...runningPod(), terminationRequested(30, t(10)), observed([{ container: 'app', runId: 'r1' }], t(25))]);
    expect(actions).toEqual([{ type: 'stopContainers', params: { pod, runIds: ['r1'], gracePeriodSeconds: 15 } }]);
  });

  it('cleans up every live process of a deleted pod', () => {
    const deleted = [...runningPod(), terminationRequested(30, t(10)), exited('app', 'r1', 143, t(12), null)];
    const [snapshot, actions] = step([...deleted, observed([{ container: 'app', runId: 'r1' }], t(60))]);
    expect(snapshot.value).toBe('deleted');
    expect(actions).toEqual([{ type: 'killProcesses', params: { pod, runIds: ['r1'] } }]);
  });
});

describe('the pod machine never refuses an event', () => {
  it('ignores events for a pod it does not have, with no effect', () => {
    const [snapshot, actions] = step([startRequested(['app']), exited('app', 'r1', 1, t(5), 10_000), { type: 'RuntimeObserved.v1', data: { alive: [{ container: 'app', runId: 'r1' }], at: t(6) } }]);
    expect(snapshot.value).toBe('absent');
    expect(actions).toEqual([]);
  });

  it('keeps its first admission', () => {
    const [snapshot] = step([admitted(), admitted(podSpec({ restartPolicy: 'Never' }))]);
    expect(snapshot.context.spec?.restartPolicy).toBe('Always');
  });

  it('has a context that survives a JSON round trip unchanged', () => {
    const [snapshot] = step([...runningPod(), exited('app', 'r1', 1, t(5), 10_000)]);
    const persisted = podMachine.getPersistedSnapshot(snapshot);
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
  });
});

describe('decoding recorded pod events', () => {
  it('reads back a recorded event', () => expect(decodePodEvent('ContainerStarted.v1', { container: 'app', runId: 'r1', adopted: false, at: t(1) })).toEqual({ ok: true, value: started('app', 'r1') }));

  it('refuses an unknown type', () => expect(decodePodEvent('PodLaunched.v1', {})).toMatchObject({ ok: false, error: { kind: 'UnknownEventType', type: 'PodLaunched.v1' } }));

  it('refuses malformed data, naming the field', () => {
    expect(decodePodEvent('ContainerExited.v1', { container: 'app', runId: 'r1', exitCode: -1, reason: 'Error', message: '', backOffMs: null, at: t(1) })).toMatchObject({
      ok: false,
      error: { kind: 'MalformedEventData', detail: expect.stringContaining('data.exitCode') },
    });
    expect(decodePodEvent('PodAdmitted.v1', { spec: { ...podSpec(), restartPolicy: 'Sometimes' }, at: t(0) })).toMatchObject({ ok: false, error: { kind: 'MalformedEventData', detail: expect.stringContaining('restartPolicy') } });
  });
});
