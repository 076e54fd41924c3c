// The actors' door: the actor host, the three domain kinds, and how to find a stream's kind.
import type { AnyActorKind } from './host/actor-kind.js';
import { nodeKind } from './node/node.kind.js';
import { podKind } from './pod/pod.kind.js';
import { twinKind } from './twin/twin.kind.js';
import { linkKind } from './link/link.kind.js';

export { type ActorKind, type AnyActorKind, type DomainEvent, type EventDecodeError } from './host/actor-kind.js';
export {
  ActorHost,
  JournaledActor,
  rebuildSnapshot,
  type ActorHostOptions,
  type ExecuteError,
  type Executed,
  type RehydrateError,
  type StartOptions,
} from './host/actor-host.js';
export { foldEvent, foldEvents, initialSnapshot } from './host/fold.js';

export { nodeKind, nodeStream } from './node/node.kind.js';
export { type NodeCommand, type NodeRejection, type NodeState, type NodeStatus, type ConditionReport } from './node/node.decider.js';
export { type NodeEvent, type NodeCondition, type NodeAddress } from './node/node.events.js';

export { podKind, podStream } from './pod/pod.kind.js';
export { type PodCommand, type PodRejection, type PodState, type PresentPodState, type PodSpecInput } from './pod/pod.decider.js';
export { type PodEvent, type PodRef, type PodSpec, type RunningProcess } from './pod/pod.events.js';
export { kubectlStatus, podPhase, type KubectlPodColumns } from './pod/pod.status.js';

export { twinKind, twinStream } from './twin/twin.kind.js';
export { deltaOf, twinForMqtt, type TwinCommand, type TwinRejection, type TwinState } from './twin/twin.decider.js';
export { type TwinEvent, type DeviceRef } from './twin/twin.events.js';

export { linkKind, linkStream } from './link/link.kind.js';
export { type LinkCommand, type LinkRejection, type LinkState } from './link/link.decider.js';
export { type LinkEvent } from './link/link.events.js';

/** Every kind of actor edgehive journals (the edge's node, pod and twin; the cloud's node link). */
export const actorKinds: readonly AnyActorKind[] = [nodeKind, podKind, twinKind, linkKind];

/** The kind whose streams start like `stream`, if any. */
export const kindOfStream = (stream: string): AnyActorKind | undefined => actorKinds.find((kind) => stream.startsWith(kind.streamPrefix));
