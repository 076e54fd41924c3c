// Every bound of the stream's cores, named with its unit (STYLE R13), and the defaults PROTOCOL.md sets.
import { invariant } from '../../kernel/index.js';

/** What a sender may have in flight per direction, and how long it waits for an ack before resuming. */
export interface FlowLimits {
  /** Sequenced frames sent and not yet acknowledged (PROTOCOL.md: 1024). */
  readonly unackedFramesMax: number;
  /** Their bytes (PROTOCOL.md: 8 MiB). A single frame may exceed it when nothing else is in flight. */
  readonly unackedBytesMax: number;
  /** One frame (PROTOCOL.md: 4 MiB). A down object over it is skipped with a warning; an up event over it is refused. */
  readonly frameBytesMax: number;
  /**
   * No ack progress for this long while frames are unacked means a frame or an ack was lost: the
   * sender resumes (reconnects). Longer than the receiver's `ackDelayMs`, shorter than patience.
   */
  readonly ackTimeoutMs: number;
}

/** When a receiver acknowledges: every `ackEveryFrames` applied frames or `ackDelayMs` after the first unacked one. */
export interface AckPolicy {
  readonly ackEveryFrames: number;
  readonly ackDelayMs: number;
  /** Frames accepted but not yet durably applied; more than the sender may have in flight means a broken peer. */
  readonly applyQueueFramesMax: number;
}

/** Objects one node may be sent (desired set, acknowledged records, edge index): bounds every map in the cores. */
export const objectsPerNodeMax = 50_000;

/** Up events one outbox commit may carry (like the journal's eventsPerAppendMax). */
export const outboxEntriesPerCommitMax = 1000;

export const defaultFlowLimits: FlowLimits = {
  unackedFramesMax: 1024,
  unackedBytesMax: 8 * 1024 * 1024,
  frameBytesMax: 4 * 1024 * 1024,
  ackTimeoutMs: 30_000,
};

export const defaultAckPolicy: AckPolicy = {
  ackEveryFrames: 64,
  ackDelayMs: 100,
  applyQueueFramesMax: 1024,
};

/** Throws on limits that would deadlock or never ack: a configuration bug, found at start. */
export function assertLimits(flow: FlowLimits, ack: AckPolicy): void {
  invariant(Number.isInteger(flow.unackedFramesMax) && flow.unackedFramesMax >= 1, 'unackedFramesMax is a positive integer');
  invariant(flow.unackedBytesMax >= 1, 'unackedBytesMax is positive');
  invariant(flow.frameBytesMax >= 1, 'frameBytesMax is positive');
  invariant(Number.isInteger(ack.ackEveryFrames) && ack.ackEveryFrames >= 1, 'ackEveryFrames is a positive integer');
  invariant(ack.ackEveryFrames <= flow.unackedFramesMax, 'a full window triggers an ack without waiting for the timer');
  invariant(ack.ackDelayMs >= 0, 'ackDelayMs is not negative');
  invariant(ack.ackDelayMs < flow.ackTimeoutMs, 'a batched ack arrives before the sender gives up on it');
  invariant(ack.applyQueueFramesMax >= flow.unackedFramesMax, 'an honest sender never overflows the apply queue');
}

/** UTF-8 bytes of a string, counted natively without encoding it (a JS loop over each char cost a tenth of the up path). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The default frame measure: the bytes of the message as JSON. The wire adds a bounded beehive header. */
export const jsonFrameBytes = (message: unknown): number => utf8Bytes(JSON.stringify(message));
