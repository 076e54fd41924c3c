// The edge's side of desired state as a pure state machine: frames are taken in seq order,
// de-duplicated by (uid, resourceVersion), committed to the journal, and acknowledged cumulatively
// only once every commit up to the acknowledged frame is durable.
import { invariant, type JsonValue } from '../../kernel/index.js';
import { LayeredMap } from './layered-map.js';
import { transition, type AckTimer, type ArmTimer, type CancelTimer, type Resume, type SendFrame, type Transition } from './sync.decisions.js';
import { objectsPerNodeMax, type AckPolicy } from './sync.limits.js';
import { compareResourceVersions, type AckFrame, type DesiredFrame, type DownFrame, type ObjectKey, type ResourceVersion, type SyncMode, type TombstoneFrame, type Uid } from './sync.messages.js';

/** What the edge journal holds of one desired object (its content stays in the journal). */
export interface HeldObject {
  readonly uid: Uid;
  readonly resourceVersion: ResourceVersion;
  readonly contentHash: string;
}

/** A change to the edge's stored desired objects. */
export type DesiredChange =
  | { readonly op: 'put'; readonly key: ObjectKey; readonly uid: Uid; readonly resourceVersion: ResourceVersion; readonly contentHash: string; readonly content: JsonValue }
  | { readonly op: 'delete'; readonly key: ObjectKey; readonly uid: Uid };

/** A frame whose ack waits for commit `commitId` (its own, or an earlier one its dedupe relied on). */
interface Awaiting {
  readonly seq: number;
  readonly commitId: number;
}

export interface DownReceiverLink {
  /** `full` until the synced marker is applied: until then the cloud's revisions win whatever their number. */
  readonly mode: SyncMode;
  /** The cloud's clusterId, recorded with the synced marker of a full resync. */
  readonly clusterId: string;
  readonly accepted: number;
  readonly awaiting: readonly Awaiting[];
  readonly lastAck: number;
  readonly ackTimer: AckTimer;
  /** Full resync only: uids the cloud sent on this connection; the rest goes at the synced marker. */
  readonly confirmed: LayeredMap<Uid, true>;
}

export interface DownReceiverState {
  /** The cluster of the last completed full sync (durable); what the edge's hello announces. */
  readonly clusterId: string | null;
  /** The journal's objects by key, including accepted changes whose commit is in flight. */
  readonly held: LayeredMap<ObjectKey, HeldObject>;
  readonly nextCommitId: number;
  /** Commits in flight, in order; the one carrying a clusterId records it when it lands. */
  readonly committing: readonly { readonly commitId: number; readonly clusterId: string | null }[];
  readonly link: DownReceiverLink | null;
}

export type DownReceiverDecision =
  /**
   * Apply `changes` (and record `clusterId` when not null) to the journal in ONE transaction with
   * synchronous=FULL, then feed downCommitted(commitId). Commits complete in the order given.
   */
  | { readonly type: 'commit'; readonly commitId: number; readonly changes: readonly DesiredChange[]; readonly clusterId: string | null }
  | SendFrame<AckFrame>
  | ArmTimer<'downAckDelay'>
  | CancelTimer<'downAckDelay'>
  | Resume;

type Step = Transition<DownReceiverState, DownReceiverDecision>;

/** The receiver after an edge (re)start, from its journal: the objects it holds and its recorded clusterId. */
export function startDownReceiver(durable: { readonly clusterId: string | null; readonly held: Iterable<readonly [ObjectKey, HeldObject]> }): DownReceiverState {
  const held = LayeredMap.of(durable.held);
  invariant(held.size <= objectsPerNodeMax, 'held objects bounded per node');
  return { clusterId: durable.clusterId, held, nextCommitId: 1, committing: [], link: null };
}

/** The handshake succeeded with the cloud of `clusterId`; seqs restart at 1. */
export function downReceiverLinkUp(state: DownReceiverState, mode: SyncMode, clusterId: string): Step {
  return transition({ ...state, link: { mode, clusterId, accepted: 0, awaiting: [], lastAck: 0, ackTimer: 'none', confirmed: LayeredMap.empty() } });
}

/** The connection closed; commits in flight still land, their acks are not owed to anyone. */
export function downReceiverLinkDown(state: DownReceiverState): Step {
  if (state.link === null) return transition(state);
  return transition({ ...state, link: null }, [{ type: 'cancelTimer', timer: 'downAckDelay' }]);
}

/**
 * A down frame arrived. A seq at or below what was accepted is a duplicate and ignored; anything
 * beyond the next seq is a gap (the connection broke its order): refuse it and resume, the cloud
 * recomputes what is pending from what was acknowledged.
 */
export function downFrameReceived(state: DownReceiverState, frame: DownFrame, policy: AckPolicy): Step {
  const link = state.link;
  if (link === null || frame.seq <= link.accepted) return transition(state);
  if (frame.seq > link.accepted + 1) return transition(state, [{ type: 'resume', reason: `down seq gap: expected ${link.accepted + 1}, got ${frame.seq}` }]);
  if (state.committing.length >= policy.applyQueueFramesMax || link.awaiting.length >= policy.applyQueueFramesMax) {
    return transition(state, [{ type: 'resume', reason: `more than ${policy.applyQueueFramesMax} down frames await their commit` }]);
  }
  const applied = applyFrame(state, link, frame);
  if (applied.kind === 'refuse') return transition(state, [{ type: 'resume', reason: applied.reason }]);
  const accepted = { ...applied.link, accepted: frame.seq };
  const needsCommit = applied.changes.length > 0 || applied.clusterId !== null;
  if (!needsCommit) {
    // Nothing to write, but the dedupe relied on what earlier commits hold: ack only once they land.
    const newest = state.committing[state.committing.length - 1];
    const awaiting = newest === undefined ? accepted.awaiting : [...accepted.awaiting, { seq: frame.seq, commitId: newest.commitId }];
    return withAck({ ...state, held: applied.held, link: { ...accepted, awaiting } }, policy, []);
  }
  const commitId = state.nextCommitId;
  const next: DownReceiverState = {
    ...state,
    held: applied.held,
    nextCommitId: commitId + 1,
    committing: [...state.committing, { commitId, clusterId: applied.clusterId }],
    link: { ...accepted, awaiting: [...accepted.awaiting, { seq: frame.seq, commitId }] },
  };
  return transition(next, [{ type: 'commit', commitId, changes: applied.changes, clusterId: applied.clusterId }]);
}

/** Commit `commitId` is durable: the frames waiting for it may be acknowledged. */
export function downCommitted(state: DownReceiverState, commitId: number, policy: AckPolicy): Step {
  const [landed, ...committing] = state.committing;
  invariant(landed !== undefined && landed.commitId === commitId, 'commits land in the order they were decided');
  const clusterId = landed.clusterId ?? state.clusterId;
  const link = state.link;
  const next = { ...state, clusterId, committing };
  if (link === null) return transition(next);
  return withAck({ ...next, link: { ...link, awaiting: link.awaiting.filter((a) => a.commitId > commitId) } }, policy, []);
}

/** The ack timer (batching delay or end of turn) fired: acknowledge whatever is durable and not yet acknowledged. */
export function downAckDelayFired(state: DownReceiverState): Step {
  const link = state.link;
  if (link === null) return transition(state);
  const durable = durableThrough(link);
  if (durable <= link.lastAck) return transition({ ...state, link: { ...link, ackTimer: 'none' } });
  return transition({ ...state, link: { ...link, lastAck: durable, ackTimer: 'none' } }, [{ type: 'send', frame: { kind: 'ack', upTo: durable } }]);
}

/** Frames through here are applied and every commit they rely on is durable. */
const durableThrough = (link: DownReceiverLink): number => (link.awaiting[0] === undefined ? link.accepted : link.awaiting[0].seq - 1);

type Applied =
  | { readonly kind: 'apply'; readonly held: LayeredMap<ObjectKey, HeldObject>; readonly link: DownReceiverLink; readonly changes: readonly DesiredChange[]; readonly clusterId: string | null }
  | { readonly kind: 'refuse'; readonly reason: string };

function applyFrame(state: DownReceiverState, link: DownReceiverLink, frame: DownFrame): Applied {
  switch (frame.kind) {
    case 'desired':
      return applyDesired(state, link, frame);
    case 'tombstone':
      return applyTombstone(state, link, frame);
    case 'synced':
      return applySynced(state, link);
  }
}

/**
 * De-duplication by (uid, resourceVersion), PROTOCOL.md: a new uid replaces the object of the same
 * key whatever its resourceVersion; the same uid applies only a newer resourceVersion. During a
 * full resync an object not yet confirmed takes the cloud's revision if it differs at all: the
 * revisions it holds may come from another cluster, where numbers mean nothing.
 */
function applyDesired(state: DownReceiverState, link: DownReceiverLink, frame: DesiredFrame): Applied {
  const held = state.held.get(frame.key);
  const confirmed = link.mode === 'full' ? link.confirmed.set(frame.uid, true) : link.confirmed;
  const unconfirmed = link.mode === 'full' && !link.confirmed.has(frame.uid);
  const newer =
    held === undefined ||
    held.uid !== frame.uid ||
    (unconfirmed ? held.resourceVersion !== frame.resourceVersion || held.contentHash !== frame.contentHash : compareResourceVersions(frame.resourceVersion, held.resourceVersion) > 0);
  const nextLink = { ...link, confirmed };
  if (!newer) return { kind: 'apply', held: state.held, link: nextLink, changes: [], clusterId: null };
  if (held === undefined && state.held.size >= objectsPerNodeMax) return { kind: 'refuse', reason: `the node's desired set exceeds ${objectsPerNodeMax} objects` };
  const { uid, key, resourceVersion, contentHash, content } = frame;
  return { kind: 'apply', held: state.held.set(key, { uid, resourceVersion, contentHash }), link: nextLink, changes: [{ op: 'put', key, uid, resourceVersion, contentHash, content }], clusterId: null };
}

/** A tombstone removes the object only if it is the same uid at a revision no newer than the tombstone's. */
function applyTombstone(state: DownReceiverState, link: DownReceiverLink, frame: TombstoneFrame): Applied {
  const held = state.held.get(frame.key);
  if (held === undefined || held.uid !== frame.uid || compareResourceVersions(held.resourceVersion, frame.resourceVersion) > 0) {
    return { kind: 'apply', held: state.held, link, changes: [], clusterId: null };
  }
  return { kind: 'apply', held: state.held.delete(frame.key), link, changes: [{ op: 'delete', key: frame.key, uid: frame.uid }], clusterId: null };
}

/**
 * The synced marker ends a full resync: objects the cloud did not confirm are removed and the
 * cluster is recorded, in one commit. An interrupted resync records nothing, so the next hello
 * asks for a full resync again. Processes of pods still desired were never touched.
 */
function applySynced(state: DownReceiverState, link: DownReceiverLink): Applied {
  if (link.mode === 'resume') return { kind: 'apply', held: state.held, link, changes: [], clusterId: null };
  let held = state.held;
  const changes: DesiredChange[] = [];
  for (const [key, object] of state.held) {
    if (link.confirmed.has(object.uid)) continue;
    held = held.delete(key);
    changes.push({ op: 'delete', key, uid: object.uid });
  }
  return { kind: 'apply', held, link: { ...link, mode: 'resume', confirmed: LayeredMap.empty() }, changes, clusterId: link.clusterId };
}

/** Acks now when N durable frames wait, else makes sure a timer will: at the end of the turn once caught up, else after the delay. */
function withAck(state: DownReceiverState, policy: AckPolicy, decisions: readonly DownReceiverDecision[]): Step {
  const link = state.link;
  if (link === null) return transition(state, decisions);
  const durable = durableThrough(link);
  if (durable <= link.lastAck) return transition(state, decisions);
  if (durable - link.lastAck >= policy.ackEveryFrames) {
    return transition({ ...state, link: { ...link, lastAck: durable } }, [...decisions, { type: 'send', frame: { kind: 'ack', upTo: durable } }]);
  }
  // Caught up (every accepted frame durable, no commit in flight): the cloud's window may be waiting
  // on this ack, so it goes out when the I/O in progress is done; frames read in the same turn join it.
  if (durable === link.accepted && state.committing.length === 0) {
    if (link.ackTimer === 'turnEnd') return transition(state, decisions);
    return transition({ ...state, link: { ...link, ackTimer: 'turnEnd' } }, [...decisions, { type: 'armTimer', timer: 'downAckDelay', afterMs: 0 }]);
  }
  if (link.ackTimer !== 'none') return transition(state, decisions);
  return transition({ ...state, link: { ...link, ackTimer: 'delay' } }, [...decisions, { type: 'armTimer', timer: 'downAckDelay', afterMs: policy.ackDelayMs }]);
}
