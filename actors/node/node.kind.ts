// The node actor kind: what the host needs to journal, rebuild and drive an edge node.
import { invariant } from '../../kernel/index.js';
import type { ActorKind } from '../host/actor-kind.js';
import { decideNode, nodeStateOf, type NodeCommand, type NodeRejection, type NodeState } from './node.decider.js';
import { decodeNodeEvent, type NodeEvent } from './node.events.js';
import { nodeMachine } from './node.machine.js';

export const nodeStreamPrefix = 'node-';

/**
 * The stream of the node called `name`. Nodes are keyed by name (a re-created node continues
 * its stream from `decommissioned`).
 * @example nodeStream('edge-1') // 'node-edge-1'
 */
export function nodeStream(name: string): string {
  invariant(name.length > 0, 'a node has a name');
  return `${nodeStreamPrefix}${name}`;
}

export const nodeKind: ActorKind<typeof nodeMachine, NodeEvent, NodeCommand, NodeRejection, NodeState> = {
  name: 'node',
  streamPrefix: nodeStreamPrefix,
  machine: nodeMachine,
  stateOf: nodeStateOf,
  decide: decideNode,
  decodeEvent: decodeNodeEvent,
};
