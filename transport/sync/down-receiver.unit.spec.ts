// The down receiver, given/when/then: given what the edge journal holds, when down frames and
// commit completions arrive, then these journal commits are decided, and acks cover only frames
// whose commits (and every commit before them) are durable.
import { describe, expect, it } from 'vitest';
import {
  downAckDelayFired,
  downCommitted,
  downFrameReceived,
  downReceiverLinkDown,
  downReceiverLinkUp,
  startDownReceiver,
  type DownReceiverState,
  type HeldObject,
} from './down-receiver.js';
import { given } from './sync-spec.testing.js';
import type { AckPolicy } from './sync.limits.js';
import type { DesiredFrame, SyncMode, TombstoneFrame } from './sync.messages.js';

const policy: AckPolicy = { ackEveryFrames: 1, ackDelayMs: 50, applyQueueFramesMax: 8 };
const batching: AckPolicy = { ackEveryFrames: 3, ackDelayMs: 50, applyQueueFramesMax: 8 };
const key = (name: string) => `configmaps/default/${name}`;
const desired = (seq: number, uid: string, name: string, rv: number, hash = `h-${name}-${rv}`): DesiredFrame => ({ kind: 'desired', seq, uid, key: key(name), resourceVersion: String(rv), contentHash: hash, content: { name, rv } });
const tombstone = (seq: number, uid: string, name: string, rv: number): TombstoneFrame => ({ kind: 'tombstone', seq, uid, key: key(name), resourceVersion: String(rv) });
const put = (f: DesiredFrame) => ({ op: 'put', key: f.key, uid: f.uid, resourceVersion: f.resourceVersion, contentHash: f.contentHash, content: f.content }) as const;
const commit = (commitId: number, changes: readonly unknown[], clusterId: string | null = null) => ({ type: 'commit', commitId, changes, clusterId }) as const;
const ack = (upTo: number) => ({ type: 'send', frame: { kind: 'ack', upTo } }) as const;

/** An edge holding `a` (uid ua, rv 10), linked in `mode` to cluster c2. */
function holdingA(mode: SyncMode = 'resume', clusterId: string | null = 'c2'): DownReceiverState {
  const held: [string, HeldObject][] = [[key('a'), { uid: 'ua', resourceVersion: '10', contentHash: 'h-a-10' }]];
  return downReceiverLinkUp(startDownReceiver({ clusterId, held }), mode, 'c2').state;
}

const armTurnEnd = { type: 'armTimer', timer: 'downAckDelay', afterMs: 0 } as const;

describe('given an edge holding a at rv 10', () => {
  it('commits a newer revision, and acks it only once the commit is durable', () => {
    const frame = desired(1, 'ua', 'a', 11);
    given(holdingA())
      .when((s) => downFrameReceived(s, frame, policy))
      .then([commit(1, [put(frame)])]);
    given(downFrameReceived(holdingA(), frame, policy).state)
      .when((s) => downCommitted(s, 1, policy))
      .then([ack(1)]);
  });

  it('ignores the same or an older revision of the same uid (dedupe by uid and resourceVersion), and acks it', () => {
    given(holdingA()).when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 10), policy)).then([ack(1)]);
    given(holdingA()).when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 9), policy)).then([ack(1)]);
  });

  it('orders resourceVersions as numbers, not strings', () => {
    const frame = desired(1, 'ua', 'a', 9);
    const held: [string, HeldObject][] = [[key('a'), { uid: 'ua', resourceVersion: '10', contentHash: 'x' }]];
    const state = downReceiverLinkUp(startDownReceiver({ clusterId: 'c2', held }), 'resume', 'c2').state;
    given(state).when((s) => downFrameReceived(s, frame, policy)).then([ack(1)]);
    given(state).when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 100), policy)).thenIncludes([{ type: 'commit' }]);
  });

  it('replaces a with a new uid under the same name, whatever its resourceVersion', () => {
    const frame = desired(1, 'ua2', 'a', 3);
    given(holdingA()).when((s) => downFrameReceived(s, frame, policy)).then([commit(1, [put(frame)])]);
  });

  it('deletes a on its tombstone; ignores a tombstone for another uid or an older revision', () => {
    given(holdingA()).when((s) => downFrameReceived(s, tombstone(1, 'ua', 'a', 12), policy)).then([commit(1, [{ op: 'delete', key: key('a'), uid: 'ua' }])]);
    given(holdingA()).when((s) => downFrameReceived(s, tombstone(1, 'old', 'a', 12), policy)).then([ack(1)]);
    given(holdingA()).when((s) => downFrameReceived(s, tombstone(1, 'ua', 'a', 9), policy)).then([ack(1)]);
  });

  it('does not ack a frame it ignored before the commit it relied on is durable', () => {
    const state = given(holdingA())
      .when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 11), policy))
      .when((s) => downFrameReceived(s, desired(2, 'ua', 'a', 11), policy))
      .then([]);
    given(state).when((s) => downCommitted(s, 1, policy)).then([ack(2)]);
  });

  it('ignores a duplicate seq and refuses a gap (resume)', () => {
    const after1 = downFrameReceived(holdingA(), desired(1, 'ua', 'a', 11), policy).state;
    given(after1).when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 11), policy)).then([]);
    given(after1).when((s) => downFrameReceived(s, desired(3, 'ua', 'a', 12), policy)).then([{ type: 'resume', reason: 'down seq gap: expected 2, got 3' }]);
  });

  it('acks at the end of the I/O turn a frame that needed no commit when nothing else is in flight', () => {
    const linked = downReceiverLinkUp(startDownReceiver({ clusterId: 'c2', held: [] }), 'resume', 'c2').state;
    const armed = given(linked).when((s) => downFrameReceived(s, { kind: 'synced', seq: 1 }, batching)).then([armTurnEnd]);
    given(armed).when((s) => downAckDelayFired(s)).then([ack(1)]);
  });

  it('batches acks while commits are in flight: every ackEveryFrames durable frames, when the timer fires, or at the end of the turn once caught up', () => {
    let state = downReceiverLinkUp(startDownReceiver({ clusterId: 'c2', held: [] }), 'resume', 'c2').state;
    for (let seq = 1; seq <= 4; seq++) state = downFrameReceived(state, desired(seq, `u${seq}`, `o${seq}`, seq), batching).state;
    const one = given(state).when((s) => downCommitted(s, 1, batching)).then([{ type: 'armTimer', timer: 'downAckDelay', afterMs: 50 }]);
    given(one).when((s) => downAckDelayFired(s)).then([ack(1)]);
    const three = given(one)
      .when((s) => downCommitted(s, 2, batching))
      .when((s) => downCommitted(s, 3, batching))
      .then([ack(3)]);
    const caughtUp = given(three).when((s) => downCommitted(s, 4, batching)).then([armTurnEnd]);
    given(caughtUp).when((s) => downAckDelayFired(s)).then([ack(4)]);
  });

  it('finishes commits after a disconnect without acking them to anyone', () => {
    const state = downFrameReceived(holdingA(), desired(1, 'ua', 'a', 11), policy).state;
    given(state)
      .when((s) => downReceiverLinkDown(s))
      .when((s) => downCommitted(s, 1, policy))
      .then([]);
  });

  it('rejects commits landing out of order as a host bug', () => {
    const state = downFrameReceived(downFrameReceived(holdingA(), desired(1, 'ua', 'a', 11), policy).state, desired(2, 'ub', 'b', 1), policy).state;
    expect(() => downCommitted(state, 2, policy)).toThrow('order');
  });
});

describe('given a full resync from another cluster', () => {
  it('takes the cloud’s revision of an unconfirmed object even when its number is lower', () => {
    const frame = desired(1, 'ua', 'a', 3);
    given(holdingA('full', 'c1')).when((s) => downFrameReceived(s, frame, policy)).then([commit(1, [put(frame)])]);
  });

  it('writes nothing for an object that is already as desired, so its processes keep running', () => {
    given(holdingA('full', 'c1')).when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 10), policy)).then([ack(1)]);
  });

  it('at the synced marker, removes what the resync did not confirm and records the cluster, in one commit', () => {
    const held: [string, HeldObject][] = [
      [key('a'), { uid: 'ua', resourceVersion: '10', contentHash: 'h-a-10' }],
      [key('b'), { uid: 'ub', resourceVersion: '10', contentHash: 'h-b-10' }],
    ];
    const state = given(downReceiverLinkUp(startDownReceiver({ clusterId: 'c1', held }), 'full', 'c2').state)
      .when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 10), policy))
      .when((s) => downFrameReceived(s, { kind: 'synced', seq: 2 }, policy))
      .then([commit(1, [{ op: 'delete', key: key('b'), uid: 'ub' }], 'c2')]);
    expect(state.clusterId).toBe('c1');
    expect(state.link?.mode).toBe('resume');
    const done = given(state).when((s) => downCommitted(s, 1, policy)).then([ack(2)]);
    expect(done.clusterId).toBe('c2');
  });

  it('records nothing if the connection drops before the marker: the next hello asks for a full resync again', () => {
    const state = given(holdingA('full', 'c1'))
      .when((s) => downFrameReceived(s, desired(1, 'ua', 'a', 3), policy))
      .when((s) => downReceiverLinkDown(s))
      .when((s) => downCommitted(s, 1, policy))
      .then([]);
    expect(state.clusterId).toBe('c1');
  });

  it('a synced marker on a resumed connection changes nothing', () => {
    given(holdingA()).when((s) => downFrameReceived(s, { kind: 'synced', seq: 1 }, policy)).then([ack(1)]);
  });
});
