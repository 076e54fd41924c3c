// The up receiver, given/when/then: given the durable applied position of a node's journal, when
// up frames, effect completions, position writes and timers arrive, then effects, writes and acks
// are decided in this order, never an ack ahead of a durable position.
import { describe, expect, it } from 'vitest';
import { given } from './sync-spec.testing.js';
import type { AckPolicy } from './sync.limits.js';
import type { UpEvent, UpFrame } from './sync.messages.js';
import {
  startUpReceiver,
  upAckDelayFired,
  upEffectPerformed,
  upFrameReceived,
  upPositionRecorded,
  upReceiverLinkDown,
  upReceiverLinkUp,
  type UpReceiverState,
} from './up-receiver.js';

const policy: AckPolicy = { ackEveryFrames: 2, ackDelayMs: 100, applyQueueFramesMax: 4 };
const event = (n: number): UpEvent => ({ type: 'ValueReported.v1', data: { n } });
const up = (seq: number): UpFrame => ({ kind: 'up', seq, event: event(seq) });
const effect = (seq: number) => ({ type: 'performEffect', journalId: 'j1', seq, event: event(seq) }) as const;
const record = (seq: number) => ({ type: 'recordPosition', journalId: 'j1', seq }) as const;
const ack = (upTo: number) => ({ type: 'send', frame: { kind: 'ack', upTo } }) as const;
const armDelay = { type: 'armTimer', timer: 'upAckDelay', afterMs: 100 } as const;
const armTurnEnd = { type: 'armTimer', timer: 'upAckDelay', afterMs: 0 } as const;

const linked = (applied: number): UpReceiverState => upReceiverLinkUp(startUpReceiver({ journalId: 'j1', applied })).state;

describe('given a node whose journal is applied through 3', () => {
  it('hands the next event to the effect port', () => {
    given(linked(3)).when((s) => upFrameReceived(s, up(4), policy)).then([effect(4)]);
  });

  it('ignores what it already applied: a duplicate, or a resend after reconnecting', () => {
    given(linked(3)).when((s) => upFrameReceived(s, up(3), policy)).then([]);
    given(linked(3))
      .when((s) => upFrameReceived(s, up(4), policy))
      .when((s) => upFrameReceived(s, up(4), policy))
      .then([]);
  });

  it('refuses a gap and asks to resume from the durable position', () => {
    given(linked(3))
      .when((s) => upFrameReceived(s, up(5), policy))
      .then([{ type: 'resume', reason: 'up seq gap: expected 4, got 5' }]);
  });

  it('ignores frames while no connection is linked', () => {
    given(startUpReceiver({ journalId: 'j1', applied: 3 })).when((s) => upFrameReceived(s, up(4), policy)).then([]);
  });

  it('refuses more frames than an honest sender may have in flight', () => {
    let state = linked(0);
    for (let seq = 1; seq <= 4; seq++) state = upFrameReceived(state, up(seq), policy).state;
    given(state)
      .when((s) => upFrameReceived(s, up(5), policy))
      .then([{ type: 'resume', reason: 'more than 4 up frames await their effect' }]);
  });
});

describe('given an event handed to the effect port', () => {
  it('records the position only after the effect, and acks only after the record is durable', () => {
    const state = given(linked(3))
      .when((s) => upFrameReceived(s, up(4), policy))
      .when((s) => upEffectPerformed(s, 'j1', 4))
      .then([record(4)]);
    expect(state.recorded).toBe(3);
    const caughtUp = given(state)
      .when((s) => upPositionRecorded(s, 'j1', 4, policy))
      .then([armTurnEnd]);
    given(caughtUp)
      .when((s) => upAckDelayFired(s))
      .then([ack(4)]);
  });

  it('once caught up, acks at the end of the I/O turn, and frames recorded in the same turn join that ack', () => {
    const armed = given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .then([armTurnEnd]);
    given(armed)
      .when((s) => upFrameReceived(s, up(2), policy))
      .when((s) => upEffectPerformed(s, 'j1', 2))
      .when((s) => upPositionRecorded(s, 'j1', 2, { ...policy, ackEveryFrames: 10 }))
      .then([]);
  });

  it('a receiver that catches up while the batching delay runs moves the ack to the end of the turn', () => {
    const batching = given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upFrameReceived(s, up(2), policy))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .then([armDelay]);
    given(batching)
      .when((s) => upEffectPerformed(s, 'j1', 2))
      .when((s) => upPositionRecorded(s, 'j1', 2, { ...policy, ackEveryFrames: 10 }))
      .then([armTurnEnd]);
  });

  it('waits for the batch (or the timer) while accepted frames still await their effect', () => {
    given(linked(3))
      .when((s) => upFrameReceived(s, up(4), policy))
      .when((s) => upFrameReceived(s, up(5), policy))
      .when((s) => upEffectPerformed(s, 'j1', 4))
      .when((s) => upPositionRecorded(s, 'j1', 4, policy))
      .then([armDelay]);
  });

  it('writes one position at a time: effects done meanwhile are recorded together, newest wins', () => {
    given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upFrameReceived(s, up(2), policy))
      .when((s) => upFrameReceived(s, up(3), policy))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upEffectPerformed(s, 'j1', 2))
      .when((s) => upEffectPerformed(s, 'j1', 3))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .then([record(3), armDelay]);
  });

  it('acks at once when ackEveryFrames recorded frames wait', () => {
    given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upFrameReceived(s, up(2), policy))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upEffectPerformed(s, 'j1', 2))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .when((s) => upPositionRecorded(s, 'j1', 2, policy))
      .then([ack(2)]);
  });

  it('acks what is recorded when the batching timer fires, and nothing more', () => {
    given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upFrameReceived(s, up(2), policy))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upEffectPerformed(s, 'j1', 2))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .when((s) => upAckDelayFired(s))
      .then([ack(1)]);
  });

  it('keeps applying across a disconnect, then acks nothing on the next link before its hello (upAcked = recorded)', () => {
    const state = given(linked(0))
      .when((s) => upFrameReceived(s, up(1), policy))
      .when((s) => upReceiverLinkDown(s))
      .when((s) => upEffectPerformed(s, 'j1', 1))
      .when((s) => upPositionRecorded(s, 'j1', 1, policy))
      .then([]);
    expect(upReceiverLinkUp(state).state.link).toEqual({ lastAck: 1, ackTimer: 'none' });
  });

  it('ignores completions for a journal it no longer follows', () => {
    given(linked(0)).when((s) => upEffectPerformed(s, 'j0', 1)).then([]);
  });

  it('rejects effects completing out of order as a host bug', () => {
    const state = upFrameReceived(upFrameReceived(linked(0), up(1), policy).state, up(2), policy).state;
    expect(() => upEffectPerformed(state, 'j1', 2)).toThrow('order');
  });
});
