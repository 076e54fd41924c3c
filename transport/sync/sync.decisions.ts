// What the cores ask their host to do, shared by all of them. A host executes a transition's
// decisions in order, and starts a decision only when the one before it has completed.

/** A core's step: its next state and what the host must do, in order. */
export interface Transition<S, D> {
  readonly state: S;
  readonly decisions: readonly D[];
}

/** The host's timers, one of each name per core instance. */
export type TimerName = 'upAckTimeout' | 'upAckDelay' | 'downAckTimeout' | 'downAckDelay';

/** Send one frame on the current connection. */
export interface SendFrame<F> {
  readonly type: 'send';
  readonly frame: F;
}

/**
 * A receiver's ack timer: not armed, armed for the batching delay (`ackDelayMs`), or armed for the
 * end of the host's current I/O turn (afterMs 0), used once the receiver has caught up.
 */
export type AckTimer = 'none' | 'delay' | 'turnEnd';

/**
 * (Re)start the named timer: an armed timer of that name is replaced. When it fires, feed the core
 * `timerFired`. `afterMs` 0 means "when the I/O in progress is done" (setImmediate), not a clock tick.
 */
export interface ArmTimer<N extends TimerName> {
  readonly type: 'armTimer';
  readonly timer: N;
  readonly afterMs: number;
}

export interface CancelTimer<N extends TimerName> {
  readonly type: 'cancelTimer';
  readonly timer: N;
}

/**
 * The sequence broke (a gap, an ack for what was never sent, a silent peer): close the connection
 * with `reason` and reconnect. The handshake resumes each direction from its durable position, so
 * this loses nothing; a websocket never reorders or loses frames, so it is rare.
 */
export interface Resume {
  readonly type: 'resume';
  readonly reason: string;
}

export const transition = <S, D>(state: S, decisions: readonly D[] = []): Transition<S, D> => ({ state, decisions });
