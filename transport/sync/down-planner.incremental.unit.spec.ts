// The incremental down planner against the planner it replaced, kept here as a deliberately simple
// model (STYLE R17): that one rescanned the whole desired set and `acked` map on every plan. Method:
// fast-check drives both through the same inputs (desired-set changes of every kind, acks, link
// changes, timeouts, restarts) and every decision, the pending set, the link and `acked` must be
// equal after each one; the planner's candidates must hold every pending uid. Then a node of
// 20,000 objects is fed its acks one at a time and the frames decided are counted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invariant } from '../../kernel/index.js';
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
  type DownLink,
  type DownPlannerDecision,
  type DownPlannerOptions,
  type DownPlannerState,
  type InFlightFrame,
  type PendingFrame,
} from './down-planner.js';
import { LayeredMap } from './layered-map.js';
import { transition, type Transition } from './sync.decisions.js';
import { defaultFlowLimits, jsonFrameBytes, type FlowLimits } from './sync.limits.js';
import type { DesiredFrame, DownFrame, SyncMode, TombstoneFrame, Uid } from './sync.messages.js';

type Step = Transition<DownPlannerState, DownPlannerDecision>;

/** The planner before it became incremental, verbatim but for names: every plan starts from `referencePending`. */
const reference = {
  desiredChanged: (state: DownPlannerState, desired: DesiredSet, options: DownPlannerOptions): Step => referencePlan({ ...state, desired }, options),
  linkUp(state: DownPlannerState, mode: SyncMode, options: DownPlannerOptions): Step {
    const link: DownLink = { nextSeq: 1, inFlight: [], inFlightBytes: 0, syncedSent: false };
    if (mode === 'resume') return referencePlan({ ...state, link }, options);
    const acked = LayeredMap.of([...state.acked].map(([uid, entry]) => [uid, { key: entry.key, resourceVersion: null, contentHash: null }] as const));
    const step = referencePlan({ ...state, acked, link }, options);
    return transition(step.state, [{ type: 'forgetAckedRevisions' }, ...step.decisions]);
  },
  linkDown: (state: DownPlannerState): Step => (state.link === null ? transition(state) : transition({ ...state, link: null }, [{ type: 'cancelTimer', timer: 'downAckTimeout' }])),
  ackReceived(state: DownPlannerState, upTo: number, options: DownPlannerOptions): Step {
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
      if (frame.kind === 'synced') continue;
      const later = remaining.some((f) => f.uid === frame.uid && f.kind !== 'synced');
      const entry = later ? { key: frame.key, resourceVersion: null, contentHash: null } : frame.kind === 'desired' ? { key: frame.key, resourceVersion: frame.resourceVersion, contentHash: frame.contentHash } : null;
      acked = entry === null ? acked.delete(frame.uid) : acked.set(frame.uid, entry);
      changes.set(frame.uid, entry);
    }
    const inFlightBytes = remaining.reduce((sum, f) => sum + f.bytes, 0);
    const record: DownPlannerDecision[] = changes.size > 0 ? [{ type: 'recordAcked', changes: [...changes].map(([uid, entry]) => ({ uid, entry })) }] : [];
    const timer: DownPlannerDecision = remaining.length > 0 ? { type: 'armTimer', timer: 'downAckTimeout', afterMs: options.limits.ackTimeoutMs } : { type: 'cancelTimer', timer: 'downAckTimeout' };
    const step = referencePlan({ ...state, acked, link: { ...link, inFlight: remaining, inFlightBytes } }, options);
    return transition(step.state, [...record, timer, ...step.decisions]);
  },
};

function referencePending(state: DownPlannerState): readonly PendingFrame[] {
  const latest = new Map<Uid, InFlightFrame>();
  for (const frame of state.link?.inFlight ?? []) if (frame.kind !== 'synced') latest.set(frame.uid, frame);
  const expected = (uid: Uid) => {
    const frame = latest.get(uid);
    if (frame !== undefined) return frame.kind === 'tombstone' ? ({ present: false } as const) : ({ present: true, key: frame.key, contentHash: frame.contentHash } as const);
    const entry = state.acked.get(uid);
    return entry === undefined ? ({ present: false } as const) : ({ present: true, key: entry.key, contentHash: entry.contentHash } as const);
  };
  const pending: PendingFrame[] = [];
  for (const object of state.desired.objects.values()) {
    const held = expected(object.uid);
    if (held.present && held.contentHash === object.contentHash) continue;
    if (state.skipped.get(object.uid) === object.contentHash) continue;
    pending.push({ kind: 'desired', uid: object.uid, key: object.key, resourceVersion: object.resourceVersion, contentHash: object.contentHash, content: object.content });
  }
  for (const uid of new Set<Uid>([...state.acked.keys(), ...latest.keys()])) {
    if (state.desired.objects.has(uid)) continue;
    const held = expected(uid);
    if (held.present) pending.push({ kind: 'tombstone', uid, key: held.key, resourceVersion: state.desired.resourceVersion });
  }
  return pending;
}

function referencePlan(state: DownPlannerState, options: DownPlannerOptions): Step {
  const start = state.link;
  if (start === null) return transition(state);
  const measure = options.frameBytes ?? jsonFrameBytes;
  const { limits } = options;
  const fits = (link: DownLink, bytes: number) => link.inFlight.length < limits.unackedFramesMax && (link.inFlight.length === 0 || link.inFlightBytes + bytes <= limits.unackedBytesMax);
  const sent = (link: DownLink, frame: DownFrame, bytes: number): DownLink => {
    const flight: InFlightFrame =
      frame.kind === 'synced'
        ? { seq: frame.seq, kind: 'synced', uid: '', key: '', resourceVersion: '0', contentHash: null, bytes }
        : { seq: frame.seq, kind: frame.kind, uid: frame.uid, key: frame.key, resourceVersion: frame.resourceVersion, contentHash: frame.kind === 'desired' ? frame.contentHash : null, bytes };
    return { ...link, nextSeq: link.nextSeq + 1, inFlight: [...link.inFlight, flight], inFlightBytes: link.inFlightBytes + bytes };
  };
  let link = start;
  let { acked, skipped } = state;
  const intents: { uid: Uid; entry: AckedEntry }[] = [];
  const sends: DownPlannerDecision[] = [];
  const warnings: DownPlannerDecision[] = [];
  let blocked = false;
  for (const pending of referencePending(state)) {
    const frame: DesiredFrame | TombstoneFrame = { ...pending, seq: link.nextSeq };
    const bytes = measure(frame);
    if (frame.kind === 'desired' && bytes > limits.frameBytesMax) {
      warnings.push({ type: 'skipOversized', uid: frame.uid, key: frame.key, bytes, frameBytesMax: limits.frameBytesMax });
      skipped = skipped.set(frame.uid, frame.contentHash);
      continue;
    }
    if (!fits(link, bytes)) {
      blocked = true;
      break;
    }
    const held = acked.get(frame.uid);
    if (held === undefined || held.contentHash !== null) {
      const entry = { key: frame.key, resourceVersion: null, contentHash: null };
      acked = acked.set(frame.uid, entry);
      intents.push({ uid: frame.uid, entry });
    }
    link = sent(link, frame, bytes);
    sends.push({ type: 'send', frame });
  }
  if (!blocked && !link.syncedSent) {
    const marker: DownFrame = { kind: 'synced', seq: link.nextSeq };
    const bytes = measure(marker);
    if (fits(link, bytes)) {
      link = { ...sent(link, marker, bytes), syncedSent: true };
      sends.push({ type: 'send', frame: marker });
    }
  }
  const decisions: DownPlannerDecision[] = [...warnings];
  if (intents.length > 0) decisions.push({ type: 'recordIntent', entries: intents });
  decisions.push(...sends);
  if (start.inFlight.length === 0 && link.inFlight.length > 0) decisions.push({ type: 'armTimer', timer: 'downAckTimeout', afterMs: limits.ackTimeoutMs });
  for (const uid of skipped.keys()) if (!state.desired.objects.has(uid)) skipped = skipped.delete(uid);
  return transition({ ...state, acked, skipped, link }, decisions);
}

const object = (uid: string, name: string, rv: number, generation: number, huge = false): DesiredObject => ({
  uid,
  key: `configmaps/default/${name}`,
  resourceVersion: String(rv),
  contentHash: `h-${uid}-${generation}${huge ? '-huge' : ''}`,
  content: huge ? { name, generation, huge: true } : { name, generation },
});
const desiredSet = (rv: number, objects: Iterable<DesiredObject>): DesiredSet => ({ objects: new Map([...objects].map((o) => [o.uid, o])), resourceVersion: String(rv) });
const frameBytes = (frame: DownFrame): number => (frame.kind === 'desired' && (frame.content as { huge?: boolean }).huge === true ? 5000 : frame.kind === 'synced' ? 20 : 100 + frame.uid.length);

/** Every pending uid is among the planner's candidates still to be looked at (all of them while it has no list). */
function expectCandidatesCoverPending(state: DownPlannerState): void {
  const candidates = state.candidates;
  if (candidates === null) return;
  expect(state.link).not.toBeNull();
  const ahead = new Set(candidates.order.slice(candidates.next));
  expect(pendingFrames(state).filter((f) => !ahead.has(f.uid))).toEqual([]);
}

type Change = { readonly name: number; readonly op: 'revise' | 'touch' | 'delete' | 'recreate' | 'huge' };
type Input =
  | { readonly t: 'desired'; readonly changes: readonly Change[] }
  | { readonly t: 'ack'; readonly back: number }
  | { readonly t: 'linkUp'; readonly mode: SyncMode }
  | { readonly t: 'linkDown' }
  | { readonly t: 'timeout' }
  | { readonly t: 'restart' };

const change: fc.Arbitrary<Change> = fc.record({ name: fc.nat(9), op: fc.constantFrom('revise', 'revise', 'touch', 'delete', 'recreate', 'huge') });
const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('desired' as const), changes: fc.array(change, { minLength: 1, maxLength: 6 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('ack' as const), back: fc.integer({ min: -1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('linkUp' as const), mode: fc.constantFrom<SyncMode>('resume', 'full') }) },
  { weight: 1, arbitrary: fc.constant({ t: 'linkDown' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'timeout' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
);
const limits: fc.Arbitrary<FlowLimits> = fc.record({
  unackedFramesMax: fc.integer({ min: 1, max: 8 }),
  unackedBytesMax: fc.integer({ min: 100, max: 900 }),
  frameBytesMax: fc.constant(1000),
  ackTimeoutMs: fc.constant(1000),
});

/** The cluster the inputs change: ten names, each an object under some uid, or none. */
class Cluster {
  readonly objects = new Map<number, DesiredObject>();
  rv = 10;
  uids = 0;
  apply(changes: readonly Change[]): DesiredSet {
    for (const { name, op } of changes) {
      this.rv += 1;
      const current = this.objects.get(name);
      const generation = (current?.content as { generation: number } | undefined)?.generation ?? 0;
      if (op === 'delete') this.objects.delete(name);
      else if (op === 'recreate' || current === undefined) this.objects.set(name, object(`u${(this.uids += 1)}`, `n${name}`, this.rv, 1, op === 'huge'));
      else if (op === 'touch') this.objects.set(name, { ...current, resourceVersion: String(this.rv) });
      else this.objects.set(name, object(current.uid, `n${name}`, this.rv, generation + 1, op === 'huge'));
    }
    return this.desired();
  }
  desired(): DesiredSet {
    return desiredSet(this.rv, this.objects.values());
  }
}

describe('the incremental planner, against the planner that rescanned everything', () => {
  it('decides exactly the same, after any inputs, and its candidates always hold the pending set', () => {
    fc.assert(
      fc.property(limits, fc.array(input, { maxLength: 120 }), (flow, inputs) => {
        const options: DownPlannerOptions = { limits: flow, frameBytes };
        const cluster = new Cluster();
        cluster.apply([0, 1, 2, 3].map((name) => ({ name, op: 'revise' })));
        let ours = startDownPlanner({ acked: [], desired: cluster.desired() });
        let theirs = startDownPlanner({ acked: [], desired: cluster.desired() });
        for (const step of inputs) {
          let a: Step;
          let b: Step;
          switch (step.t) {
            case 'desired': {
              const desired = cluster.apply(step.changes);
              [a, b] = [downDesiredChanged(ours, desired, options), reference.desiredChanged(theirs, desired, options)];
              break;
            }
            case 'ack': {
              const upTo = (theirs.link?.nextSeq ?? 1) - 1 - step.back;
              [a, b] = [downAckReceived(ours, upTo, options), reference.ackReceived(theirs, upTo, options)];
              break;
            }
            case 'linkUp':
              [a, b] = [downLinkUp(ours, step.mode, options), reference.linkUp(theirs, step.mode, options)];
              break;
            case 'linkDown':
              [a, b] = [downLinkDown(ours), reference.linkDown(theirs)];
              break;
            case 'timeout':
              [a, b] = [downAckTimeoutFired(ours), downAckTimeoutFired(theirs)];
              break;
            case 'restart': {
              const acked = [...theirs.acked];
              [a, b] = [transition(startDownPlanner({ acked, desired: cluster.desired() })), transition(startDownPlanner({ acked, desired: cluster.desired() }))];
              break;
            }
          }
          expect(a.decisions).toEqual(b.decisions);
          [ours, theirs] = [a.state, b.state];
          expect(ours.link).toEqual(theirs.link);
          expect([...ours.acked]).toEqual([...theirs.acked]);
          expect(pendingFrames(ours)).toEqual(referencePending(theirs));
          expectCandidatesCoverPending(ours);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('given a node of 20,000 objects and an edge that acks one frame at a time', () => {
  const count = 20_000;
  const options: DownPlannerOptions = { limits: defaultFlowLimits, frameBytes };
  const window = defaultFlowLimits.unackedFramesMax;
  const objects = Array.from({ length: count }, (_, i) => object(`uid-${i}`, `cm-${i}`, 100 + i, 1));
  const sends = (decisions: readonly DownPlannerDecision[]) => decisions.flatMap((d) => (d.type === 'send' ? [d.frame] : []));

  it('sends each object once, one frame per ack once the window is full, a revision and a tombstone for each change made midway, then the marker', () => {
    let state = downLinkUp(startDownPlanner({ acked: [], desired: desiredSet(count + 100, objects) }), 'resume', options).state;
    expect(state.link?.inFlight.length).toBe(window);
    const sent: DownFrame[] = [];
    const changedAt = 10_000;
    for (let upTo = 1; state.link!.inFlight.length > 0; upTo += 1) {
      const step = downAckReceived(state, upTo, options);
      state = step.state;
      const frames = sends(step.decisions);
      sent.push(...frames);
      expect(frames.map((f) => f.seq)).toEqual(upTo + window <= count + 201 ? [upTo + window] : []);
      if (upTo % 1000 === 0) expect(pendingFrames(state).length).toBe(count + (upTo > changedAt ? 200 : 0) - (window + sent.filter((f) => f.kind !== 'synced').length));
      if (upTo !== changedAt) continue;
      // Midway, the first hundred objects (acked long ago) are revised and the next hundred deleted.
      const revised = objects.slice(0, 100).map((o) => object(o.uid, o.key.split('/')[2]!, count + 200, 2));
      const changed = downDesiredChanged(state, desiredSet(count + 200, [...revised, ...objects.slice(200)]), options);
      expect(sends(changed.decisions)).toEqual([]);
      state = changed.state;
      expect(pendingFrames(state).slice(0, 100)).toEqual(revised.map(({ uid, key, resourceVersion, contentHash, content }) => ({ kind: 'desired', uid, key, resourceVersion, contentHash, content })));
    }
    const all = [...Array.from({ length: window }, (_, i) => ({ kind: 'desired', seq: i + 1 }) as const), ...sent.map((f) => ({ kind: f.kind, seq: f.seq }))];
    expect(all.filter((f) => f.kind === 'desired')).toHaveLength(count + 100);
    expect(all.filter((f) => f.kind === 'tombstone')).toHaveLength(100);
    expect(all.filter((f) => f.kind === 'synced')).toEqual([{ kind: 'synced', seq: count + 201 }]);
    expect(pendingFrames(state)).toEqual([]);
    expect([...state.acked.values()].filter((e) => e.contentHash === null)).toEqual([]);
    expect(state.acked.size).toBe(count - 100);
  });

  it('on a sample of 1,000 objects with changes as it goes, matches the planner that rescanned everything at every ack', () => {
    const sample = objects.slice(0, 1000);
    const small: DownPlannerOptions = { limits: { ...defaultFlowLimits, unackedFramesMax: 64 }, frameBytes };
    let desired = desiredSet(count + 100, sample);
    let ours = downLinkUp(startDownPlanner({ acked: [], desired }), 'resume', small).state;
    let theirs = reference.linkUp(startDownPlanner({ acked: [], desired }), 'resume', small).state;
    let steps = 0;
    for (let upTo = 1; theirs.link!.inFlight.length > 0; upTo += 1) {
      invariant(upTo < 10_000, 'the transfer ends');
      if (upTo % 200 === 0 && upTo <= 800) {
        // Every 200 acks until the 800th: revise one object in five among the first 600, and delete ten more.
        const revision = count + 200 + upTo;
        const next = [...desired.objects.values()].filter((o, i) => !(i >= upTo / 2 && i < upTo / 2 + 10)).map((o, i) => (i % 5 === 0 && i < 600 ? object(o.uid, o.key.split('/')[2]!, revision, upTo) : o));
        desired = desiredSet(revision, next);
        const [a, b] = [downDesiredChanged(ours, desired, small), reference.desiredChanged(theirs, desired, small)];
        expect(a.decisions).toEqual(b.decisions);
        [ours, theirs] = [a.state, b.state];
      }
      const [a, b] = [downAckReceived(ours, upTo, small), reference.ackReceived(theirs, upTo, small)];
      expect(a.decisions).toEqual(b.decisions);
      [ours, theirs] = [a.state, b.state];
      expect(pendingFrames(ours)).toEqual(referencePending(theirs));
      steps += 1;
    }
    expect(steps).toBeGreaterThan(1000);
    expect(pendingFrames(ours)).toEqual([]);
  });
});
