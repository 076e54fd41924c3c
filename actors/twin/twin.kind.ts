// The twin actor kind: what the host needs to journal, rebuild and drive a device twin.
import { invariant } from '../../kernel/index.js';
import type { ActorKind } from '../host/actor-kind.js';
import { decideTwin, twinStateOf, type TwinCommand, type TwinRejection, type TwinState } from './twin.decider.js';
import { decodeTwinEvent, type TwinEvent } from './twin.events.js';
import { twinMachine } from './twin.machine.js';

export const twinStreamPrefix = 'twin-';

/**
 * The stream of one device's twin. Keyed by uid, so a re-created Device never folds onto its
 * predecessor.
 * @example twinStream('default', 'thermostat', '9b2e…') // 'twin-default.thermostat.9b2e…'
 */
export function twinStream(namespace: string, name: string, uid: string): string {
  invariant(namespace.length > 0 && name.length > 0 && uid.length > 0, 'a twin stream names namespace, name and uid');
  return `${twinStreamPrefix}${namespace}.${name}.${uid}`;
}

export const twinKind: ActorKind<typeof twinMachine, TwinEvent, TwinCommand, TwinRejection, TwinState> = {
  name: 'twin',
  streamPrefix: twinStreamPrefix,
  machine: twinMachine,
  stateOf: twinStateOf,
  decide: decideTwin,
  decodeEvent: decodeTwinEvent,
};
