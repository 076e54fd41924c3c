// The event streams benchmarks rebuild: for now the host's test lamp, until the domain kinds land.
import type { AnyActorKind, DomainEvent } from '../actors/index.js';
import { lampKind } from '../actors/host/lamp.kind.testing.js';

export function rehydrationWorkload(): { kind: AnyActorKind; stream: string; events: DomainEvent[] } {
  const events: DomainEvent[] = Array.from({ length: 10_000 }, (_, i) => ({ type: i % 2 === 0 ? 'LampSwitchedOn.v1' : 'LampSwitchedOff.v1', data: { by: `u${i}` } }));
  return { kind: lampKind as unknown as AnyActorKind, stream: 'lamp-bench', events };
}
