// Given/when/then for the sync cores (STYLE R16): given a state, when inputs arrive one after the
// other, then the decisions of the last one are these; earlier decisions are kept for inspection.
import { expect } from 'vitest';
import type { Transition } from './sync.decisions.js';

export interface Then<S, D> {
  readonly state: S;
  /** Decisions of the last input. */
  readonly decisions: readonly D[];
  /** Decisions of every input, in order. */
  readonly all: readonly D[];
  then(expected: readonly D[]): S;
  /** The last input's decisions include these (in this order, others may come between). */
  thenIncludes(expected: readonly Partial<D>[]): S;
  when(step: (state: S) => Transition<S, D>): Then<S, D>;
}

export function given<S, D>(state: S, earlier: readonly D[] = []): { readonly state: S; when(step: (state: S) => Transition<S, D>): Then<S, D> } {
  return {
    state,
    when(step) {
      const next = step(state);
      const all = [...earlier, ...next.decisions];
      return {
        state: next.state,
        decisions: next.decisions,
        all,
        then(expected) {
          expect(next.decisions).toEqual(expected);
          return next.state;
        },
        thenIncludes(expected) {
          let from = 0;
          for (const wanted of expected) {
            const found = next.decisions.findIndex((d, i) => i >= from && matches(d, wanted));
            expect(found, `decision ${JSON.stringify(wanted)} among ${JSON.stringify(next.decisions)}`).toBeGreaterThanOrEqual(0);
            from = found + 1;
          }
          return next.state;
        },
        when: (following) => given(next.state, all).when(following),
      };
    },
  };
}

function matches(actual: unknown, wanted: unknown): boolean {
  try {
    expect(actual).toMatchObject(wanted as object);
    return true;
  } catch {
    return false;
  }
}
