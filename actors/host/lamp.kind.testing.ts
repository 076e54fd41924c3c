// A deliberately tiny actor kind (a lamp that counts its switches) for testing the host alone.
import { assign, setup } from 'xstate';
import { err, ok, type Decision, type JsonValue, type Result } from '../../kernel/index.js';
import type { ActorKind, EventDecodeError } from './actor-kind.js';

export type LampEvent =
  | { readonly type: 'LampSwitchedOn.v1'; readonly data: { readonly by: string } }
  | { readonly type: 'LampSwitchedOff.v1'; readonly data: { readonly by: string } };
export type LampCommand =
  | { readonly type: 'SwitchOn'; readonly by: string }
  | { readonly type: 'SwitchOff'; readonly by: string }
  | { readonly type: 'Observe'; readonly bulbLit: boolean };
export type LampRejection = { readonly kind: 'AlreadyOn' } | { readonly kind: 'AlreadyOff' };
export type LampState = { readonly status: 'off' | 'on'; readonly switches: number };

export const lampMachine = setup({
  types: {} as { context: { switches: number; lastBy: string }; events: LampEvent },
  actions: { lightBulb: () => undefined, darkenBulb: () => undefined },
}).createMachine({
  id: 'lamp',
  context: { switches: 0, lastBy: '' },
  initial: 'off',
  states: {
    off: {
      on: {
        'LampSwitchedOn.v1': {
          target: 'on',
          actions: assign({ switches: ({ context }) => context.switches + 1, lastBy: ({ event }) => event.data.by }),
        },
      },
    },
    on: {
      entry: 'lightBulb',
      exit: 'darkenBulb',
      on: {
        'LampSwitchedOff.v1': {
          target: 'off',
          actions: assign({ switches: ({ context }) => context.switches + 1, lastBy: ({ event }) => event.data.by }),
        },
      },
    },
  },
});

const decideLamp = (command: LampCommand, state: LampState): Decision<LampEvent, LampRejection> => {
  switch (command.type) {
    case 'SwitchOn':
      return state.status === 'on' ? err({ kind: 'AlreadyOn' }) : ok([{ type: 'LampSwitchedOn.v1', data: { by: command.by } }]);
    case 'SwitchOff':
      return state.status === 'off' ? err({ kind: 'AlreadyOff' }) : ok([{ type: 'LampSwitchedOff.v1', data: { by: command.by } }]);
    case 'Observe':
      // A lamp whose bulb went dark while the host was down records that it is off.
      return state.status === 'on' && !command.bulbLit ? ok([{ type: 'LampSwitchedOff.v1', data: { by: 'observation' } }]) : ok([]);
  }
};

const decodeLamp = (type: string, data: JsonValue): Result<LampEvent, EventDecodeError> => {
  const by = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, JsonValue>)['by'] : undefined;
  if (type !== 'LampSwitchedOn.v1' && type !== 'LampSwitchedOff.v1') return err({ kind: 'UnknownEventType', type, detail: 'not a lamp event' });
  if (typeof by !== 'string') return err({ kind: 'MalformedEventData', type, detail: 'data.by must be a string' });
  return ok({ type, data: { by } });
};

export const lampKind: ActorKind<typeof lampMachine, LampEvent, LampCommand, LampRejection, LampState> = {
  name: 'lamp',
  streamPrefix: 'lamp-',
  machine: lampMachine,
  stateOf: (snapshot) => ({ status: snapshot.value === 'on' ? 'on' : 'off', switches: snapshot.context.switches }),
  decide: decideLamp,
  decodeEvent: decodeLamp,
};
