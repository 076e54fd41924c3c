// The node link actor kind (cloud side, one per edge node): what the host needs to journal and
// rebuild the history of a node's stream, so `edgehive replay` on the cloud journal explains it.
import type { SnapshotFrom } from 'xstate';
import { invariant } from '../../kernel/index.js';
import type { ActorKind } from '../host/actor-kind.js';
import { decideLink, type LinkCommand, type LinkRejection, type LinkState, type LinkStatus } from './link.decider.js';
import { decodeLinkEvent, type LinkEvent } from './link.events.js';
import { linkMachine } from './link.machine.js';

export const linkStreamPrefix = 'link-';

/**
 * The stream of node `name`'s link, keyed by node name as the node's own stream is.
 * @example linkStream('edge-1') // 'link-edge-1'
 */
export function linkStream(name: string): string {
  invariant(name.length > 0, 'a node has a name');
  return `${linkStreamPrefix}${name}`;
}

const linkStateOf = (snapshot: SnapshotFrom<typeof linkMachine>): LinkState => ({ status: snapshot.value as LinkStatus, ...snapshot.context });

export const linkKind: ActorKind<typeof linkMachine, LinkEvent, LinkCommand, LinkRejection, LinkState> = {
  name: 'link',
  streamPrefix: linkStreamPrefix,
  machine: linkMachine,
  stateOf: linkStateOf,
  decide: decideLink,
  decodeEvent: decodeLinkEvent,
};
