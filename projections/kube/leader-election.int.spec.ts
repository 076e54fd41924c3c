// LeaderElector against the embedded API server, through client-node. Method: two electors with
// different identities and short timings campaign for one Lease; a gated store in front of the API
// pauses the leader (its requests hang) or the leader stops; a shared log records who started and
// stopped leading, in order, and times are compared on the one monotonic clock both electors use.
// The contender's wall clock runs an hour ahead, so a contender that compared the leader's renewTime
// with its own clock would take over at once.
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { systemClock, type Clock } from '../../kernel/index.js';
import { LeaderElector, type LeadershipEnd } from './leader-election.js';
import { CONTROLLERS_LEASE, LeaseHolder, kubeLeaseStore } from './lease-holder.js';
import { GatedLeaseStore } from './lease-holder.testing.js';
import type { LeaseTiming } from './lease-lock.js';

const fixture = new ApiServerFixture();
const electors: LeaderElector[] = [];
afterEach(async () => {
  for (const elector of electors.splice(0)) await elector.stop();
  await fixture.teardown();
});

const FAST: LeaseTiming = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 100 };
const HOUR_MS = 3_600_000;
const aheadByAnHour: Clock = { ...systemClock, nowMs: () => systemClock.nowMs() + HOUR_MS };

/** What happened, in order: `<id> started` / `<id> stopped:<kind>`, with the monotonic time. */
interface Happening {
  readonly what: string;
  readonly atMs: number;
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly store: GatedLeaseStore;
}

function candidate(kc: KubeConfig, identity: string, log: Happening[], options: { timing?: LeaseTiming; clock?: Clock; releaseOnStop?: boolean } = {}): Candidate {
  const store = new GatedLeaseStore(kubeLeaseStore(kc, CONTROLLERS_LEASE));
  const holder = new LeaseHolder({ store, identity, timing: options.timing ?? FAST, clock: options.clock ?? systemClock });
  const note = (what: string): void => void log.push({ what: `${identity} ${what}`, atMs: systemClock.monotonicMs() });
  const elector = new LeaderElector({
    holder,
    onStartedLeading: () => note('started'),
    onStoppedLeading: (end: LeadershipEnd) => note(`stopped:${end.kind === 'lost' ? end.reason : end.kind}`),
    releaseOnStop: options.releaseOnStop ?? true,
  });
  electors.push(elector);
  return { elector, store };
}

const happened = (log: readonly Happening[], what: string): Happening | undefined => log.find((h) => h.what === what);
const controllersLease = (kc: KubeConfig) => kc.makeApiClient(CoordinationV1Api).readNamespacedLease(CONTROLLERS_LEASE);

/** Starts `a`, waits for it to lead, then starts `b` and waits until `b` has seen the Lease held. */
async function aLeadsThenBCampaigns(a: Candidate, b: Candidate, log: Happening[]): Promise<void> {
  a.elector.start();
  await waitFor('a to lead', () => happened(log, 'a started'));
  b.elector.start();
  await waitFor('b to read the Lease twice', () => (b.store.reads >= 2 ? true : undefined));
}

describe('given two electors campaigning for one Lease', () => {
  it('lets exactly one lead while it keeps renewing', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const log: Happening[] = [];
    const a = candidate(kc, 'a', log);
    const b = candidate(kc, 'b', log, { clock: aheadByAnHour });
    a.elector.start();
    b.elector.start();
    const first = await waitFor('a leader', () => log[0]);
    const leader = first.what === 'a started' ? a : b;
    const renewalsAtStart = leader.store.writesSentAtMs.length;
    // Well past a lease duration of renewals.
    await waitFor('fifteen renewals', () => (leader.store.writesSentAtMs.length >= renewalsAtStart + 15 ? true : undefined));
    expect(log.map((h) => h.what)).toEqual([first.what]);
    expect([a.elector.leading, b.elector.leading].filter(Boolean)).toHaveLength(1);
    expect((await controllersLease(kc)).spec).toMatchObject({ holderIdentity: first.what.split(' ')[0], leaseTransitions: 0 });
  });
});

describe('given a leader and a contender', () => {
  it('hands over after a pause only once the lease has run out on the contender’s clock, and the paused leader stops first', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const log: Happening[] = [];
    const a = candidate(kc, 'a', log);
    const b = candidate(kc, 'b', log, { clock: aheadByAnHour });
    await aLeadsThenBCampaigns(a, b, log);

    a.store.mode = 'blocked';
    const bStarted = await waitFor('b to lead', () => happened(log, 'b started'));
    const lastRenewalMs = a.store.writesSentAtMs.at(-1) ?? Infinity;
    expect(bStarted.atMs - lastRenewalMs).toBeGreaterThanOrEqual(FAST.leaseDurationMs);
    expect(log.map((h) => h.what)).toEqual(['a started', 'a stopped:renewDeadlinePassed', 'b started']);
    expect((await controllersLease(kc)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('hands over only once the lease has run out when the leader stops without releasing', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const log: Happening[] = [];
    const a = candidate(kc, 'a', log, { releaseOnStop: false });
    const b = candidate(kc, 'b', log, { clock: aheadByAnHour });
    await aLeadsThenBCampaigns(a, b, log);

    await a.elector.stop();
    const lastRenewalMs = a.store.writesSentAtMs.at(-1) ?? Infinity;
    const bStarted = await waitFor('b to lead', () => happened(log, 'b started'));
    expect(bStarted.atMs - lastRenewalMs).toBeGreaterThanOrEqual(FAST.leaseDurationMs);
    expect(log.map((h) => h.what)).toEqual(['a started', 'a stopped:stopped', 'b started']);
  });

  it('hands over promptly, long before the lease would run out, when the leader releases on stop', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const slow: LeaseTiming = { leaseDurationMs: 5_000, renewDeadlineMs: 3_000, retryPeriodMs: 100 };
    const log: Happening[] = [];
    const a = candidate(kc, 'a', log, { timing: slow });
    const b = candidate(kc, 'b', log, { timing: slow, clock: aheadByAnHour });
    await aLeadsThenBCampaigns(a, b, log);

    const stoppingAtMs = systemClock.monotonicMs();
    await a.elector.stop();
    const bStarted = await waitFor('b to lead', () => happened(log, 'b started'));
    expect(bStarted.atMs - stoppingAtMs).toBeLessThan(slow.leaseDurationMs / 2);
    expect(log.map((h) => h.what)).toEqual(['a started', 'a stopped:stopped', 'b started']);
    expect((await controllersLease(kc)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('lets a leader that lost the Lease lead again once it is free', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const log: Happening[] = [];
    const a = candidate(kc, 'a', log);
    a.elector.start();
    await waitFor('a to lead', () => happened(log, 'a started'));
    a.store.mode = 'failing';
    await waitFor('a to lose', () => happened(log, 'a stopped:renewDeadlinePassed'));
    expect(a.elector.leading).toBe(false);
    a.store.open();
    await waitFor('a to lead again', () => (log.filter((h) => h.what === 'a started').length === 2 ? true : undefined));
    expect(log.map((h) => h.what)).toEqual(['a started', 'a stopped:renewDeadlinePassed', 'a started']);
    expect(a.elector.leading).toBe(true);
  });
});
