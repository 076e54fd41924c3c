// Pod ↔ pod actor translation. Method: given a Pod object, the admission input carries what the
// process runtime honours; given pod events folded by the real pod machine, the reported PodStatus
// says what `kubectl get/describe` would show for them.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { foldEvents, podKind, type PresentPodState } from '../../actors/index.js';
import { admitted, exited, podSpec, runningPod, startRequested, started, t } from '../../actors/pod/pod.fixtures.testing.js';
import type { PodEvent } from '../../actors/pod/pod.events.js';
import { imagesOf, kubePodStatusOf, podSpecInputOf } from './pod-translation.js';

const stateOf = (events: PodEvent[]): PresentPodState => {
  const state = podKind.stateOf(foldEvents(podKind.machine, events));
  if (state.status === 'absent') throw new Error('expected a present pod');
  return state;
};

describe('podSpecInputOf', () => {
  it('takes names, uid, restart policy, grace period, commands, args and working dirs from the Pod', () => {
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'shop', uid: 'u-1' },
      spec: {
        nodeName: 'edge-1',
        restartPolicy: 'OnFailure',
        terminationGracePeriodSeconds: 5,
        initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c'], args: ['true'] }],
        containers: [{ name: 'app', image: 'node:20', command: ['node'], args: ['server.js'], workingDir: '/srv' }, { name: 'sidecar', image: 'x' }],
      },
    };
    expect(podSpecInputOf(pod, 'edge-1')).toEqual({
      namespace: 'shop',
      name: 'web',
      uid: 'u-1',
      nodeName: 'edge-1',
      restartPolicy: 'OnFailure',
      terminationGracePeriodSeconds: 5,
      initContainers: [{ name: 'setup', command: ['sh', '-c'], args: ['true'] }],
      containers: [{ name: 'app', command: ['node'], args: ['server.js'], workingDir: '/srv' }, { name: 'sidecar' }],
    });
    expect(imagesOf(pod)).toEqual(new Map([['setup', 'busybox'], ['app', 'node:20'], ['sidecar', 'x']]));
  });

  it('leaves out what is absent or malformed, for the decider to judge', () => {
    expect(podSpecInputOf({ metadata: { name: 'p', uid: 'u' }, spec: { restartPolicy: 'Sometimes', terminationGracePeriodSeconds: -1, containers: [{ name: 'a', command: 'not a list' }] } }, 'n')).toEqual({
      namespace: 'default',
      name: 'p',
      uid: 'u',
      nodeName: 'n',
      initContainers: [],
      containers: [{ name: 'a' }],
    });
  });
});

describe('kubePodStatusOf', () => {
  it('reports a running pod: phase Running, Ready, podIP = hostIP, the container running since its start', () => {
    const status = kubePodStatusOf(stateOf(runningPod()), '192.0.2.7', new Map([['app', 'node:20']]));
    expect(status).toMatchObject({ phase: 'Running', hostIP: '192.0.2.7', podIP: '192.0.2.7', startTime: t(0) });
    expect(status['conditions']).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(status['containerStatuses']).toEqual([
      { name: 'app', state: { running: { startedAt: t(1) } }, lastState: {}, ready: true, started: true, restartCount: 0, image: 'node:20', imageID: '' },
    ]);
  });

  it('reports a crash-looping container as waiting in CrashLoopBackOff with its last termination and restart count', () => {
    const events = [...runningPod(), exited('app', 'r1', 1, t(2), 10_000), startRequested(['app'], t(12)), started('app', 'r2', t(13)), exited('app', 'r2', 1, t(14), 20_000)];
    const status = kubePodStatusOf(stateOf(events), '127.0.0.1');
    const [app] = status['containerStatuses'] as Array<Record<string, unknown>>;
    expect(app).toMatchObject({ restartCount: 1, ready: false, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=app' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: t(14) } } });
    expect(status['conditions']).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False' }));
  });

  it('reports a failed admission with its reason and message (what kubectl describe shows)', () => {
    const failedAdmission: PodEvent = { type: 'PodAdmissionFailed.v1', data: { spec: podSpec(), reason: 'NoCommand', message: 'container app has no command', at: t(0) } };
    const status = kubePodStatusOf(stateOf([failedAdmission]), '127.0.0.1');
    expect(status).toMatchObject({ phase: 'Failed', reason: 'NoCommand', message: 'container app has no command' });
    expect(status).not.toHaveProperty('startTime');
    expect(stateOf([admitted()]).status).toBe('pending');
  });
});
