// The Events derived from two consecutive reported statuses. Method: given a previous status (or
// none) and the next one, as the edge's pod translation writes them, then exactly the kubelet's
// Events for what changed come out, and a status seen again derives nothing.
import { describe, expect, it } from 'vitest';
import { nodeEventsBetween, podEventsBetween, type PodIdentity } from './pod-events.js';

const pod: PodIdentity = { namespace: 'default', name: 'web', uid: 'u-1', deleting: false };
const t = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

type State = Record<string, unknown>;
const waiting = (reason: string, message?: string): State => ({ waiting: { reason, ...(message === undefined ? {} : { message }) } });
const running = (startedAt: string): State => ({ running: { startedAt } });
const terminated = (exitCode: number, reason: string, startedAt: string | null, finishedAt: string, message?: string): State => ({
  terminated: { exitCode, reason, ...(startedAt === null ? {} : { startedAt }), finishedAt, ...(message === undefined ? {} : { message }) },
});
const status = (state: State, extra: { lastState?: State; ready?: boolean; restartCount?: number } = {}): Record<string, unknown> => ({
  phase: 'Running',
  containerStatuses: [{ name: 'app', state, lastState: extra.lastState ?? {}, ready: extra.ready ?? 'running' in state, restartCount: extra.restartCount ?? 0 }],
});
const reasons = (events: readonly { reason: string }[]): string[] => events.map((e) => e.reason);

describe('a container that starts', () => {
  it('records Created then Started, in the kubelet’s words, on the container’s field path', () => {
    const events = podEventsBetween(pod, status(waiting('ContainerCreating')), status(running(t(1))));
    expect(events).toEqual([
      { type: 'Normal', reason: 'Created', message: 'Created container: app', fieldPath: 'spec.containers{app}' },
      { type: 'Normal', reason: 'Started', message: 'Started container app', fieldPath: 'spec.containers{app}' },
    ]);
  });

  it('records them on the first status known (a cloud that has seen nothing yet)', () => {
    expect(reasons(podEventsBetween(pod, undefined, status(running(t(1)))))).toEqual(['Created', 'Started']);
  });

  it('records nothing for the same status seen again', () => {
    const same = status(running(t(1)));
    expect(podEventsBetween(pod, same, structuredClone(same))).toEqual([]);
  });

  it('records a start even when the run already ended by the next report', () => {
    const next = status(waiting('CrashLoopBackOff'), { lastState: terminated(1, 'Error', t(1), t(2)), restartCount: 1 });
    expect(reasons(podEventsBetween(pod, status(waiting('ContainerCreating')), next))).toEqual(['Created', 'Started', 'BackOff']);
  });

  it('names init containers by their own field path', () => {
    const next = { initContainerStatuses: [{ name: 'setup', state: running(t(1)), ready: false }] };
    expect(podEventsBetween(pod, {}, next)[0]).toMatchObject({ reason: 'Created', fieldPath: 'spec.initContainers{setup}' });
  });
});

describe('a container that crashes', () => {
  const crashed = status(waiting('CrashLoopBackOff', 'back-off 10s restarting failed container=app'), { lastState: terminated(1, 'Error', t(1), t(2)), restartCount: 1 });

  it('records a BackOff warning naming the pod as <name>_<namespace>(<uid>)', () => {
    const events = podEventsBetween(pod, status(running(t(1))), crashed);
    expect(events).toEqual([{ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container app in pod web_default(u-1)', fieldPath: 'spec.containers{app}' }]);
  });

  it('records BackOff again for the next crash, and not while the same back-off is reported again', () => {
    expect(podEventsBetween(pod, crashed, structuredClone(crashed))).toEqual([]);
    const restarted = status(running(t(12)), { lastState: terminated(1, 'Error', t(1), t(2)), restartCount: 1 });
    const again = status(waiting('CrashLoopBackOff'), { lastState: terminated(1, 'Error', t(12), t(13)), restartCount: 2 });
    expect(reasons(podEventsBetween(pod, crashed, restarted))).toEqual(['Created', 'Started']);
    expect(reasons(podEventsBetween(pod, restarted, again))).toEqual(['BackOff']);
  });

  it('records an out-of-memory kill as an OOMKilled warning', () => {
    const next = status(waiting('CrashLoopBackOff'), { lastState: terminated(137, 'OOMKilled', t(1), t(5)), restartCount: 1 });
    expect(podEventsBetween(pod, status(running(t(1))), next)).toContainEqual({ type: 'Warning', reason: 'OOMKilled', message: 'Container app was killed: out of memory', fieldPath: 'spec.containers{app}' });
  });
});

describe('a container that cannot start', () => {
  it('records Failed with the runtime’s message for a missing ConfigMap (CreateContainerConfigError)', () => {
    const message = 'configmap "settings" not found';
    const next = status(waiting('CrashLoopBackOff'), { lastState: terminated(128, 'CreateContainerConfigError', null, t(1), message) });
    const events = podEventsBetween(pod, status(waiting('ContainerCreating')), next);
    expect(events).toContainEqual({ type: 'Warning', reason: 'Failed', message: `Error: ${message}`, fieldPath: 'spec.containers{app}' });
    expect(reasons(events)).not.toContain('Started');
  });

  it('records Failed when the waiting reason itself is a creation error', () => {
    const events = podEventsBetween(pod, status(waiting('ContainerCreating')), status(waiting('CreateContainerError', 'no such file')));
    expect(events).toEqual([{ type: 'Warning', reason: 'Failed', message: 'Error: no such file', fieldPath: 'spec.containers{app}' }]);
  });

  it('records a pod-level failure (admission refused) as Failed with its message, once', () => {
    const refused = { phase: 'Failed', reason: 'NoCommand', message: 'no command: the process runtime has no image entrypoints' };
    expect(podEventsBetween(pod, { phase: 'Pending' }, refused)).toEqual([{ type: 'Warning', reason: 'Failed', message: 'Error: no command: the process runtime has no image entrypoints' }]);
    expect(podEventsBetween(pod, refused, refused)).toEqual([]);
  });
});

describe('probes and deletion', () => {
  it('records Unhealthy when a running container turns unready in the same run (its readiness probe failed)', () => {
    const events = podEventsBetween(pod, status(running(t(1)), { ready: true }), status(running(t(1)), { ready: false }));
    expect(events).toEqual([{ type: 'Warning', reason: 'Unhealthy', message: 'Readiness probe failed', fieldPath: 'spec.containers{app}' }]);
  });

  it('does not take a new run that is not ready yet for a probe failure', () => {
    expect(reasons(podEventsBetween(pod, status(running(t(1)), { ready: true }), status(running(t(9)), { ready: false })))).toEqual(['Created', 'Started']);
  });

  it('records Killing when a container stops while the pod is being deleted, and not otherwise', () => {
    const stopped = status(terminated(0, 'Completed', t(1), t(3)));
    expect(podEventsBetween({ ...pod, deleting: true }, status(running(t(1))), stopped)).toEqual([
      { type: 'Normal', reason: 'Killing', message: 'Stopping container app', fieldPath: 'spec.containers{app}' },
    ]);
    expect(podEventsBetween(pod, status(running(t(1))), stopped)).toEqual([]);
  });
});

describe('node events', () => {
  const node = (ready: string, memory = 'False'): Record<string, unknown> => ({
    conditions: [
      { type: 'Ready', status: ready },
      { type: 'MemoryPressure', status: memory },
    ],
  });

  it('records Starting, RegisteredNode (from the node controller) and the conditions when the node registers', () => {
    expect(nodeEventsBetween('edge-1', undefined, node('True'), true)).toEqual([
      { type: 'Normal', reason: 'Starting', message: 'Starting kubelet.' },
      { type: 'Normal', reason: 'RegisteredNode', message: 'Node edge-1 event: Registered Node edge-1 in Controller', component: 'node-controller' },
      { type: 'Normal', reason: 'NodeReady', message: 'Node edge-1 status is now: NodeReady' },
      { type: 'Normal', reason: 'NodeHasSufficientMemory', message: 'Node edge-1 status is now: NodeHasSufficientMemory' },
    ]);
  });

  it('records NodeNotReady and NodeReady on Ready transitions (Unknown counts as not ready), and nothing without one', () => {
    expect(reasons(nodeEventsBetween('edge-1', node('True'), node('False'), false))).toEqual(['NodeNotReady']);
    expect(reasons(nodeEventsBetween('edge-1', node('Unknown'), node('True'), false))).toEqual(['NodeReady']);
    expect(nodeEventsBetween('edge-1', node('True'), node('True'), false)).toEqual([]);
  });

  it('records memory pressure as it appears', () => {
    expect(reasons(nodeEventsBetween('edge-1', node('True'), node('True', 'True'), false))).toEqual(['NodeHasInsufficientMemory']);
  });
});
