// The domain kinds the replay property runs, each with a stream and a command-sequence generator.
import type fc from 'fast-check';
import { nodeKind, nodeStream, podKind, podStream, twinKind, twinStream, type AnyActorKind } from '../actors/index.js';
import { nodeCommandsArbitrary } from '../actors/node/node.arbitraries.testing.js';
import { podCommandsArbitrary } from '../actors/pod/pod.arbitraries.testing.js';
import { twinCommandsArbitrary } from '../actors/twin/twin.arbitraries.testing.js';

export interface KindUnderTest {
  readonly kind: AnyActorKind;
  readonly stream: string;
  readonly commands: fc.Arbitrary<readonly { readonly type: string }[]>;
}

export const kindsUnderTest: readonly KindUnderTest[] = [
  { kind: nodeKind, stream: nodeStream('edge-1'), commands: nodeCommandsArbitrary },
  { kind: podKind, stream: podStream('default', 'web', 'u1'), commands: podCommandsArbitrary },
  { kind: twinKind, stream: twinStream('default', 'thermostat', 'd1'), commands: twinCommandsArbitrary },
];
