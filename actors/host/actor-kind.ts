// What the actor host needs to know about one kind of actor (node, pod, twin): its pure machine,
// its decider, and how to read its recorded events back (decode + upcast).
import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import type { Decision, JsonValue, Result } from '../../kernel/index.js';

/** A domain event as machines and deciders see it: a past-tense, versioned type and its data. */
export interface DomainEvent {
  readonly type: string;
  readonly data: JsonValue;
}

/** A recorded event whose type is unknown or whose data does not have the expected shape. */
export interface EventDecodeError {
  readonly kind: 'UnknownEventType' | 'MalformedEventData';
  readonly type: string;
  readonly detail: string;
}

/**
 * One kind of actor. The machine transitions only on domain events (never on timers or
 * invocations), so folding the journal through it rebuilds the exact state; effects are named
 * XState actions that the host provides with `.provide()`.
 */
export interface ActorKind<
  TMachine extends AnyStateMachine,
  TEvent extends DomainEvent,
  TCommand extends { readonly type: string },
  TRejection extends { readonly kind: string },
  TState extends { readonly status: string },
> {
  readonly name: string;
  /** Stream ids of this kind start with it, e.g. `pod-`. */
  readonly streamPrefix: string;
  readonly machine: TMachine;
  /** The domain state the decider reads, projected from a machine snapshot. */
  readonly stateOf: (snapshot: SnapshotFrom<TMachine>) => TState;
  readonly decide: (command: TCommand, state: TState) => Decision<TEvent, TRejection>;
  /** Reads a recorded event back into the current event version (upcasting older ones). */
  readonly decodeEvent: (type: string, data: JsonValue) => Result<TEvent, EventDecodeError>;
}

// eslint-style escape hatch for registries that hold kinds of every shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActorKind = ActorKind<AnyStateMachine, any, any, any, any>;
