// The up sender, given/when/then: given the outbox's durable facts and a connection, when commits,
// reads, acks and timers happen, then these frames go out and this much stays in memory.
import { describe, expect, it } from 'vitest';
import { given } from './sync-spec.testing.js';
import type { FlowLimits } from './sync.limits.js';
import type { UpEvent } from './sync.messages.js';
import {
  compactableThrough,
  outboxCommitFailed,
  outboxCommitted,
  outboxRead,
  planOutboxCompaction,
  prepareOutboxCommit,
  startUpSender,
  upAckReceived,
  upAckTimeoutFired,
  upLinkDown,
  upLinkUp,
  type OutboxEntry,
  type UpSenderOptions,
  type UpSenderState,
} from './up-sender.js';

const limits: FlowLimits = { unackedFramesMax: 3, unackedBytesMax: 1000, frameBytesMax: 500, ackTimeoutMs: 30_000 };
const options: UpSenderOptions = { limits, frameBytes: () => 100 };
const event = (n: number): UpEvent => ({ type: 'ValueReported.v1', data: { n } });
const entry = (seq: number, bytes = 100): OutboxEntry => ({ seq, event: event(seq), bytes });
const entries = (from: number, to: number): OutboxEntry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
const send = (seq: number) => ({ type: 'send', frame: { kind: 'up', seq, event: event(seq) } }) as const;
const armTimeout = { type: 'armTimer', timer: 'upAckTimeout', afterMs: 30_000 } as const;
const cancelTimeout = { type: 'cancelTimer', timer: 'upAckTimeout' } as const;

/** A sender whose journal holds `head` entries, connected with the cloud having acked `acked`, window filled. */
function linked(head: number, acked: number): UpSenderState {
  const up = upLinkUp(startUpSender({ head, floor: 0 }), acked, options);
  return head > acked ? outboxRead(up.state, acked, entries(acked + 1, Math.min(head, acked + 3)), options).state : up.state;
}

describe('given a sender after a restart', () => {
  it('assigns the next gap-free seqs to events about to be journaled, in one commit', () => {
    const prepared = prepareOutboxCommit(startUpSender({ head: 7, floor: 2 }), [event(1), event(2)], options);
    expect(prepared.ok && prepared.value.commit).toEqual({ after: 7, entries: [{ seq: 8, event: event(1), bytes: 100 }, { seq: 9, event: event(2), bytes: 100 }] });
    expect(prepared.ok && prepared.value.state).toMatchObject({ head: 7, preparedHead: 9 });
  });

  it('refuses an event that could never be sent, before it is journaled', () => {
    const prepared = prepareOutboxCommit(startUpSender({ head: 0, floor: 0 }), [event(1)], { limits, frameBytes: () => 501 });
    expect(prepared).toEqual({ ok: false, error: { kind: 'UpEventTooLarge', type: 'ValueReported.v1', bytes: 501, frameBytesMax: 500 } });
  });

  it('prepares commits back to back; a failed one takes the later ones with it', () => {
    const first = prepareOutboxCommit(startUpSender({ head: 0, floor: 0 }), [event(1)], options);
    const second = first.ok ? prepareOutboxCommit(first.value.state, [event(2)], options) : first;
    expect(second.ok && second.value.commit.after).toBe(1);
    expect(second.ok && outboxCommitFailed(second.value.state)).toMatchObject({ head: 0, preparedHead: 0 });
  });

  it('moves the head when a commit lands but sends nothing while disconnected', () => {
    const prepared = prepareOutboxCommit(startUpSender({ head: 0, floor: 0 }), [event(1)], options);
    if (!prepared.ok) throw new Error('prepared');
    given(prepared.value.state)
      .when((s) => outboxCommitted(s, prepared.value.commit, options))
      .then([]);
  });

  it('rejects commits landing out of order as a bug', () => {
    expect(() => outboxCommitted(startUpSender({ head: 3, floor: 0 }), { after: 4, entries: [entry(5)] }, options)).toThrow('order they were prepared');
  });
});

describe('given a connection whose hello said upAcked', () => {
  it('resumes right after it: reads the outbox from there, within the flow limits', () => {
    given(startUpSender({ head: 9, floor: 2 }))
      .when((s) => upLinkUp(s, 4, options))
      .then([{ type: 'readOutbox', after: 4, framesMax: 3, bytesMax: 1000 }]);
  });

  it('sends what the read brought and arms the ack timeout', () => {
    given(startUpSender({ head: 9, floor: 2 }))
      .when((s) => upLinkUp(s, 4, options))
      .when((s) => outboxRead(s, 4, entries(5, 7), options))
      .then([send(5), send(6), send(7), armTimeout]);
  });

  it('with nothing unacked, sends a new commit at once', () => {
    const state = linked(2, 2);
    given(state)
      .when((s) => outboxCommitted(s, { after: 2, entries: [entry(3)] }, options))
      .then([send(3), armTimeout]);
  });

  it('stops at unackedFramesMax: later commits wait in the journal, not in memory', () => {
    const full = linked(3, 0);
    expect(full.link?.window.map((e) => e.seq)).toEqual([1, 2, 3]);
    given(full)
      .when((s) => outboxCommitted(s, { after: 3, entries: [entry(4)] }, options))
      .then([]);
  });

  it('stops at unackedBytesMax, but lets a lone frame exceed it so nothing deadlocks', () => {
    const state = upLinkUp(startUpSender({ head: 3, floor: 0 }), 0, options).state;
    given(state)
      .when((s) => outboxRead(s, 0, [entry(1, 1200), entry(2, 10)], options))
      .then([send(1), armTimeout]);
  });

  it('does not read again what did not fit until an ack makes room', () => {
    const state = upLinkUp(startUpSender({ head: 5, floor: 0 }), 0, options).state;
    const afterRead = given(state).when((s) => outboxRead(s, 0, [entry(1, 600), entry(2, 600)], options));
    expect(afterRead.decisions).toEqual([send(1), armTimeout]);
    afterRead.when((s) => upAckReceived(s, 1, options)).then([cancelTimeout, { type: 'readOutbox', after: 1, framesMax: 3, bytesMax: 1000 }]);
  });

  it('drops a stale read (the link changed meanwhile)', () => {
    const state = upLinkUp(startUpSender({ head: 5, floor: 0 }), 0, options).state;
    const relinked = upLinkUp(upLinkDown(state).state, 2, options).state;
    given(relinked)
      .when((s) => outboxRead(s, 0, entries(1, 3), options))
      .then([]);
  });
});

describe('given frames in flight', () => {
  it('an ack drops what it covers from memory, restarts the timeout and refills the window', () => {
    const state = given(linked(6, 0))
      .when((s) => upAckReceived(s, 2, options))
      .then([armTimeout, { type: 'readOutbox', after: 3, framesMax: 2, bytesMax: 900 }]);
    expect(state.link?.window.map((e) => e.seq)).toEqual([3]);
    expect(compactableThrough(state)).toBe(2);
  });

  it('an ack of everything cancels the timeout', () => {
    given(linked(3, 0))
      .when((s) => upAckReceived(s, 3, options))
      .then([cancelTimeout]);
  });

  it('ignores a duplicate or older ack', () => {
    given(linked(3, 1)).when((s) => upAckReceived(s, 1, options)).then([]);
  });

  it('an ack for a frame never sent is a broken peer: resume', () => {
    given(linked(3, 0))
      .when((s) => upAckReceived(s, 4, options))
      .then([{ type: 'resume', reason: 'up ack 4 is beyond the last frame sent (3)' }]);
  });

  it('no ack within the timeout: a frame or an ack was lost, resume', () => {
    given(linked(3, 1))
      .when((s) => upAckTimeoutFired(s))
      .then([{ type: 'resume', reason: 'no ack for up frames 2…3 within the ack timeout' }]);
  });

  it('a disconnect forgets the window (the journal keeps it) and the timeout', () => {
    const state = given(linked(3, 0)).when((s) => upLinkDown(s)).then([cancelTimeout]);
    expect(state).toEqual({ head: 3, preparedHead: 3, floor: 0, link: null });
  });
});

describe('compaction', () => {
  it('reaches only what the connected cloud acknowledged, and moves the floor before the host compacts', () => {
    const acked = upAckReceived(linked(6, 0), 2, options).state;
    expect(planOutboxCompaction(acked)).toEqual({ state: { ...acked, floor: 2 }, through: 2 });
  });

  it('has nothing to compact while disconnected beyond the floor', () => {
    const state = upLinkDown(upAckReceived(linked(6, 0), 2, options).state).state;
    expect(planOutboxCompaction(state)).toBeUndefined();
    expect(compactableThrough(state)).toBe(0);
  });

  it('refuses to resume below the floor (the handshake must have refused it)', () => {
    expect(() => upLinkUp(startUpSender({ head: 5, floor: 3 }), 2, options)).toThrow('below the compaction floor');
  });
});
