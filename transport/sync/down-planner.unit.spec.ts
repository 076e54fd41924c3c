// The down planner, given/when/then: given a node's desired set and what its edge acknowledged,
// when connections, acks and desired-set changes arrive, then exactly these frames go out, and the
// planner holds no queue: revisions made while the edge is away coalesce by construction.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  downAckReceived,
  downAckTimeoutFired,
  downDesiredChanged,
  downLinkDown,
  downLinkUp,
  pendingFrames,
  startDownPlanner,
  type AckedEntry,
  type DesiredObject,
  type DesiredSet,
  type DownPlannerOptions,
  type DownPlannerState,
} from './down-planner.js';
import { given } from './sync-spec.testing.js';
import type { DownFrame } from './sync.messages.js';

const options: DownPlannerOptions = {
  limits: { unackedFramesMax: 3, unackedBytesMax: 10_000, frameBytesMax: 1000, ackTimeoutMs: 30_000 },
  frameBytes: (frame: DownFrame) => (frame.kind === 'desired' && JSON.stringify(frame.content).includes('huge') ? 2000 : 100),
};
const object = (uid: string, name: string, rv: number, generation = 1): DesiredObject => ({
  uid,
  key: `configmaps/default/${name}`,
  resourceVersion: String(rv),
  contentHash: `h-${name}-${generation}`,
  content: { name, generation },
});
const desiredSet = (rv: number, ...objects: DesiredObject[]): DesiredSet => ({ objects: new Map(objects.map((o) => [o.uid, o])), resourceVersion: String(rv) });
const ackedOf = (o: DesiredObject): readonly [string, AckedEntry] => [o.uid, { key: o.key, resourceVersion: o.resourceVersion, contentHash: o.contentHash }];
const desired = (seq: number, o: DesiredObject) => ({ type: 'send', frame: { kind: 'desired', seq, uid: o.uid, key: o.key, resourceVersion: o.resourceVersion, contentHash: o.contentHash, content: o.content } }) as const;
const tombstone = (seq: number, o: DesiredObject, rv: number) => ({ type: 'send', frame: { kind: 'tombstone', seq, uid: o.uid, key: o.key, resourceVersion: String(rv) } }) as const;
const synced = (seq: number) => ({ type: 'send', frame: { kind: 'synced', seq } }) as const;
const intent = (...objects: DesiredObject[]) => ({ type: 'recordIntent', entries: objects.map((o) => ({ uid: o.uid, entry: { key: o.key, resourceVersion: null, contentHash: null } })) }) as const;
const armTimeout = { type: 'armTimer', timer: 'downAckTimeout', afterMs: 30_000 } as const;

const a1 = object('ua', 'a', 10);
const b1 = object('ub', 'b', 11);
const c1 = object('uc', 'c', 12);

const linked = (state: DownPlannerState) => downLinkUp(state, 'resume', options).state;

describe('given an edge that acknowledged nothing', () => {
  it('records every uid before its first send, sends the desired set, then the synced marker', () => {
    given(startDownPlanner({ acked: [], desired: desiredSet(20, a1, b1) }))
      .when((s) => downLinkUp(s, 'resume', options))
      .then([intent(a1, b1), desired(1, a1), desired(2, b1), synced(3), armTimeout]);
  });

  it('stops at unackedFramesMax and goes on as acks come', () => {
    const d1 = object('ud', 'd', 13);
    const state = given(startDownPlanner({ acked: [], desired: desiredSet(20, a1, b1, c1, d1) }))
      .when((s) => downLinkUp(s, 'resume', options))
      .then([intent(a1, b1, c1), desired(1, a1), desired(2, b1), desired(3, c1), armTimeout]);
    given(state)
      .when((s) => downAckReceived(s, 2, options))
      .then([
        { type: 'recordAcked', changes: [{ uid: 'ua', entry: ackedOf(a1)[1] }, { uid: 'ub', entry: ackedOf(b1)[1] }] },
        armTimeout,
        intent(d1),
        desired(4, d1),
        synced(5),
      ]);
  });

  it('skips an object too large for a frame, once, with a warning, until its content changes', () => {
    const huge = { ...object('uh', 'h', 14), content: { name: 'huge' } };
    const state = given(startDownPlanner({ acked: [], desired: desiredSet(20, huge) }))
      .when((s) => downLinkUp(s, 'resume', options))
      .then([{ type: 'skipOversized', uid: 'uh', key: huge.key, bytes: 2000, frameBytesMax: 1000 }, synced(1), armTimeout]);
    given(state)
      .when((s) => downDesiredChanged(s, desiredSet(21, huge), options))
      .then([]);
  });
});

describe('given an edge that acknowledged a, b and c', () => {
  const acked = [ackedOf(a1), ackedOf(b1), ackedOf(c1)];

  it('sends nothing but the synced marker when nothing changed', () => {
    given(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) }))
      .when((s) => downLinkUp(s, 'resume', options))
      .then([synced(1), armTimeout]);
  });

  it('resends an object whose content changed (recording first that the edge’s copy is unknown until the ack), not one whose status alone did (same hash)', () => {
    const a2 = object('ua', 'a', 30, 2);
    const bStatus = object('ub', 'b', 31);
    given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(31, a2, bStatus, c1), options))
      .then([intent(a1), desired(2, a2), armTimeout]);
  });

  it('resends content changed back to what was acked, after the change’s ack was lost with the link', () => {
    const a2 = object('ua', 'a', 30, 2);
    const aBack = { ...a1, resourceVersion: '31' };
    const changed = given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(30, a2, b1, c1), options))
      .then([intent(a1), desired(2, a2), armTimeout]);
    const back = given(changed)
      .when((s) => downLinkDown(s))
      .when((s) => downDesiredChanged(s, desiredSet(31, aBack, b1, c1), options)).state;
    given(back)
      .when((s) => downLinkUp(s, 'resume', options))
      .then([desired(1, aBack), synced(2), armTimeout]);
  });

  it('keeps the edge’s copy unknown when an ack covers a revision while its tombstone is still in flight', () => {
    const a2 = object('ua', 'a', 30, 2);
    const inFlight = given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(30, a2, b1, c1), options))
      .when((s) => downDesiredChanged(s, desiredSet(40, b1, c1), options))
      .then([tombstone(3, a1, 40)]);
    const acked2 = given(inFlight)
      .when((s) => downAckReceived(s, 2, options))
      .thenIncludes([{ type: 'recordAcked', changes: [{ uid: 'ua', entry: { key: a1.key, resourceVersion: null, contentHash: null } }] }]);
    // The link drops with the tombstone unacked (the edge applied it); a2 is desired again, unchanged.
    const back = given(acked2)
      .when((s) => downLinkDown(s))
      .when((s) => downDesiredChanged(s, desiredSet(41, a2, b1, c1), options)).state;
    given(back)
      .when((s) => downLinkUp(s, 'resume', options))
      .then([desired(1, a2), synced(2), armTimeout]);
  });

  it('sends a tombstone at the desired set’s resourceVersion for an object no longer desired, after recording that the edge may no longer hold it; its ack forgets the uid', () => {
    const state = given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(40, a1, c1), options))
      .then([intent(b1), tombstone(2, b1, 40), armTimeout]);
    given(state)
      .when((s) => downAckReceived(s, 2, options))
      .then([{ type: 'recordAcked', changes: [{ uid: 'ub', entry: null }] }, { type: 'cancelTimer', timer: 'downAckTimeout' }]);
  });

  it('replaces an object re-created under the same name: the new uid, and a tombstone for the old one', () => {
    const a2 = object('ua2', 'a', 50);
    given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(50, a2, b1, c1), options))
      .then([intent(a2, a1), desired(2, a2), tombstone(3, a1, 50), armTimeout]);
  });

  it('resends an object desired again, unchanged, after a tombstone whose ack was lost with the link (found by the whole-system simulator)', () => {
    // A DeviceModel leaves the node with its last Device there, and comes back with another one:
    // same uid, same revision. The edge applied the tombstone; its ack never arrived.
    const tombstoned = given(linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) })))
      .when((s) => downAckReceived(s, 1, options))
      .when((s) => downDesiredChanged(s, desiredSet(40, a1, c1), options))
      .then([intent(b1), tombstone(2, b1, 40), armTimeout]);
    const back = given(tombstoned)
      .when((s) => downLinkDown(s))
      .when((s) => downDesiredChanged(s, desiredSet(41, a1, b1, c1), options)).state;
    given(back)
      .when((s) => downLinkUp(s, 'resume', options))
      .then([desired(1, b1), synced(2), armTimeout]);
  });

  it('keeps an intent when a tombstone is acked while the uid, desired again, is in flight', () => {
    const state = linked(startDownPlanner({ acked, desired: desiredSet(20, a1, b1, c1) }));
    const gone = downDesiredChanged(downAckReceived(state, 1, options).state, desiredSet(40, a1, c1), options).state;
    const back = downDesiredChanged(gone, desiredSet(41, a1, object('ub', 'b', 41, 2), c1), options).state;
    given(back)
      .when((s) => downAckReceived(s, 2, options))
      .thenIncludes([{ type: 'recordAcked', changes: [{ uid: 'ub', entry: { key: b1.key, resourceVersion: null, contentHash: null } }] }]);
  });

  it('on a full resync forgets every revision first, resends everything, and still tombstones what is not desired', () => {
    given(startDownPlanner({ acked, desired: desiredSet(60, a1, c1) }))
      .when((s) => downLinkUp(s, 'full', options))
      .then([{ type: 'forgetAckedRevisions' }, desired(1, a1), desired(2, c1), tombstone(3, b1, 60), armTimeout]);
  });
});

describe('given frames in flight', () => {
  const state = downLinkUp(startDownPlanner({ acked: [], desired: desiredSet(20, a1) }), 'resume', options).state;

  it('an ack for a frame never sent is a broken peer: resume', () => {
    given(state)
      .when((s) => downAckReceived(s, 3, options))
      .then([{ type: 'resume', reason: 'down ack 3 is beyond the last frame sent (2)' }]);
  });

  it('no ack within the timeout: resume', () => {
    given(state)
      .when((s) => downAckTimeoutFired(s))
      .then([{ type: 'resume', reason: 'no ack for down frames 1…2 within the ack timeout' }]);
  });

  it('a disconnect forgets the frames in flight; the next connection recomputes them from acked', () => {
    const down = given(state).when((s) => downLinkDown(s)).then([{ type: 'cancelTimer', timer: 'downAckTimeout' }]);
    given(down)
      .when((s) => downLinkUp(s, 'resume', options))
      .then([desired(1, a1), synced(2), armTimeout]);
  });
});

describe('coalescing', () => {
  it('any number of revisions while the edge is away costs at most one frame per object, plus the marker', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), op: fc.constantFrom('put', 'delete', 'recreate') }), { maxLength: 300 }),
        (changes) => {
          const start = [a1, b1];
          let state = downLinkDown(downAckReceived(linked(startDownPlanner({ acked: start.map(ackedOf), desired: desiredSet(20, ...start) })), 1, options).state).state;
          const objects = new Map(start.map((o) => [o.key, o]));
          let rv = 100;
          let uids = 0;
          for (const { name, op } of changes) {
            rv += 1;
            const key = `configmaps/default/${name}`;
            const current = objects.get(key);
            if (op === 'delete') objects.delete(key);
            else if (op === 'put' && current !== undefined) objects.set(key, { ...object(current.uid, name, rv, (current.content as { generation: number }).generation + 1) });
            else objects.set(key, object(`new-${(uids += 1)}`, name, rv));
            state = downDesiredChanged(state, desiredSet(rv, ...objects.values()), options).state;
          }
          expect(state.link).toBeNull();
          const bound = objects.size + start.length;
          expect(pendingFrames(state).length).toBeLessThanOrEqual(bound);
          const big = { ...options, limits: { ...options.limits, unackedFramesMax: 1000 } };
          const sends = downLinkUp(state, 'resume', big).decisions.filter((d) => d.type === 'send');
          expect(sends.length).toBeLessThanOrEqual(bound + 1);
        },
      ),
      { numRuns: 100 },
    );
  });
});
