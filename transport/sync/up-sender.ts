// The edge's outbox as a pure state machine: events that go up get a gap-free seq in the same
// commit that journals them, are sent from just after the cloud's `upAcked` on every connection
// within the unacked-frames and -bytes bounds, and leave memory once acknowledged.
import { err, invariant, ok, type Result } from '../../kernel/index.js';
import { transition, type ArmTimer, type CancelTimer, type Resume, type SendFrame, type Transition } from './sync.decisions.js';
import { jsonFrameBytes, outboxEntriesPerCommitMax, type FlowLimits } from './sync.limits.js';
import type { UpEvent, UpFrame } from './sync.messages.js';

/** One outbox entry as the journal stores it; `bytes` is its up frame's size, measured once at commit. */
export interface OutboxEntry {
  readonly seq: number;
  readonly event: UpEvent;
  readonly bytes: number;
}

/**
 * What the host commits in ONE journal transaction together with the events it journals: the
 * outbox entries, on condition that the journal's outbox head is still `after` (else the journal
 * answers WrongOutboxHead, like an append's expected version). This is what keeps seqs gap-free.
 */
export interface OutboxCommit {
  readonly after: number;
  readonly entries: readonly OutboxEntry[];
}

export interface UpEventTooLarge {
  readonly kind: 'UpEventTooLarge';
  readonly type: string;
  readonly bytes: number;
  readonly frameBytesMax: number;
}

/** The connection-scoped part: what the current cloud acknowledged and what is in flight. */
export interface UpLink {
  /** The cloud's cumulative ack (its hello's upAcked, then its ack frames). */
  readonly ackedUpTo: number;
  /** The unacked frames, sent, in order: seqs ackedUpTo+1 … ackedUpTo+window.length. Bounded by FlowLimits. */
  readonly window: readonly OutboxEntry[];
  readonly windowBytes: number;
  /** A readOutbox is outstanding; its answer extends the window. */
  readonly reading: boolean;
  /** The last read brought more than fit: read again only after an ack. */
  readonly full: boolean;
}

export interface UpSenderState {
  /** Last outbox seq committed to the journal. */
  readonly head: number;
  /** Last seq handed out by prepareOutboxCommit; commits land in this order or fail together. */
  readonly preparedHead: number;
  /** Outbox entries through here are, or may by now be, compacted: never sendable again. */
  readonly floor: number;
  readonly link: UpLink | null;
}

export interface UpSenderOptions {
  readonly limits: FlowLimits;
  /** Bytes of an up frame on the wire; the default measures its JSON. */
  readonly frameBytes?: (frame: UpFrame) => number;
}

export type UpSenderDecision =
  | SendFrame<UpFrame>
  /** Read outbox entries after+1 … in order, about `framesMax` and `bytesMax` (what does not fit is read again later); answer with outboxRead. */
  | { readonly type: 'readOutbox'; readonly after: number; readonly framesMax: number; readonly bytesMax: number }
  | ArmTimer<'upAckTimeout'>
  | CancelTimer<'upAckTimeout'>
  | Resume;

type Step = Transition<UpSenderState, UpSenderDecision>;

/** The sender after a (re)start, from what the journal holds: its outbox head and compaction floor. */
export function startUpSender(durable: { readonly head: number; readonly floor: number }): UpSenderState {
  invariant(Number.isInteger(durable.head) && durable.head >= 0, 'outbox head is a natural number');
  invariant(durable.floor >= 0 && durable.floor <= durable.head, 'the compaction floor is at most the head');
  return { head: durable.head, preparedHead: durable.head, floor: durable.floor, link: null };
}

/**
 * Assigns the next seqs to events about to be journaled. The host commits the result in the same
 * transaction as the journal events, then calls outboxCommitted (or outboxCommitFailed).
 * @example
 * const prepared = prepareOutboxCommit(sender, [{ type: 'PodStarted.v1', data }], options);
 * if (prepared.ok) await journal.commit(journalEvents, prepared.value.commit);
 */
export function prepareOutboxCommit(
  state: UpSenderState,
  events: readonly UpEvent[],
  options: UpSenderOptions,
): Result<{ readonly state: UpSenderState; readonly commit: OutboxCommit }, UpEventTooLarge> {
  invariant(events.length >= 1, 'an outbox commit carries at least one event');
  invariant(events.length <= outboxEntriesPerCommitMax, 'outbox commit bounded');
  const measure = options.frameBytes ?? jsonFrameBytes;
  const entries: OutboxEntry[] = [];
  for (const [i, event] of events.entries()) {
    const seq = state.preparedHead + 1 + i;
    const bytes = measure({ kind: 'up', seq, event });
    // Refused here, before it is journaled: an event that can never be sent would stall the log forever.
    if (bytes > options.limits.frameBytesMax) return err({ kind: 'UpEventTooLarge', type: event.type, bytes, frameBytesMax: options.limits.frameBytesMax });
    entries.push({ seq, event, bytes });
  }
  const commit = { after: state.preparedHead, entries };
  return ok({ state: { ...state, preparedHead: state.preparedHead + entries.length }, commit });
}

/** The journal committed `commit` durably: the head moves, and the entries go out if they fit. */
export function outboxCommitted(state: UpSenderState, commit: OutboxCommit, options: UpSenderOptions): Step {
  invariant(commit.after === state.head, 'outbox commits land in the order they were prepared');
  const last = commit.entries[commit.entries.length - 1];
  invariant(last !== undefined && last.seq === commit.after + commit.entries.length, 'an outbox commit is contiguous');
  const next = { ...state, head: last.seq, preparedHead: Math.max(state.preparedHead, last.seq) };
  const link = next.link;
  // Entries join the window directly only when everything before them is already in it.
  if (link === null || link.reading || windowEnd(link) !== commit.after) return transition(next);
  return sendMore(next, fitInWindow(link, commit.entries, options.limits), link.window.length, options.limits);
}

/** The commit failed (or was refused): it and every commit prepared after it did not happen. */
export function outboxCommitFailed(state: UpSenderState): UpSenderState {
  return { ...state, preparedHead: state.head };
}

/** The handshake succeeded: resume right after the cloud's `upAcked`. */
export function upLinkUp(state: UpSenderState, upAcked: number, options: UpSenderOptions): Step {
  invariant(upAcked >= state.floor, 'the handshake refuses an upAcked below the compaction floor');
  invariant(upAcked <= state.head, 'the handshake refuses an upAcked beyond the outbox head');
  const link: UpLink = { ackedUpTo: upAcked, window: [], windowBytes: 0, reading: false, full: false };
  return sendMore({ ...state, link }, link, 0, options.limits);
}

/** The connection closed: what was in flight is forgotten, the journal still holds it. */
export function upLinkDown(state: UpSenderState): Step {
  if (state.link === null) return transition(state);
  return transition({ ...state, link: null }, [{ type: 'cancelTimer', timer: 'upAckTimeout' }]);
}

/** A cumulative ack from the cloud: what it covers leaves memory (and may be compacted). */
export function upAckReceived(state: UpSenderState, upTo: number, options: UpSenderOptions): Step {
  const link = state.link;
  if (link === null || upTo <= link.ackedUpTo) return transition(state);
  if (upTo > windowEnd(link)) return transition(state, [{ type: 'resume', reason: `up ack ${upTo} is beyond the last frame sent (${windowEnd(link)})` }]);
  const covered = upTo - link.ackedUpTo;
  const acked = link.window.slice(0, covered);
  const window = link.window.slice(covered);
  const windowBytes = link.windowBytes - acked.reduce((sum, e) => sum + e.bytes, 0);
  const next: UpLink = { ...link, ackedUpTo: upTo, window, windowBytes, full: false };
  // Progress restarts the ack timeout while frames remain in flight; an empty window waits for nothing.
  const timer: UpSenderDecision = window.length > 0 ? { type: 'armTimer', timer: 'upAckTimeout', afterMs: options.limits.ackTimeoutMs } : cancelAckTimeout;
  const step = sendMore({ ...state, link: next }, next, window.length, options.limits);
  return transition(step.state, [timer, ...step.decisions]);
}

/** The answer to readOutbox: entries after+1 … in order. A stale answer (the link changed) is dropped. */
export function outboxRead(state: UpSenderState, after: number, entries: readonly OutboxEntry[], options: UpSenderOptions): Step {
  const link = state.link;
  if (link === null || !link.reading || after !== windowEnd(link)) return transition(state);
  invariant(entries.every((e, i) => e.seq === after + 1 + i), 'readOutbox answers contiguous entries from after+1');
  invariant(entries.length > 0 || after >= state.head, 'the journal holds every outbox entry above the floor');
  const fitted = fitInWindow({ ...link, reading: false }, entries, options.limits);
  // Entries that did not fit are read again once an ack makes room, not before: no read loop.
  const full = fitted.window.length < link.window.length + entries.length;
  const next = { ...fitted, full };
  return sendMore({ ...state, link: next }, next, link.window.length, options.limits);
}

/** No ack progress for ackTimeoutMs while frames were unacked: a frame or an ack was lost. */
export function upAckTimeoutFired(state: UpSenderState): Step {
  const link = state.link;
  if (link === null || link.window.length === 0) return transition(state);
  return transition(state, [{ type: 'resume', reason: `no ack for up frames ${link.ackedUpTo + 1}…${windowEnd(link)} within the ack timeout` }]);
}

/** Outbox entries through this seq were acknowledged by the connected cloud and may be compacted. */
export const compactableThrough = (state: UpSenderState): number => (state.link === null ? state.floor : state.link.ackedUpTo);

/**
 * Decides a compaction of the outbox through compactableThrough. The floor moves now, before the
 * host compacts, so a hello sent meanwhile never announces a floor below what may vanish.
 */
export function planOutboxCompaction(state: UpSenderState): { readonly state: UpSenderState; readonly through: number } | undefined {
  const through = compactableThrough(state);
  if (through <= state.floor) return undefined;
  return { state: { ...state, floor: through }, through };
}

/** The seq of the last frame in flight (or acked, when none is). */
const windowEnd = (link: UpLink): number => link.ackedUpTo + link.window.length;

const cancelAckTimeout: CancelTimer<'upAckTimeout'> = { type: 'cancelTimer', timer: 'upAckTimeout' };

/** Appends entries to the window while the flow limits allow; a lone frame may exceed the byte bound. */
function fitInWindow(link: UpLink, entries: readonly OutboxEntry[], limits: FlowLimits): UpLink {
  const window = [...link.window];
  let windowBytes = link.windowBytes;
  for (const entry of entries) {
    if (window.length >= limits.unackedFramesMax) break;
    if (window.length > 0 && windowBytes + entry.bytes > limits.unackedBytesMax) break;
    window.push(entry);
    windowBytes += entry.bytes;
  }
  return { ...link, window, windowBytes };
}

/**
 * Sends the window's entries from index `unsentFrom` on (everything before is in flight already),
 * asks for more when there is room, and arms the ack timeout when the window stops being empty.
 */
function sendMore(state: UpSenderState, link: UpLink, unsentFrom: number, limits: FlowLimits): Step {
  const decisions: UpSenderDecision[] = link.window.slice(unsentFrom).map((entry) => ({ type: 'send', frame: { kind: 'up', seq: entry.seq, event: entry.event } }));
  let next = link;
  const room = next.window.length < limits.unackedFramesMax && next.windowBytes < limits.unackedBytesMax;
  if (!next.reading && !next.full && windowEnd(next) < state.head && room) {
    decisions.push({ type: 'readOutbox', after: windowEnd(next), framesMax: limits.unackedFramesMax - next.window.length, bytesMax: limits.unackedBytesMax - next.windowBytes });
    next = { ...next, reading: true };
  }
  if (unsentFrom === 0 && next.window.length > 0) decisions.push({ type: 'armTimer', timer: 'upAckTimeout', afterMs: limits.ackTimeoutMs });
  return transition({ ...state, link: next }, decisions);
}
