// Pod specs and events for the pod specs to start from: a small vocabulary that keeps them readable.
import type { ContainerSpec, PodEvent, PodSpec } from './pod.events.js';

export const t0 = '2026-11-01T10:00:00.000Z';
/** `t0` plus `seconds`, as RFC 3339. */
export const t = (seconds: number): string => new Date(Date.parse(t0) + seconds * 1000).toISOString();

export const container = (name: string): ContainerSpec => ({ name, command: ['/usr/bin/' + name], args: [], workingDir: null });

export const podSpec = (patch: Partial<PodSpec> = {}): PodSpec => ({
  namespace: 'default',
  name: 'web',
  uid: 'u1',
  nodeName: 'edge-1',
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 30,
  initContainers: [],
  containers: [container('app')],
  ...patch,
});

export const admitted = (spec: PodSpec = podSpec()): PodEvent => ({ type: 'PodAdmitted.v1', data: { spec, at: t(0) } });
export const startRequested = (containers: readonly string[], at = t(0)): PodEvent => ({ type: 'ContainersStartRequested.v1', data: { containers, at } });
export const started = (name: string, runId: string, at = t(1), adopted = false): PodEvent => ({ type: 'ContainerStarted.v1', data: { container: name, runId, adopted, at } });
export const exited = (name: string, runId: string | null, exitCode: number, at: string, backOffMs: number | null, reason = exitCode === 0 ? 'Completed' : 'Error'): PodEvent => ({
  type: 'ContainerExited.v1',
  data: { container: name, runId, exitCode, reason, message: '', backOffMs, at },
});
export const terminationRequested = (gracePeriodSeconds: number, at: string): PodEvent => ({ type: 'PodTerminationRequested.v1', data: { gracePeriodSeconds, at } });

/** A one-container pod under `policy`, admitted, started and running as run `r1` since t(1). */
export const runningPod = (policy: PodSpec['restartPolicy'] = 'Always'): PodEvent[] => [admitted(podSpec({ restartPolicy: policy })), startRequested(['app']), started('app', 'r1')];
