// Lease locking decisions, given/when/then: given a Lease as read (or none) and what this process
// has seen of it on a manual clock, when it reads the Lease again after some time, then it acquires,
// renews, waits or has lost it. A contender here keeps the bookkeeping the shell keeps: when it first
// saw each Lease version, and when its last successful write was sent.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../kernel/index.js';
import {
  LEASE_TIMING_DEFAULT,
  decideLease,
  observeLease,
  releaseSpec,
  validateLeaseTiming,
  type LeaseDecision,
  type LeaseObservation,
  type LeaseRecord,
  type LeaseTiming,
} from './lease-lock.js';

const timing: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const WALL_START_MS = Date.UTC(2030, 0, 1);

const held = (holderIdentity: string, overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  acquireTime: new Date(WALL_START_MS - 60_000),
  renewTime: new Date(WALL_START_MS),
  leaseTransitions: 3,
  resourceVersion: '100',
  ...overrides,
});

/** One process's view: its clock, what it has observed, and whether it holds the Lease. */
class Contender {
  readonly clock = new ManualClock(WALL_START_MS);
  #observation: LeaseObservation | undefined;
  renewedAtMs: number | undefined;
  constructor(readonly identity: string) {}

  /** Reads `lease` now and decides; a write it decides on is taken to succeed when `written`. */
  reads(lease: LeaseRecord | undefined, written = true): LeaseDecision {
    const nowMs = this.clock.monotonicMs();
    this.#observation = observeLease(this.#observation, lease, nowMs);
    const decision = decideLease({ lease, observedAtMs: this.#observation?.atMs ?? nowMs, identity: this.identity, nowMs, wallNow: new Date(this.clock.nowMs()), renewedAtMs: this.renewedAtMs, timing });
    if (written && (decision.kind === 'acquire' || decision.kind === 'renew')) this.renewedAtMs = nowMs;
    if (decision.kind === 'lost') this.renewedAtMs = undefined;
    return decision;
  }
}

/** Given `identity` has already read `lease` once (at monotonic 0). */
function given(identity: string, lease: LeaseRecord | undefined): Contender {
  const contender = new Contender(identity);
  contender.reads(lease);
  return contender;
}

describe('given no Lease', () => {
  it('acquires it by creating a first term, stamped with my wall time', () => {
    const me = new Contender('b');
    expect(me.reads(undefined)).toEqual({
      kind: 'acquire',
      why: 'absent',
      resourceVersion: undefined,
      spec: { holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: new Date(WALL_START_MS), renewTime: new Date(WALL_START_MS), leaseTransitions: 0 },
    });
  });

  it('declares whole seconds, rounded up, so nobody waits less than the holder meant', () => {
    const decision = decideLease({ lease: undefined, observedAtMs: 0, identity: 'b', nowMs: 0, wallNow: new Date(0), renewedAtMs: undefined, timing: { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 100 } });
    expect(decision.kind === 'acquire' && decision.spec.leaseDurationSeconds).toBe(1);
  });
});

describe('given a Lease held by another', () => {
  it('waits while it is unchanged for less than the lease duration on my clock, retrying every retry period', () => {
    const me = given('b', held('a'));
    me.clock.advance(5_000);
    expect(me.reads(held('a'))).toEqual({ kind: 'wait', holder: 'a', expiresInMs: 10_000, retryAfterMs: 2_000 });
  });

  it('retries no later than the moment it expires', () => {
    const me = given('b', held('a'));
    me.clock.advance(14_500);
    expect(me.reads(held('a'))).toMatchObject({ kind: 'wait', expiresInMs: 500, retryAfterMs: 500 });
  });

  it('takes it over once it has stayed unchanged for the lease duration since I first saw it, as a new term and a transition', () => {
    const me = given('b', held('a'));
    me.clock.advance(15_000);
    expect(me.reads(held('a'))).toEqual({
      kind: 'acquire',
      why: 'expired',
      resourceVersion: '100',
      spec: { holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: new Date(WALL_START_MS + 15_000), renewTime: new Date(WALL_START_MS + 15_000), leaseTransitions: 4 },
    });
  });

  it('never compares its renewTime with my clock: an hour-old renewTime still gets the full wait from when I first saw it', () => {
    const stale = held('a', { renewTime: new Date(WALL_START_MS - 3_600_000) });
    const me = given('b', stale);
    expect(me.reads(stale)).toMatchObject({ kind: 'wait', expiresInMs: 15_000 });
    me.clock.advance(14_999);
    expect(me.reads(stale)).toMatchObject({ kind: 'wait', expiresInMs: 1 });
  });

  it('never compares its renewTime with my clock: a renewTime in my future does not lengthen the wait', () => {
    const ahead = held('a', { renewTime: new Date(WALL_START_MS + 3_600_000) });
    const me = given('b', ahead);
    me.clock.advance(15_000);
    expect(me.reads(ahead)).toMatchObject({ kind: 'acquire', why: 'expired' });
  });

  it('starts the wait again from the moment I see it renewed', () => {
    const me = given('b', held('a'));
    me.clock.advance(10_000);
    expect(me.reads(held('a', { resourceVersion: '101', renewTime: new Date(WALL_START_MS + 10_000) }))).toMatchObject({ kind: 'wait', expiresInMs: 15_000 });
    me.clock.advance(14_000);
    expect(me.reads(held('a', { resourceVersion: '101', renewTime: new Date(WALL_START_MS + 10_000) }))).toMatchObject({ kind: 'wait', expiresInMs: 1_000 });
  });

  it('waits as long as its holder declared, longer than my own lease duration', () => {
    const declared40 = held('a', { leaseDurationSeconds: 40 });
    const me = given('b', declared40);
    me.clock.advance(39_000);
    expect(me.reads(declared40)).toMatchObject({ kind: 'wait', expiresInMs: 1_000 });
    me.clock.advance(1_000);
    expect(me.reads(declared40)).toMatchObject({ kind: 'acquire', why: 'expired' });
  });

  it('waits my own lease duration when the holder declared none', () => {
    const undeclared = held('a', { leaseDurationSeconds: undefined });
    const me = given('b', undeclared);
    me.clock.advance(14_000);
    expect(me.reads(undeclared)).toMatchObject({ kind: 'wait', expiresInMs: 1_000 });
  });
});

describe('given a released Lease (no holder)', () => {
  it('acquires it at once, as a transition', () => {
    const me = new Contender('b');
    expect(me.reads(held(''))).toMatchObject({ kind: 'acquire', why: 'released', resourceVersion: '100', spec: { holderIdentity: 'b', leaseTransitions: 4 } });
  });
});

describe('given a Lease I hold', () => {
  it('renews it at the version read, keeping the term (acquireTime, transitions) and stamping renewTime', () => {
    const me = given('a', undefined);
    me.clock.advance(2_000);
    const mine = held('a', { resourceVersion: '7', leaseTransitions: 0, acquireTime: new Date(WALL_START_MS) });
    expect(me.reads(mine)).toEqual({
      kind: 'renew',
      resourceVersion: '7',
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: new Date(WALL_START_MS), renewTime: new Date(WALL_START_MS + 2_000), leaseTransitions: 0 },
    });
  });

  it('still renews when its last successful renewal is exactly renewDeadline old', () => {
    const me = given('a', undefined);
    me.clock.advance(10_000);
    expect(me.reads(held('a'))).toMatchObject({ kind: 'renew' });
  });

  it('has lost it once its last successful renewal is older than renewDeadline, even if the Lease still names me', () => {
    const me = given('a', undefined);
    me.clock.advance(2_000);
    me.reads(held('a'), false);
    me.clock.advance(8_001);
    expect(me.reads(held('a'))).toEqual({ kind: 'lost', reason: 'renewDeadlinePassed', holder: 'a' });
  });

  it('gives up before any contender may take it over: renewDeadline is shorter than leaseDuration on both clocks', () => {
    const holder = given('a', undefined);
    const contender = given('b', held('a'));
    holder.clock.advance(10_001);
    contender.clock.advance(10_001);
    expect(holder.reads(held('a'))).toMatchObject({ kind: 'lost' });
    expect(contender.reads(held('a'))).toMatchObject({ kind: 'wait' });
  });

  it('has lost it when the Lease names another holder', () => {
    const me = given('a', undefined);
    me.clock.advance(2_000);
    expect(me.reads(held('c'))).toEqual({ kind: 'lost', reason: 'takenOver', holder: 'c' });
  });

  it('creates it again when it was deleted', () => {
    const me = given('a', undefined);
    me.clock.advance(2_000);
    expect(me.reads(undefined)).toMatchObject({ kind: 'acquire', why: 'absent', spec: { holderIdentity: 'a', leaseTransitions: 0 } });
  });
});

describe('given a Lease that names me from an earlier term', () => {
  it('acquires it at once as a new term, without counting a transition', () => {
    const me = new Contender('a');
    expect(me.reads(held('a'))).toMatchObject({ kind: 'acquire', why: 'mine', resourceVersion: '100', spec: { holderIdentity: 'a', leaseTransitions: 3, acquireTime: new Date(WALL_START_MS) } });
  });
});

describe('releasing', () => {
  it('clears the holder and keeps the transition count, so the next holder counts one more', () => {
    expect(releaseSpec(held('a'), 'a', new Date(WALL_START_MS))).toEqual({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: new Date(WALL_START_MS), renewTime: new Date(WALL_START_MS), leaseTransitions: 3 });
  });

  it('leaves a Lease that is not mine, or gone, alone', () => {
    expect(releaseSpec(held('c'), 'a', new Date(WALL_START_MS))).toBeUndefined();
    expect(releaseSpec(undefined, 'a', new Date(WALL_START_MS))).toBeUndefined();
  });
});

describe('lease timing', () => {
  it("accepts kube-controller-manager's defaults", () => {
    expect(validateLeaseTiming(LEASE_TIMING_DEFAULT)).toEqual({ ok: true, value: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } });
  });

  it('refuses a renew deadline that is not shorter than the lease duration', () => {
    expect(validateLeaseTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toMatchObject({ ok: false, error: expect.stringContaining('leaseDuration') });
  });

  it('refuses a retry period that is not shorter than the renew deadline', () => {
    expect(validateLeaseTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toMatchObject({ ok: false, error: expect.stringContaining('retryPeriod') });
  });
});
