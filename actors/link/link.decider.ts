// The node link decider: which link events a hub observation records, as a pure function of the
// link's state. Observations are facts, so none is refused; repeats record nothing.
import { assertNever, ok, type Decision } from '../../kernel/index.js';
import type { LinkContext } from './link.machine.js';
import type { LinkEvent } from './link.events.js';

export type LinkStatus = 'new' | 'linked' | 'unlinked' | 'decommissioned';

export type LinkState = { readonly status: LinkStatus } & LinkContext;

export type LinkCommand =
  | { readonly type: 'RecordLinked'; readonly at: string; readonly mode: 'resume' | 'full'; readonly process: string }
  | { readonly type: 'RecordUnlinked'; readonly at: string; readonly code: number; readonly reason: string; readonly byCloud: boolean }
  | { readonly type: 'RecordDecommissioned'; readonly at: string }
  | { readonly type: 'RecordRecommissioned'; readonly at: string };

/** Observations are never refused (the type exists for the actor host's contract). */
export type LinkRejection = { readonly kind: 'Never' };

export function decideLink(command: LinkCommand, state: LinkState): Decision<LinkEvent, LinkRejection> {
  switch (command.type) {
    case 'RecordLinked':
      return ok([{ type: 'EdgeLinked.v1', data: { at: command.at, mode: command.mode, process: command.process } }]);
    case 'RecordUnlinked':
      // Only a link that is up can go down (a decommissioned node's too): a close seen twice records once.
      return state.open ? ok([{ type: 'EdgeUnlinked.v1', data: { at: command.at, code: command.code, reason: command.reason, byCloud: command.byCloud } }]) : ok([]);
    case 'RecordDecommissioned':
      return state.status === 'decommissioned' ? ok([]) : ok([{ type: 'EdgeDecommissioned.v1', data: { at: command.at } }]);
    case 'RecordRecommissioned':
      return state.status === 'decommissioned' ? ok([{ type: 'EdgeRecommissioned.v1', data: { at: command.at } }]) : ok([]);
    default:
      return assertNever(command);
  }
}
