// The pod actor kind: what the host needs to journal, rebuild and drive a pod on an edge node.
import { invariant } from '../../kernel/index.js';
import type { ActorKind } from '../host/actor-kind.js';
import { decidePod, podStateOf, type PodCommand, type PodRejection, type PodState } from './pod.decider.js';
import { decodePodEvent, type PodEvent } from './pod.events.js';
import { podMachine } from './pod.machine.js';

export const podStreamPrefix = 'pod-';

/**
 * The stream of one pod. Keyed by uid, so a re-created pod never folds onto its predecessor.
 * @example podStream('default', 'web', '6f1c…') // 'pod-default.web.6f1c…'
 */
export function podStream(namespace: string, name: string, uid: string): string {
  invariant(namespace.length > 0 && name.length > 0 && uid.length > 0, 'a pod stream names namespace, name and uid');
  return `${podStreamPrefix}${namespace}.${name}.${uid}`;
}

export const podKind: ActorKind<typeof podMachine, PodEvent, PodCommand, PodRejection, PodState> = {
  name: 'pod',
  streamPrefix: podStreamPrefix,
  machine: podMachine,
  stateOf: podStateOf,
  decide: decidePod,
  decodeEvent: decodePodEvent,
};
