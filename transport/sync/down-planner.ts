// The cloud's side of desired state as a pure state machine, level-based: what to send is computed
// from the node's desired set and what the edge acknowledged (`acked`), never kept in a queue, so
// any number of revisions made while the edge is away coalesce into at most one frame per object.
import { invariant } from '../../kernel/index.js';
import { LayeredMap } from './layered-map.js';
import { transition, type ArmTimer, type CancelTimer, type Resume, type SendFrame, type Transition } from './sync.decisions.js';
import { jsonFrameBytes, objectsPerNodeMax, type FlowLimits } from './sync.limits.js';
import { compareResourceVersions, type DesiredFrame, type DownFrame, type ObjectKey, type ResourceVersion, type SyncMode, type TombstoneFrame, type Uid } from './sync.messages.js';
import type { JsonValue } from '../../kernel/index.js';

/** One object of the node's desired set, as the projections compute it. */
export interface DesiredObject {
  readonly uid: Uid;
  readonly key: ObjectKey;
  readonly resourceVersion: ResourceVersion;
  /** Hash of the desired content (the object minus status, managedFields and resourceVersion). */
  readonly contentHash: string;
  readonly content: JsonValue;
}

/** The node's desired set as of the cluster's `resourceVersion` (≥ every object's; tombstones carry it). */
export interface DesiredSet {
  readonly objects: ReadonlyMap<Uid, DesiredObject>;
  readonly resourceVersion: ResourceVersion;
}

/**
 * What the cloud records per object sent to the node (KubeEdge's ObjectSync, kept in NodeSync).
 * `null` revision and hash: sent, not acknowledged yet. Recorded durably before the first send of an
 * object, so an object the edge may hold is never forgotten and gets its tombstone when it goes.
 */
export interface AckedEntry {
  readonly key: ObjectKey;
  readonly resourceVersion: ResourceVersion | null;
  readonly contentHash: string | null;
}

/** A change to the durable `acked` record: `entry: null` removes the uid. */
export interface AckedChange {
  readonly uid: Uid;
  readonly entry: AckedEntry | null;
}

/** A frame in flight, without its content: the planner holds no message bodies. */
export interface InFlightFrame {
  readonly seq: number;
  readonly kind: DownFrame['kind'];
  readonly uid: Uid;
  readonly key: ObjectKey;
  readonly resourceVersion: ResourceVersion;
  readonly contentHash: string | null;
  readonly bytes: number;
}

export interface DownLink {
  readonly nextSeq: number;
  /** Unacked frames in seq order; bounded by FlowLimits. */
  readonly inFlight: readonly InFlightFrame[];
  readonly inFlightBytes: number;
  /** The synced marker went out on this connection. */
  readonly syncedSent: boolean;
}

export interface DownPlannerState {
  readonly desired: DesiredSet;
  readonly acked: LayeredMap<Uid, AckedEntry>;
  /** Revisions too large for one frame, skipped with a warning until their hash changes. */
  readonly skipped: LayeredMap<Uid, string>;
  readonly link: DownLink | null;
  /**
   * The uids that may be pending, so that planning after an ack looks only at these, not at the
   * whole desired set. `null`: every uid (after a start or a link change); the next plan on a link
   * lists them. Internal to the planner: hosts read it never.
   */
  readonly candidates: DownCandidates | null;
}

/**
 * Uids that may be pending, in the order `pendingFrames` lists them (desired ones in desired-set
 * order, then the others in `acked` order); plans consume them from `next` on. Every pending uid is
 * among them: only a desired-set change or a new link can make a uid pending (an ack only confirms
 * what the edge was already expected to hold), and both list it again.
 */
export interface DownCandidates {
  readonly order: readonly Uid[];
  /** Entries before `next` were sent, skipped or found not pending since the list was made. */
  readonly next: number;
  /**
   * The newest frame in flight per uid when the list was made. A uid from `next` on was not sent
   * since, so what the edge is expected to hold of it is this frame, else its `acked` entry (an ack
   * of this frame turns the entry into what the frame carried).
   */
  readonly inFlight: ReadonlyMap<Uid, InFlightFrame>;
}

export interface DownPlannerOptions {
  readonly limits: FlowLimits;
  /** Bytes of a down frame on the wire; the default measures its JSON. */
  readonly frameBytes?: (frame: DownFrame) => number;
}

export type DownPlannerDecision =
  /** Durably record these uids as sent (null revision) BEFORE the sends that follow. */
  | { readonly type: 'recordIntent'; readonly entries: readonly AckedChange[] }
  /** Durably apply these changes to `acked`; sends may go on meanwhile. */
  | { readonly type: 'recordAcked'; readonly changes: readonly AckedChange[] }
  /** Full resync: durably turn every `acked` entry into an intent (revision and hash forgotten) BEFORE the sends that follow. */
  | { readonly type: 'forgetAckedRevisions' }
  | SendFrame<DownFrame>
  /** The object does not fit in a frame: not sent; the host records a Warning Event on it (never a close). */
  | { readonly type: 'skipOversized'; readonly uid: Uid; readonly key: ObjectKey; readonly bytes: number; readonly frameBytesMax: number }
  | ArmTimer<'downAckTimeout'>
  | CancelTimer<'downAckTimeout'>
  | Resume;

type Step = Transition<DownPlannerState, DownPlannerDecision>;

/** The planner for one node after a cloud start, from its durable `acked` record and its desired set. */
export function startDownPlanner(durable: { readonly acked: Iterable<readonly [Uid, AckedEntry]>; readonly desired: DesiredSet }): DownPlannerState {
  assertDesiredSet(durable.desired);
  const acked = LayeredMap.of(durable.acked);
  invariant(acked.size <= objectsPerNodeMax, 'acked records bounded per node');
  return { desired: durable.desired, acked, skipped: LayeredMap.empty(), link: null, candidates: null };
}

/** The projections computed a new desired set for the node (any number of changes at once). */
export function downDesiredChanged(state: DownPlannerState, desired: DesiredSet, options: DownPlannerOptions): Step {
  assertDesiredSet(desired);
  return plan({ ...state, desired, candidates: candidatesAfterChange(state, desired) }, options);
}

/**
 * The handshake succeeded; seqs restart at 1. A full resync drops what the acked records say the
 * edge holds (every object is sent again) but keeps which uids it may hold, so each one still gets
 * its tombstone if it is not desired: a stale or interrupted resync can never make the cloud forget
 * an object the edge still has.
 */
export function downLinkUp(state: DownPlannerState, mode: SyncMode, options: DownPlannerOptions): Step {
  const link: DownLink = { nextSeq: 1, inFlight: [], inFlightBytes: 0, syncedSent: false };
  if (mode === 'resume') return plan({ ...state, link, candidates: null }, options);
  const acked = LayeredMap.of([...state.acked].map(([uid, entry]) => [uid, { key: entry.key, resourceVersion: null, contentHash: null }] as const));
  const step = plan({ ...state, acked, link, candidates: null }, options);
  return transition(step.state, [{ type: 'forgetAckedRevisions' }, ...step.decisions]);
}

/** The connection closed: in-flight frames are forgotten; what they carried is still pending. */
export function downLinkDown(state: DownPlannerState): Step {
  if (state.link === null) return transition(state);
  return transition({ ...state, link: null, candidates: null }, [{ type: 'cancelTimer', timer: 'downAckTimeout' }]);
}

/** A cumulative ack from the edge: the frames it covers become `acked` (durably, via recordAcked). */
export function downAckReceived(state: DownPlannerState, upTo: number, options: DownPlannerOptions): Step {
  const link = state.link;
  if (link === null) return transition(state);
  if (upTo >= link.nextSeq) return transition(state, [{ type: 'resume', reason: `down ack ${upTo} is beyond the last frame sent (${link.nextSeq - 1})` }]);
  const first = link.inFlight[0];
  if (first === undefined || upTo < first.seq) return transition(state);
  const covered = link.inFlight.filter((f) => f.seq <= upTo);
  const remaining = link.inFlight.slice(covered.length);
  let acked = state.acked;
  const changes = new Map<Uid, AckedEntry | null>();
  for (const frame of covered) {
    const entry = ackedAfter(frame, remaining);
    if (entry === undefined) continue;
    acked = entry === null ? acked.delete(frame.uid) : acked.set(frame.uid, entry);
    changes.set(frame.uid, entry);
  }
  const inFlightBytes = remaining.reduce((sum, f) => sum + f.bytes, 0);
  const next = { ...state, acked, link: { ...link, inFlight: remaining, inFlightBytes } };
  const record: DownPlannerDecision[] = changes.size > 0 ? [{ type: 'recordAcked', changes: [...changes].map(([uid, entry]) => ({ uid, entry })) }] : [];
  // Progress restarts the ack timeout while frames remain in flight.
  const timer: DownPlannerDecision = remaining.length > 0 ? { type: 'armTimer', timer: 'downAckTimeout', afterMs: options.limits.ackTimeoutMs } : { type: 'cancelTimer', timer: 'downAckTimeout' };
  const step = plan(next, options);
  return transition(step.state, [...record, timer, ...step.decisions]);
}

/** No ack progress for ackTimeoutMs while frames were unacked: a frame or an ack was lost. */
export function downAckTimeoutFired(state: DownPlannerState): Step {
  const link = state.link;
  if (link === null || link.inFlight.length === 0) return transition(state);
  return transition(state, [{ type: 'resume', reason: `no ack for down frames ${link.inFlight[0]?.seq ?? 0}…${link.nextSeq - 1} within the ack timeout` }]);
}

/** A frame of the pending set, before it gets the connection's next seq. */
export type PendingFrame = Omit<DesiredFrame, 'seq'> | Omit<TombstoneFrame, 'seq'>;

/** What the edge will hold of `uid` once everything in flight is applied, as far as the cloud knows. */
type Expected = { readonly present: false } | { readonly present: true; readonly key: ObjectKey; readonly contentHash: string | null };

/**
 * The pending set: desired objects whose content differs from what the edge will hold, then
 * tombstones for objects the edge may hold that are no longer desired. Pure, for the host's
 * `status` (unacked counts); it looks at every uid (O(desired + acked)), so planning does not use it.
 */
export function pendingFrames(state: DownPlannerState): readonly PendingFrame[] {
  const latest = latestInFlight(state.link);
  const pending: PendingFrame[] = [];
  for (const uid of state.desired.objects.keys()) {
    const frame = pendingFrameOf(state, latest, uid);
    if (frame !== undefined) pending.push(frame);
  }
  for (const uid of mayHold(state.acked, latest)) {
    if (state.desired.objects.has(uid)) continue;
    const frame = pendingFrameOf(state, latest, uid);
    if (frame !== undefined) pending.push(frame);
  }
  return pending;
}

/** What pending is computed from: a plan passes the `acked` and `skipped` it is deriving, the newest versions. */
type Known = Pick<DownPlannerState, 'desired' | 'acked' | 'skipped'>;

/** The frame `uid` is pending for, if any, given the newest frame in flight per uid (`latest`). */
function pendingFrameOf(state: Known, latest: ReadonlyMap<Uid, InFlightFrame>, uid: Uid): PendingFrame | undefined {
  const held = expected(state, latest, uid);
  const object = state.desired.objects.get(uid);
  if (object === undefined) return held.present ? { kind: 'tombstone', uid, key: held.key, resourceVersion: state.desired.resourceVersion } : undefined;
  if (held.present && held.contentHash === object.contentHash) return undefined;
  if (state.skipped.get(uid) === object.contentHash) return undefined;
  return { kind: 'desired', uid: object.uid, key: object.key, resourceVersion: object.resourceVersion, contentHash: object.contentHash, content: object.content };
}

/** What the edge will hold of `uid`: the newest frame in flight for it, else its `acked` entry. */
function expected(state: Known, latest: ReadonlyMap<Uid, InFlightFrame>, uid: Uid): Expected {
  const frame = latest.get(uid);
  if (frame !== undefined) return frame.kind === 'tombstone' ? { present: false } : { present: true, key: frame.key, contentHash: frame.contentHash };
  const entry = state.acked.get(uid);
  return entry === undefined ? { present: false } : { present: true, key: entry.key, contentHash: entry.contentHash };
}

/** The newest frame in flight per uid (the synced marker carries none). */
function latestInFlight(link: DownLink | null): ReadonlyMap<Uid, InFlightFrame> {
  const latest = new Map<Uid, InFlightFrame>();
  for (const frame of link?.inFlight ?? []) if (frame.kind !== 'synced') latest.set(frame.uid, frame);
  return latest;
}

/** Uids the edge may hold: those in `acked`, in its order, then any only in flight. */
function mayHold(acked: LayeredMap<Uid, AckedEntry>, latest: ReadonlyMap<Uid, InFlightFrame>): Set<Uid> {
  return new Set<Uid>([...acked.keys(), ...latest.keys()]);
}

const noCandidates: DownCandidates = { order: [], next: 0, inFlight: new Map() };

/** Every uid as a candidate, in pending order: the list a new link (or a start) plans from. */
function allCandidates(state: DownPlannerState, link: DownLink): DownCandidates {
  const latest = latestInFlight(link);
  const order = [...state.desired.objects.keys()];
  for (const uid of mayHold(state.acked, latest)) if (!state.desired.objects.has(uid)) order.push(uid);
  return { order, next: 0, inFlight: latest };
}

/**
 * The candidates once the desired set becomes `desired`: those not yet consumed, plus each uid whose
 * desired content changed (added, revised or no longer desired). Any other uid keeps its content
 * and what the edge is expected to hold, so it stays not pending. O(desired) for the comparison, as
 * computing the set was; `acked` is walked only when a uid may need a tombstone.
 */
function candidatesAfterChange(state: DownPlannerState, desired: DesiredSet): DownCandidates | null {
  const { candidates, link } = state;
  if (candidates === null || link === null) return null;
  const remaining = new Set(candidates.order.slice(candidates.next));
  const before = state.desired.objects;
  const order: Uid[] = [];
  let kept = 0;
  for (const [uid, object] of desired.objects) {
    const was = before.get(uid);
    if (was !== undefined) kept += 1;
    if (remaining.has(uid) || was?.contentHash !== object.contentHash) order.push(uid);
  }
  const latest = latestInFlight(link);
  const gone = (uid: Uid): boolean => !desired.objects.has(uid) && (remaining.has(uid) || before.has(uid));
  if (kept < before.size || [...remaining].some(gone)) {
    for (const uid of mayHold(state.acked, latest)) if (gone(uid)) order.push(uid);
  }
  return { order, next: 0, inFlight: latest };
}

/**
 * Sends from the pending set while the flow limits allow, then the synced marker once nothing is
 * pending. It walks the candidates only (each at most once per listing), and stops at the first
 * frame that does not fit, so a plan costs O(frames sent + candidates found not pending).
 */
function plan(state: DownPlannerState, options: DownPlannerOptions): Step {
  const start = state.link;
  if (start === null) return transition(state);
  const measure = options.frameBytes ?? jsonFrameBytes;
  const { limits } = options;
  const candidates = state.candidates ?? allCandidates(state, start);
  let { acked, skipped } = state;
  const room: Room = { frames: start.inFlight.length, bytes: start.inFlightBytes, nextSeq: start.nextSeq, sent: [] };
  const intents: AckedChange[] = [];
  const sends: DownPlannerDecision[] = [];
  const warnings: DownPlannerDecision[] = [];
  let next = candidates.next;
  for (; next < candidates.order.length; next += 1) {
    // The newest acked and skipped, not the state's: reading an older LayeredMap version while
    // deriving newer ones would undo and redo this plan's changes at every candidate.
    const pending = pendingFrameOf({ desired: state.desired, acked, skipped }, candidates.inFlight, candidates.order[next]!);
    if (pending === undefined) continue;
    const frame: DesiredFrame | TombstoneFrame = { ...pending, seq: room.nextSeq };
    const bytes = measure(frame);
    if (frame.kind === 'desired' && bytes > limits.frameBytesMax) {
      warnings.push({ type: 'skipOversized', uid: frame.uid, key: frame.key, bytes, frameBytesMax: limits.frameBytesMax });
      skipped = skipped.set(frame.uid, frame.contentHash);
      continue;
    }
    if (!fits(room, bytes, limits)) break;
    // Before any frame that changes what the edge holds, record that the edge's copy is unknown
    // until the ack: it may hold a new object from now on, have dropped a tombstoned one, or hold
    // the new content. Were the ack lost with the link and the object then desired again as `acked`
    // still has it (the same content back, or a DeviceModel back on the node unchanged), a resume
    // comparing hashes would never send it again.
    const held = acked.get(frame.uid);
    if (held === undefined || held.contentHash !== null) {
      const entry = { key: frame.key, resourceVersion: null, contentHash: null };
      acked = acked.set(frame.uid, entry);
      intents.push({ uid: frame.uid, entry });
    }
    send(room, frame, bytes);
    sends.push({ type: 'send', frame });
  }
  const blocked = next < candidates.order.length;
  let syncedSent = start.syncedSent;
  if (!blocked && !syncedSent) {
    const marker: DownFrame = { kind: 'synced', seq: room.nextSeq };
    const bytes = measure(marker);
    if (fits(room, bytes, limits)) {
      send(room, marker, bytes);
      sends.push({ type: 'send', frame: marker });
      syncedSent = true;
    }
  }
  invariant(acked.size <= objectsPerNodeMax, 'acked records bounded per node');
  const link: DownLink =
    room.sent.length === 0 ? start : { nextSeq: room.nextSeq, inFlight: [...start.inFlight, ...room.sent], inFlightBytes: room.bytes, syncedSent };
  const decisions: DownPlannerDecision[] = [...warnings];
  if (intents.length > 0) decisions.push({ type: 'recordIntent', entries: intents });
  decisions.push(...sends);
  if (start.inFlight.length === 0 && link.inFlight.length > 0) decisions.push({ type: 'armTimer', timer: 'downAckTimeout', afterMs: limits.ackTimeoutMs });
  const pruned = skipped.size === 0 ? skipped : pruneSkipped(skipped, state.desired);
  // A list used up is dropped, so a node that got its objects holds no copy of their uids.
  const left = next < candidates.order.length ? { ...candidates, next } : noCandidates;
  return transition({ ...state, acked, skipped: pruned, link, candidates: left }, decisions);
}

/** What `acked` holds for a frame's uid once the edge acknowledged it (undefined: unchanged). */
function ackedAfter(frame: InFlightFrame, remaining: readonly InFlightFrame[]): AckedEntry | null | undefined {
  if (frame.kind === 'synced') return undefined;
  // A later frame of the same uid is still in flight: what the edge holds stays unknown until its ack.
  const later = remaining.some((f) => f.uid === frame.uid && f.kind !== 'synced');
  if (later) return { key: frame.key, resourceVersion: null, contentHash: null };
  return frame.kind === 'desired' ? { key: frame.key, resourceVersion: frame.resourceVersion, contentHash: frame.contentHash } : null;
}

/** The flow window while a plan fills it: its frames join the link once, when the plan ends. */
interface Room {
  frames: number;
  bytes: number;
  nextSeq: number;
  readonly sent: InFlightFrame[];
}

/** Within the unacked bounds; a lone frame may exceed the byte bound so that nothing deadlocks. */
const fits = (room: Room, bytes: number, limits: FlowLimits): boolean =>
  room.frames < limits.unackedFramesMax && (room.frames === 0 || room.bytes + bytes <= limits.unackedBytesMax);

function send(room: Room, frame: DownFrame, bytes: number): void {
  const flight: InFlightFrame =
    frame.kind === 'synced'
      ? { seq: frame.seq, kind: 'synced', uid: '', key: '', resourceVersion: '0', contentHash: null, bytes }
      : { seq: frame.seq, kind: frame.kind, uid: frame.uid, key: frame.key, resourceVersion: frame.resourceVersion, contentHash: frame.kind === 'desired' ? frame.contentHash : null, bytes };
  room.sent.push(flight);
  room.frames += 1;
  room.bytes += bytes;
  room.nextSeq += 1;
}

/** Skip records of objects no longer desired are dropped, so the map stays bounded by the desired set. */
function pruneSkipped(skipped: LayeredMap<Uid, string>, desired: DesiredSet): LayeredMap<Uid, string> {
  let pruned = skipped;
  for (const uid of skipped.keys()) if (!desired.objects.has(uid)) pruned = pruned.delete(uid);
  return pruned;
}

function assertDesiredSet(desired: DesiredSet): void {
  invariant(desired.objects.size <= objectsPerNodeMax, 'a node desires at most objectsPerNodeMax objects');
  for (const [uid, object] of desired.objects) {
    invariant(uid === object.uid, 'desired objects are keyed by their uid');
    invariant(compareResourceVersions(object.resourceVersion, desired.resourceVersion) <= 0, 'the desired set is at least as new as each object in it');
  }
}
