// given/when/then for deciders and machines (STYLE R16): given these events, when this command,
// then these events (or this rejection), and the machine reaches this state.
import { expect } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { foldEvents } from './fold.js';
import type { ActorKind, DomainEvent } from './actor-kind.js';

export function deciderSpec<
  TMachine extends AnyStateMachine,
  TEvent extends DomainEvent,
  TCommand extends { readonly type: string },
  TRejection extends { readonly kind: string },
  TState extends { readonly status: string },
>(kind: ActorKind<TMachine, TEvent, TCommand, TRejection, TState>) {
  return (given: readonly TEvent[]) => {
    const state = kind.stateOf(foldEvents(kind.machine, given));
    return {
      state,
      when: (command: TCommand) => {
        const decision = kind.decide(command, state);
        return {
          then: (expected: readonly TEvent[]) => {
            expect(decision).toEqual({ ok: true, value: expected });
            return kind.stateOf(foldEvents(kind.machine, [...given, ...expected]));
          },
          thenRejects: (expected: Partial<TRejection>) => {
            expect(decision.ok).toBe(false);
            if (!decision.ok) expect(decision.error).toMatchObject(expected);
          },
        };
      },
    };
  };
}
