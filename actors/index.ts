// The actors' door: the actor host, the three domain kinds, and how to find a stream's kind.
import type { AnyActorKind } from './host/actor-kind.js';




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


/** Every kind of actor edgehive journals. */
export const actorKinds: readonly AnyActorKind[] = [];

/** The kind whose streams start like `stream`, if any. */
export const kindOfStream = (stream: string): AnyActorKind | undefined => actorKinds.find((kind) => stream.startsWith(kind.streamPrefix));
