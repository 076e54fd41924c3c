// The pod decider, given/when/then (STYLE R16): given the pod's past events, when a command
// arrives, then these events are recorded (or this rejection is returned), and kubectl shows this.
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../host/decider-spec.testing.js';
import type { PodCommand, PodState } from './pod.decider.js';
import type { PodEvent } from './pod.events.js';
import { admitted, container, exited, podSpec, runningPod, started, startRequested, t, terminationRequested } from './pod.fixtures.testing.js';
import { podKind, podStream } from './pod.kind.js';
import { kubectlStatus, podPhase } from './pod.status.js';

const given = deciderSpec(podKind);

const kubectl = (state: PodState) => {
  expect(state.status).not.toBe('absent');
  return state.status === 'absent' ? undefined : { ...kubectlStatus(state), phase: podPhase(state) };
};
const exit = (name: string, runId: string | null, exitCode: number, at: string): PodCommand => ({ type: 'ReportContainerExited', data: { container: name, runId, exitCode, at } });
const start = (name: string, runId: string, at: string): PodCommand => ({ type: 'ReportContainerStarted', data: { container: name, runId, at } });
const restart = (name: string, at: string): PodCommand => ({ type: 'RestartContainer', data: { container: name, at } });
const observe = (alive: { container: string; runId: string }[], at: string): PodCommand => ({ type: 'ObserveRuntime', data: { alive, at } });

describe('the stream id', () => {
  it('is pod-<namespace>.<name>.<uid>', () => {
    expect(podStream('default', 'web', 'u1')).toBe('pod-default.web.u1');
    expect(podStream('default', 'web', 'u1').startsWith(podKind.streamPrefix)).toBe(true);
  });
});

describe('given no pod', () => {
  it('admits a pod, filling in the Kubernetes defaults', () => {
    const input = { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'edge-1', containers: [{ name: 'app', command: ['/usr/bin/app'] }] };
    const state = given([]).when({ type: 'AdmitPod', data: { spec: input, at: t(0) } }).then([admitted()]);
    expect(kubectl(state)).toEqual({ ready: '0/1', status: 'Pending', restarts: 0, phase: 'Pending' });
  });

  it('fails a pod with a container without command, saying why', () => {
    const input = { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'edge-1', containers: [{ name: 'app' }, { name: 'side', command: ['/bin/side'] }] };
    const decision = podKind.decide({ type: 'AdmitPod', data: { spec: input, at: t(0) } }, given([]).state);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.value).toHaveLength(1);
    expect(decision.value[0]).toMatchObject({ type: 'PodAdmissionFailed.v1', data: { reason: 'NoCommand', message: expect.stringContaining('no command: the process runtime has no image entrypoints') } });
    expect(JSON.stringify(decision.value[0])).toContain('set command on container app)');
    const state = given([...decision.value]).state;
    expect(state.status).toBe('failed');
    expect(kubectl(state)).toEqual({ ready: '0/2', status: 'NoCommand', restarts: 0, phase: 'Failed' });
  });

  it('rejects what the API server would refuse', () => {
    const base = { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'edge-1' };
    given([]).when({ type: 'AdmitPod', data: { spec: { ...base, containers: [] }, at: t(0) } }).thenRejects({ kind: 'InvalidPodSpec', detail: 'a pod needs at least one container' });
    given([])
      .when({ type: 'AdmitPod', data: { spec: { ...base, initContainers: [{ name: 'app', command: ['x'] }], containers: [{ name: 'app', command: ['y'] }] }, at: t(0) } })
      .thenRejects({ kind: 'InvalidPodSpec', detail: 'container name "app" is used twice' });
    given([]).when({ type: 'AdmitPod', data: { spec: { ...base, name: 'Web', containers: [{ name: 'app', command: ['x'] }] }, at: t(0) } }).thenRejects({ kind: 'InvalidPodSpec' });
  });

  it('refuses every other command', () => {
    given([]).when({ type: 'StartPod', data: { at: t(0) } }).thenRejects({ kind: 'PodNotFound' });
    given([]).when({ type: 'RequestTermination', data: { at: t(0) } }).thenRejects({ kind: 'PodNotFound' });
    given([]).when(observe([], t(0))).thenRejects({ kind: 'PodNotFound' });
  });

  it('refuses a time that does not parse', () => given([]).when({ type: 'StartPod', data: { at: 'soon' } }).thenRejects({ kind: 'InvalidTime', at: 'soon' }));
});

describe('given an admitted pod', () => {
  it('starts all app containers when there are no init containers', () => {
    const spec = podSpec({ containers: [container('app'), container('side')] });
    const state = given([admitted(spec)]).when({ type: 'StartPod', data: { at: t(1) } }).then([startRequested(['app', 'side'], t(1))]);
    expect(state.status).toBe('containerCreating');
    expect(kubectl(state)).toMatchObject({ ready: '0/2', status: 'ContainerCreating', phase: 'Pending' });
  });

  it('starts only the first init container when there are some', () => {
    const spec = podSpec({ initContainers: [container('init-a'), container('init-b')] });
    const state = given([admitted(spec)]).when({ type: 'StartPod', data: { at: t(1) } }).then([startRequested(['init-a'], t(1))]);
    expect(kubectl(state)).toMatchObject({ status: 'Init:0/2', phase: 'Pending' });
  });

  it('records nothing when the same pod arrives again, and refuses a changed one', () => {
    const same = { namespace: 'default', name: 'web', uid: 'u1', nodeName: 'edge-1', restartPolicy: 'Always' as const, containers: [{ name: 'app', command: ['/usr/bin/app'] }] };
    given([admitted()]).when({ type: 'AdmitPod', data: { spec: same, at: t(5) } }).then([]);
    given([admitted()]).when({ type: 'AdmitPod', data: { spec: { ...same, restartPolicy: 'Never' }, at: t(5) } }).thenRejects({ kind: 'SpecImmutable' });
  });

  it('is deleted at once when terminated before it started: nothing runs', () => {
    const state = given([admitted()]).when({ type: 'RequestTermination', data: { at: t(2) } }).then([terminationRequested(30, t(2))]);
    expect(state.status).toBe('deleted');
  });
});

describe('given a pod with init containers', () => {
  const spec = podSpec({ restartPolicy: 'OnFailure', initContainers: [container('init-a'), container('init-b')], containers: [container('app'), container('side')] });
  const initRunning = [admitted(spec), startRequested(['init-a']), started('init-a', 'i1')];

  it('starts the next init container when one succeeds', () => {
    const state = given(initRunning).when(exit('init-a', 'i1', 0, t(3))).then([exited('init-a', 'i1', 0, t(3), null), startRequested(['init-b'], t(3))]);
    expect(kubectl(state)).toMatchObject({ status: 'Init:1/2' });
  });

  it('starts the app containers once the last init container succeeds', () => {
    const lastInit = [...initRunning, exited('init-a', 'i1', 0, t(3), null), startRequested(['init-b'], t(3)), started('init-b', 'i2', t(4))];
    const state = given(lastInit).when(exit('init-b', 'i2', 0, t(5))).then([exited('init-b', 'i2', 0, t(5), null), startRequested(['app', 'side'], t(5))]);
    expect(kubectl(state)).toMatchObject({ status: 'ContainerCreating', ready: '0/2' });
  });

  it('refuses an app container start while initializing', () => given(initRunning).when(start('app', 'a1', t(2))).thenRejects({ kind: 'ContainerNotStarting', container: 'app', state: 'PodInitializing' }));

  it('restarts a failed init container after a back-off unless the policy is Never', () => {
    const state = given(initRunning).when(exit('init-a', 'i1', 1, t(3))).then([exited('init-a', 'i1', 1, t(3), 10_000)]);
    expect(state.status).toBe('crashLoopBackOff');
    expect(kubectl(state)).toMatchObject({ status: 'Init:CrashLoopBackOff', phase: 'Pending' });
  });

  it('does not restart an init container that succeeded, even under Always', () => {
    const always = [admitted({ ...spec, restartPolicy: 'Always' }), startRequested(['init-a']), started('init-a', 'i1')];
    given(always).when(exit('init-a', 'i1', 0, t(3))).then([exited('init-a', 'i1', 0, t(3), null), startRequested(['init-b'], t(3))]);
  });

  it('fails the pod when an init container fails under Never', () => {
    const never = [admitted({ ...spec, restartPolicy: 'Never' }), startRequested(['init-a']), started('init-a', 'i1')];
    const state = given(never).when(exit('init-a', 'i1', 2, t(3))).then([exited('init-a', 'i1', 2, t(3), null)]);
    expect(state.status).toBe('failed');
    expect(kubectl(state)).toMatchObject({ status: 'Init:Error', phase: 'Failed' });
  });
});

describe('given a running pod under restartPolicy Always', () => {
  it('is Running with its container ready', () => expect(kubectl(given(runningPod()).state)).toEqual({ ready: '1/1', status: 'Running', restarts: 0, phase: 'Running' }));

  it('backs off 10 s after the first crash', () => {
    const state = given(runningPod()).when(exit('app', 'r1', 1, t(5))).then([exited('app', 'r1', 1, t(5), 10_000)]);
    expect(state.status).toBe('crashLoopBackOff');
    expect(kubectl(state)).toEqual({ ready: '0/1', status: 'CrashLoopBackOff', restarts: 0, phase: 'Running' });
  });

  it('restarts a container that completed too: Always means always', () => given(runningPod()).when(exit('app', 'r1', 0, t(5))).then([exited('app', 'r1', 0, t(5), 10_000)]));

  it('doubles the back-off on each quick crash, up to 300 s', () => {
    const delays: number[] = [];
    let events: PodEvent[] = runningPod();
    let at = 1;
    for (let run = 1; run <= 7; run += 1) {
      const decided = podKind.decide(exit('app', `r${run}`, 1, t(at + 5)), given(events).state);
      expect(decided.ok).toBe(true);
      if (!decided.ok) return;
      const [crash] = decided.value;
      const backOffMs = crash?.type === 'ContainerExited.v1' ? (crash.data.backOffMs ?? -1) : -1;
      delays.push(backOffMs);
      at += 5 + backOffMs / 1000;
      events = [...events, ...decided.value, startRequested(['app'], t(at)), started('app', `r${run + 1}`, t(at))];
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(kubectl(given(events).state)).toMatchObject({ restarts: 7, status: 'Running' });
  });

  it('resets the back-off after a run of 10 minutes', () => {
    const crashedTwice = [...runningPod(), exited('app', 'r1', 1, t(5), 10_000), startRequested(['app'], t(15)), started('app', 'r2', t(15)), exited('app', 'r2', 1, t(20), 20_000), startRequested(['app'], t(40)), started('app', 'r3', t(40))];
    given(crashedTwice).when(exit('app', 'r3', 1, t(40 + 599))).then([exited('app', 'r3', 1, t(639), 40_000)]);
    given(crashedTwice).when(exit('app', 'r3', 1, t(40 + 600))).then([exited('app', 'r3', 1, t(640), 10_000)]);
  });

  it('records OOMKilled as the runtime reports it', () =>
    given(runningPod()).when({ type: 'ReportContainerExited', data: { container: 'app', runId: 'r1', exitCode: 137, reason: 'OOMKilled', at: t(5) } }).then([exited('app', 'r1', 137, t(5), 10_000, 'OOMKilled')]));

  it('ignores a repeated start report and a stale exit report', () => {
    given(runningPod()).when(start('app', 'r1', t(2))).then([]);
    given(runningPod()).when(exit('app', 'r0', 1, t(2))).then([]);
  });

  it('refuses reports about a container the pod does not have, and impossible exit codes', () => {
    given(runningPod()).when(exit('ghost', 'r1', 1, t(2))).thenRejects({ kind: 'UnknownContainer', container: 'ghost' });
    given(runningPod()).when(exit('app', 'r1', 300, t(2))).thenRejects({ kind: 'InvalidExitCode', exitCode: 300 });
  });

  it('records a process that died before its start was reported (StartError)', () => {
    const creating = [admitted(), startRequested(['app'])];
    given(creating)
      .when({ type: 'ReportContainerExited', data: { container: 'app', runId: 'r1', exitCode: 128, reason: 'StartError', message: 'exec: no such file', at: t(1) } })
      .then([{ type: 'ContainerExited.v1', data: { container: 'app', runId: 'r1', exitCode: 128, reason: 'StartError', message: 'exec: no such file', backOffMs: 10_000, at: t(1) } }]);
  });
});

describe('given a container backing off', () => {
  const backingOff = [...runningPod(), exited('app', 'r1', 1, t(5), 10_000)];

  it('refuses to restart it before the back-off elapsed', () => given(backingOff).when(restart('app', t(14))).thenRejects({ kind: 'BackOffNotElapsed', container: 'app', restartAt: t(15) }));

  it('asks for a start once the back-off elapsed, then counts the restart', () => {
    const restarting = given(backingOff).when(restart('app', t(15))).then([startRequested(['app'], t(15))]);
    expect(restarting.status).toBe('restarting');
    const running = given([...backingOff, startRequested(['app'], t(15))]).when(start('app', 'r2', t(16))).then([started('app', 'r2', t(16))]);
    expect(kubectl(running)).toEqual({ ready: '1/1', status: 'Running', restarts: 1, phase: 'Running' });
  });

  it('ignores a restart timer for a container that is not backing off', () => given(runningPod()).when(restart('app', t(100))).then([]));

  it('restarts it when the wall clock was set back by more than the whole back-off (the timer waited it out on the monotonic clock)', () =>
    given(backingOff).when(restart('app', t(-3600))).then([startRequested(['app'], t(-3600))]));
});

describe('given restartPolicy OnFailure', () => {
  it('completes the pod when its container exits 0', () => {
    const state = given(runningPod('OnFailure')).when(exit('app', 'r1', 0, t(9))).then([exited('app', 'r1', 0, t(9), null)]);
    expect(state.status).toBe('succeeded');
    expect(kubectl(state)).toEqual({ ready: '0/1', status: 'Completed', restarts: 0, phase: 'Succeeded' });
  });

  it('restarts a failed container after a back-off', () => given(runningPod('OnFailure')).when(exit('app', 'r1', 3, t(9))).then([exited('app', 'r1', 3, t(9), 10_000)]));
});

describe('given restartPolicy Never with two containers', () => {
  const spec = podSpec({ restartPolicy: 'Never', containers: [container('app'), container('side')] });
  const bothRunning = [admitted(spec), startRequested(['app', 'side']), started('app', 'a1'), started('side', 's1')];

  it('keeps running while one container is left, showing the failed one', () => {
    const state = given(bothRunning).when(exit('app', 'a1', 1, t(5))).then([exited('app', 'a1', 1, t(5), null)]);
    expect(state.status).toBe('running');
    expect(kubectl(state)).toEqual({ ready: '1/2', status: 'Error', restarts: 0, phase: 'Running' });
  });

  it('shows Running, not Completed, while the other container still runs', () =>
    expect(kubectl(given([...bothRunning, exited('side', 's1', 0, t(5), null)]).state)).toMatchObject({ status: 'Running', ready: '1/2' }));

  it('fails once all have stopped and one failed', () => {
    const state = given([...bothRunning, exited('app', 'a1', 1, t(5), null)]).when(exit('side', 's1', 0, t(6))).then([exited('side', 's1', 0, t(6), null)]);
    expect(state.status).toBe('failed');
    expect(kubectl(state)).toMatchObject({ status: 'Error', phase: 'Failed' });
  });

  it('succeeds once all exited 0', () => {
    const state = given([...bothRunning, exited('app', 'a1', 0, t(5), null)]).when(exit('side', 's1', 0, t(6))).then([exited('side', 's1', 0, t(6), null)]);
    expect(kubectl(state)).toMatchObject({ status: 'Completed', phase: 'Succeeded' });
  });
});

describe('given a terminating pod', () => {
  const terminating = [...runningPod(), terminationRequested(30, t(10))];

  it('is asked to terminate with the pod’s grace period by default', () => {
    const state = given(runningPod()).when({ type: 'RequestTermination', data: { at: t(10) } }).then([terminationRequested(30, t(10))]);
    expect(kubectl(state)).toMatchObject({ status: 'Terminating' });
  });

  it('does not restart a container that stops, and is deleted when the last one stopped', () => {
    const state = given(terminating).when(exit('app', 'r1', 143, t(12))).then([exited('app', 'r1', 143, t(12), null)]);
    expect(state.status).toBe('deleted');
  });

  it('accepts a shorter grace period, not a longer one', () => {
    given(terminating).when({ type: 'RequestTermination', data: { gracePeriodSeconds: 0, at: t(12) } }).then([terminationRequested(0, t(12))]);
    given(terminating).when({ type: 'RequestTermination', data: { gracePeriodSeconds: 60, at: t(12) } }).then([]);
    given(terminating).when({ type: 'RequestTermination', data: { gracePeriodSeconds: -1, at: t(12) } }).thenRejects({ kind: 'InvalidGracePeriod' });
  });

  it('neither starts nor restarts anything', () => {
    given(terminating).when({ type: 'StartPod', data: { at: t(12) } }).thenRejects({ kind: 'PodTerminating' });
    const backingOff = [...runningPod(), exited('app', 'r1', 1, t(5), 10_000), terminationRequested(30, t(6))];
    given(backingOff).when(restart('app', t(20))).then([]);
    expect(given(backingOff).state.status).toBe('deleted');
  });

  it('records a start that lands during termination, so the machine can stop it', () => {
    const creating = [admitted(), startRequested(['app']), terminationRequested(30, t(1))];
    expect(given(creating).state.status).toBe('terminating');
    given(creating).when(start('app', 'r1', t(2))).then([started('app', 'r1', t(2))]);
  });
});

describe('after the edge host restarted (ObserveRuntime)', () => {
  it('adopts containers still alive, recording nothing', () => given(runningPod()).when(observe([{ container: 'app', runId: 'r1' }], t(60))).then([]));

  it('records a vanished container as lost and restarts it per policy', () => {
    const state = given(runningPod())
      .when(observe([], t(60)))
      .then([
        { type: 'RuntimeObserved.v1', data: { alive: [], at: t(60) } },
        { type: 'ContainerExited.v1', data: { container: 'app', runId: 'r1', exitCode: 137, reason: 'ContainerLost', message: 'the container process was not found after the edge host restarted', backOffMs: 10_000, at: t(60) } },
      ]);
    expect(state.status).toBe('crashLoopBackOff');
  });

  it('records the scan of a pod waiting out a back-off, so the machine arms its restart timer again', () =>
    given([...runningPod(), exited('app', 'r1', 1, t(5), 10_000)])
      .when(observe([], t(9)))
      .then([{ type: 'RuntimeObserved.v1', data: { alive: [], at: t(9) } }]));

  it('fails a pod whose container vanished under Never', () => {
    const decision = podKind.decide(observe([], t(60)), given(runningPod('Never')).state);
    expect(decision.ok && given([...runningPod('Never'), ...decision.value]).state.status).toBe('failed');
  });

  it('adopts a process that started while the host was down', () => {
    const creating = [admitted(), startRequested(['app'])];
    const state = given(creating)
      .when(observe([{ container: 'app', runId: 'r9' }], t(30)))
      .then([{ type: 'RuntimeObserved.v1', data: { alive: [{ container: 'app', runId: 'r9' }], at: t(30) } }, started('app', 'r9', t(30), true)]);
    expect(state.status).toBe('running');
  });

  it('asks again for a start that never happened', () =>
    given([admitted(), startRequested(['app'])])
      .when(observe([], t(30)))
      .then([{ type: 'RuntimeObserved.v1', data: { alive: [], at: t(30) } }, startRequested(['app'], t(30))]));

  it('records a scan that found a stray process, so the machine kills it', () =>
    given(runningPod())
      .when(observe([{ container: 'app', runId: 'r1' }, { container: 'app', runId: 'r0' }], t(60)))
      .then([{ type: 'RuntimeObserved.v1', data: { alive: [{ container: 'app', runId: 'r1' }, { container: 'app', runId: 'r0' }], at: t(60) } }]));

  it('finishes a termination whose processes are gone', () => {
    const state = given([...runningPod(), terminationRequested(30, t(10))]).when(observe([], t(20))).then([
      { type: 'RuntimeObserved.v1', data: { alive: [], at: t(20) } },
      { type: 'ContainerExited.v1', data: { container: 'app', runId: 'r1', exitCode: 137, reason: 'ContainerLost', message: 'the container process was not found after the edge host restarted', backOffMs: null, at: t(20) } },
    ]);
    expect(state.status).toBe('deleted');
  });

  it('finishes a termination whose container never started', () => {
    const state = given([admitted(), startRequested(['app']), terminationRequested(30, t(1))]).when(observe([], t(20))).then([
      { type: 'RuntimeObserved.v1', data: { alive: [], at: t(20) } },
      { type: 'ContainerExited.v1', data: { container: 'app', runId: null, exitCode: 137, reason: 'ContainerLost', message: 'the container process was not found after the edge host restarted', backOffMs: null, at: t(20) } },
    ]);
    expect(state.status).toBe('deleted');
  });

  it('records live processes of a deleted pod, so the machine cleans them up', () => {
    const deleted = [...runningPod(), terminationRequested(30, t(10)), exited('app', 'r1', 143, t(11), null)];
    given(deleted).when(observe([{ container: 'app', runId: 'r1' }], t(20))).then([{ type: 'RuntimeObserved.v1', data: { alive: [{ container: 'app', runId: 'r1' }], at: t(20) } }]);
    given(deleted).when(observe([], t(20))).then([]);
  });
});
