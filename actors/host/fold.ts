// Folding a stream through a pure machine: how state is rebuilt from the journal, running no effects.
import { initialTransition, transition, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import type { DomainEvent } from './actor-kind.js';

/** The machine's first snapshot, before any event; its entry actions are returned by XState, not run. */
export function initialSnapshot<TMachine extends AnyStateMachine>(machine: TMachine): SnapshotFrom<TMachine> {
  const [snapshot] = initialTransition(machine as AnyStateMachine, undefined);
  return snapshot as SnapshotFrom<TMachine>;
}

/** Applies one event with XState's pure `transition`: the actions it would run are discarded. */
export function foldEvent<TMachine extends AnyStateMachine>(
  machine: TMachine,
  snapshot: SnapshotFrom<TMachine>,
  event: DomainEvent,
): SnapshotFrom<TMachine> {
  const [next] = transition(machine as AnyStateMachine, snapshot, event as never);
  return next as SnapshotFrom<TMachine>;
}

/** Folds events from `start` (default: the initial snapshot). */
export function foldEvents<TMachine extends AnyStateMachine>(
  machine: TMachine,
  events: Iterable<DomainEvent>,
  start: SnapshotFrom<TMachine> = initialSnapshot(machine),
): SnapshotFrom<TMachine> {
  let snapshot = start;
  for (const event of events) snapshot = foldEvent(machine, snapshot, event);
  return snapshot;
}
