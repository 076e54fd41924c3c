// The cloud's side of the up log as a pure state machine: each event is handed to the effect port
// once, in order; the applied position is recorded durably after the effect, and only a recorded
// position is acknowledged, cumulatively, every N frames or T ms, whichever comes first, and at the
// end of the host's I/O turn once it has caught up with everything it accepted.
import { invariant } from '../../kernel/index.js';
import { transition, type AckTimer, type ArmTimer, type CancelTimer, type Resume, type SendFrame, type Transition } from './sync.decisions.js';
import type { AckPolicy } from './sync.limits.js';
import type { AckFrame, UpEvent, UpFrame } from './sync.messages.js';

/** The connection-scoped part: what was acknowledged on it and which ack timer runs. */
export interface UpReceiverLink {
  readonly lastAck: number;
  readonly ackTimer: AckTimer;
}

export interface UpReceiverState {
  /** The edge journal whose outbox this follows; positions of another journal mean nothing here. */
  readonly journalId: string;
  /** Applied position durably recorded (NodeSync): what acks and the hello's upAcked may claim. */
  readonly recorded: number;
  /** Effects performed through here (≥ recorded); recorded lags while its write is in flight. */
  readonly performed: number;
  /** Handed to the effect port through here (≥ performed): later frames are new, earlier ones duplicates. */
  readonly accepted: number;
  /** The position whose durable write is in flight, if any: one at a time, the newest wins. */
  readonly recording: number | null;
  readonly link: UpReceiverLink | null;
}

export type UpReceiverDecision =
  /**
   * Perform the Kubernetes writes event `seq` implies, then feed effectPerformed. Idempotent by
   * (journalId, seq): after a crash between effect and record the event comes again, and status
   * writes carry the position they reflect so a replay never overwrites newer status.
   */
  | { readonly type: 'performEffect'; readonly journalId: string; readonly seq: number; readonly event: UpEvent }
  /** Durably record the applied position (NodeSync, guarded by journalId), then feed positionRecorded. */
  | { readonly type: 'recordPosition'; readonly journalId: string; readonly seq: number }
  | SendFrame<AckFrame>
  | ArmTimer<'upAckDelay'>
  | CancelTimer<'upAckDelay'>
  | Resume;

type Step = Transition<UpReceiverState, UpReceiverDecision>;

/** The receiver for one node after a start or a journal change, from the durable record. */
export function startUpReceiver(record: { readonly journalId: string; readonly applied: number }): UpReceiverState {
  invariant(Number.isInteger(record.applied) && record.applied >= 0, 'applied position is a natural number');
  return { journalId: record.journalId, recorded: record.applied, performed: record.applied, accepted: record.applied, recording: null, link: null };
}

/** The handshake succeeded; the hello told the edge `recorded`, so that counts as acknowledged. */
export function upReceiverLinkUp(state: UpReceiverState): Step {
  return transition({ ...state, link: { lastAck: state.recorded, ackTimer: 'none' } });
}

/** The connection closed; effects and records in progress carry on, acks wait for the next hello. */
export function upReceiverLinkDown(state: UpReceiverState): Step {
  if (state.link === null) return transition(state);
  return transition({ ...state, link: null }, [{ type: 'cancelTimer', timer: 'upAckDelay' }]);
}

/**
 * An up frame arrived. A seq at or below what was accepted is a duplicate and ignored; the next seq
 * is handed to the effect port; anything beyond it is a gap. A gap means the connection lost or
 * reordered a frame, which a websocket never does: the receiver refuses the frame and resumes
 * (reconnects), and the edge resends from the durable position in the cloud's hello.
 */
export function upFrameReceived(state: UpReceiverState, frame: UpFrame, policy: AckPolicy): Step {
  if (state.link === null) return transition(state);
  if (frame.seq <= state.accepted) return transition(state);
  if (frame.seq > state.accepted + 1) return transition(state, [{ type: 'resume', reason: `up seq gap: expected ${state.accepted + 1}, got ${frame.seq}` }]);
  if (state.accepted - state.recorded >= policy.applyQueueFramesMax) {
    return transition(state, [{ type: 'resume', reason: `more than ${policy.applyQueueFramesMax} up frames await their effect` }]);
  }
  return transition({ ...state, accepted: frame.seq }, [{ type: 'performEffect', journalId: state.journalId, seq: frame.seq, event: frame.event }]);
}

/** The effect of `seq` was performed (effects complete in order). Its position is recorded next. */
export function upEffectPerformed(state: UpReceiverState, journalId: string, seq: number): Step {
  if (journalId !== state.journalId) return transition(state);
  invariant(seq === state.performed + 1, 'effects complete in the order they were handed out');
  invariant(seq <= state.accepted, 'only accepted frames have effects');
  return recordNext({ ...state, performed: seq });
}

/** The position `seq` is durable: it may be acknowledged now. */
export function upPositionRecorded(state: UpReceiverState, journalId: string, seq: number, policy: AckPolicy): Step {
  if (journalId !== state.journalId) return transition(state);
  invariant(seq === state.recording, 'the recorded position is the one being written');
  return withAck(recordNext({ ...state, recorded: seq, recording: null }), policy);
}

/** The ack timer (batching delay or end of turn) fired: acknowledge whatever is recorded and not yet acknowledged. */
export function upAckDelayFired(state: UpReceiverState): Step {
  const link = state.link;
  if (link === null) return transition(state);
  if (state.recorded <= link.lastAck) return transition({ ...state, link: { ...link, ackTimer: 'none' } });
  return transition({ ...state, link: { lastAck: state.recorded, ackTimer: 'none' } }, [{ type: 'send', frame: { kind: 'ack', upTo: state.recorded } }]);
}

/** Starts the durable write of the newest performed position, unless one is in flight (it follows). */
function recordNext(state: UpReceiverState): Step {
  if (state.recording !== null || state.performed <= state.recorded) return transition(state);
  return transition({ ...state, recording: state.performed }, [{ type: 'recordPosition', journalId: state.journalId, seq: state.performed }]);
}

/** Acks now when N recorded frames wait, else makes sure a timer will: at the end of the turn once caught up, else after the delay. */
function withAck(step: Step, policy: AckPolicy): Step {
  const acked = ackDecisions(step.state, policy);
  return transition(acked.state, [...step.decisions, ...acked.decisions]);
}

function ackDecisions(state: UpReceiverState, policy: AckPolicy): Step {
  const link = state.link;
  if (link === null || state.recorded <= link.lastAck) return transition(state);
  if (state.recorded - link.lastAck >= policy.ackEveryFrames) {
    return transition({ ...state, link: { ...link, lastAck: state.recorded } }, [{ type: 'send', frame: { kind: 'ack', upTo: state.recorded } }]);
  }
  // Caught up (nothing accepted awaits its effect or record): the sender may be waiting on this ack,
  // so it goes out when the I/O in progress is done; frames read in the same turn join it. Acking
  // at once instead cost an ack frame per socket read (about one per 11 up frames under load).
  if (state.accepted === state.recorded) {
    if (link.ackTimer === 'turnEnd') return transition(state);
    return transition({ ...state, link: { ...link, ackTimer: 'turnEnd' } }, [{ type: 'armTimer', timer: 'upAckDelay', afterMs: 0 }]);
  }
  if (link.ackTimer !== 'none') return transition(state);
  return transition({ ...state, link: { ...link, ackTimer: 'delay' } }, [{ type: 'armTimer', timer: 'upAckDelay', afterMs: policy.ackDelayMs }]);
}
