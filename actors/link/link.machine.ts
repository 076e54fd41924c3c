// The node link machine: an edge node's stream as the cloud sees it, as a pure XState machine that
// moves only on link events. It has no effects: the hub acts, this records and explains.
import { assertEvent, assign, setup } from 'xstate';
import type { LinkEvent } from './link.events.js';

/** JSON only, so folding the journal rebuilds it exactly. */
export type LinkContext = {
  /** Links made so far. */
  readonly links: number;
  /** The cloud process of the current or last link. */
  readonly process: string | null;
  readonly mode: 'resume' | 'full' | null;
  /** When the current status began. */
  readonly since: string | null;
  readonly lastClose: { readonly code: number; readonly reason: string; readonly byCloud: boolean } | null;
  /** Whether the last link has not closed yet (a decommissioned node's stream closes after the fact). */
  readonly open: boolean;
};

export const emptyLinkContext: LinkContext = { links: 0, process: null, mode: null, since: null, lastClose: null, open: false };

export const linkMachine = setup({
  types: {} as { context: LinkContext; events: LinkEvent },
  actions: {
    linked: assign(({ context, event }) => {
      assertEvent(event, 'EdgeLinked.v1');
      return { links: context.links + 1, process: event.data.process, mode: event.data.mode, since: event.data.at, open: true };
    }),
    unlinked: assign(({ event }) => {
      assertEvent(event, 'EdgeUnlinked.v1');
      return { since: event.data.at, lastClose: { code: event.data.code, reason: event.data.reason, byCloud: event.data.byCloud }, open: false };
    }),
    stamped: assign(({ event }) => ({ since: event.data.at })),
    /** The stream of a decommissioned node closes (4410): recorded, the status stays. */
    closedAfterDecommission: assign(({ event }) => {
      assertEvent(event, 'EdgeUnlinked.v1');
      return { lastClose: { code: event.data.code, reason: event.data.reason, byCloud: event.data.byCloud }, open: false };
    }),
  },
}).createMachine({
  id: 'link',
  context: emptyLinkContext,
  initial: 'new',
  states: {
    new: { on: { 'EdgeLinked.v1': { target: 'linked', actions: 'linked' }, 'EdgeDecommissioned.v1': { target: 'decommissioned', actions: 'stamped' } } },
    linked: { on: { 'EdgeUnlinked.v1': { target: 'unlinked', actions: 'unlinked' }, 'EdgeLinked.v1': { target: 'linked', actions: 'linked' }, 'EdgeDecommissioned.v1': { target: 'decommissioned', actions: 'stamped' } } },
    unlinked: { on: { 'EdgeLinked.v1': { target: 'linked', actions: 'linked' }, 'EdgeDecommissioned.v1': { target: 'decommissioned', actions: 'stamped' } } },
    decommissioned: { on: { 'EdgeRecommissioned.v1': { target: 'unlinked', actions: 'stamped' }, 'EdgeUnlinked.v1': { actions: 'closedAfterDecommission' } } },
  },
});
