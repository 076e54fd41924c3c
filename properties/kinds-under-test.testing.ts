// The domain kinds the replay property runs, each with a stream and a command-sequence generator.
import type fc from 'fast-check';
import type { AnyActorKind } from '../actors/index.js';

export interface KindUnderTest {
  readonly kind: AnyActorKind;
  readonly stream: string;
  readonly commands: fc.Arbitrary<readonly { readonly type: string }[]>;
}

export const kindsUnderTest: readonly KindUnderTest[] = [];
