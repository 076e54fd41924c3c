// LeaseHolder against the embedded API server, through client-node. Method: holders with short
// timings (hundreds of ms) contend for real Leases; a gated store in front of the API hangs or fails
// one holder's requests to stand in for a paused or cut-off process; every wait is a condition with
// a deadline, and times are compared on the one monotonic clock the holders use.
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { systemClock } from '../../kernel/index.js';
import { LeaseHolder, NodeStreamLeases, kubeLeaseStore, nodeStreamLease, type LeaseLoss, type LeaseRef } from './lease-holder.js';
import { GatedLeaseStore } from './lease-holder.testing.js';
import type { LeaseTiming } from './lease-lock.js';

const fixture = new ApiServerFixture();
const holders: LeaseHolder[] = [];
afterEach(async () => {
  for (const holder of holders.splice(0)) await holder.stop();
  await fixture.teardown();
});

const TIMING: LeaseTiming = { leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 100 };
const LEASE: LeaseRef = { namespace: 'kube-system', name: 'lease-holder-spec' };

function holderOn(kc: KubeConfig, identity: string, ref: LeaseRef = LEASE): { holder: LeaseHolder; store: GatedLeaseStore } {
  const store = new GatedLeaseStore(kubeLeaseStore(kc, ref));
  const holder = new LeaseHolder({ store, identity, timing: TIMING });
  holders.push(holder);
  return { holder, store };
}

const readLease = (kc: KubeConfig, ref: LeaseRef) => kc.makeApiClient(CoordinationV1Api).readNamespacedLease(ref);

describe('given a holder that has acquired a Lease', () => {
  it('renews it every retry period, at the same term', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const { holder, store } = holderOn(kc, 'cloud-a');
    expect(await holder.tryAcquire()).toEqual({ acquired: true, why: 'absent' });
    holder.hold(() => undefined);
    await waitFor('five renewals', () => (store.writesSentAtMs.length >= 6 ? true : undefined));
    const lease = await readLease(kc, LEASE);
    expect(lease.spec).toMatchObject({ holderIdentity: 'cloud-a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(Date.parse(String(lease.spec?.renewTime))).toBeGreaterThan(Date.parse(String(lease.spec?.acquireTime)));
    expect(holder.holding).toBe(true);
  });

  for (const mode of ['blocked', 'failing'] as const) {
    it(`calls onLost exactly once when its requests are ${mode} past renewDeadline, before any contender may take over, and writes nothing after`, async () => {
      const kc = kubeConfigOf(await fixture.start());
      const a = holderOn(kc, 'cloud-a');
      expect(await a.holder.acquire()).toBe(true);
      const losses: { loss: LeaseLoss; atMs: number }[] = [];
      a.holder.hold((loss) => losses.push({ loss, atMs: systemClock.monotonicMs() }));
      await waitFor('a renewal', () => (a.store.writesSentAtMs.length >= 2 ? true : undefined));
      a.store.mode = mode;

      const lost = await waitFor('the loss', () => losses[0]);
      const lastWriteMs = a.store.writesSentAtMs.at(-1) ?? Infinity;
      expect(lost.loss).toEqual({ reason: 'renewDeadlinePassed', holder: 'cloud-a' });
      expect(lost.atMs - lastWriteMs).toBeGreaterThan(TIMING.renewDeadlineMs);
      expect(lost.atMs - lastWriteMs).toBeLessThan(TIMING.leaseDurationMs);
      expect(a.holder.holding).toBe(false);

      // The API answers again; a contender still waits out the lease, and the lost holder stays quiet.
      const writesWhenLost = a.store.writesSentAtMs.length;
      a.store.open();
      const b = holderOn(kc, 'cloud-b');
      await waitFor('cloud-b to take the Lease over', async () => ((await b.holder.acquire()) ? true : undefined));
      expect(a.store.writesSentAtMs.length).toBe(writesWhenLost);
      expect(losses).toHaveLength(1);
      expect((await readLease(kc, LEASE)).spec).toMatchObject({ holderIdentity: 'cloud-b', leaseTransitions: 1 });
    });
  }

  it('reports takenOver when another holder has written the Lease', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const a = holderOn(kc, 'cloud-a');
    expect(await a.holder.acquire()).toBe(true);
    const losses: LeaseLoss[] = [];
    a.holder.hold((loss) => losses.push(loss));
    const leases = kc.makeApiClient(CoordinationV1Api);
    const current = await leases.readNamespacedLease(LEASE);
    await leases.replaceNamespacedLease({ ...LEASE, body: { ...current, spec: { ...current.spec, holderIdentity: 'intruder', renewTime: new Date() } } });
    expect(await waitFor('the loss', () => losses[0])).toEqual({ reason: 'takenOver', holder: 'intruder' });
    expect(losses).toHaveLength(1);
  });
});

describe('given several contenders for one Lease', () => {
  it('lets exactly one of them acquire it at once, whether it is absent or released', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const contenders = ['c1', 'c2', 'c3', 'c4', 'c5'].map((identity) => holderOn(kc, identity).holder);
    const first = await Promise.all(contenders.map((holder) => holder.acquire()));
    expect(first.filter(Boolean)).toHaveLength(1);

    const winner = contenders[first.indexOf(true)];
    expect(await winner?.release()).toBe(true);
    const rest = contenders.filter((holder) => holder !== winner);
    const second = await Promise.all(rest.map((holder) => holder.acquire()));
    expect(second.filter(Boolean)).toHaveLength(1);
    expect((await readLease(kc, LEASE)).spec).toMatchObject({ holderIdentity: rest[second.indexOf(true)]?.identity, leaseTransitions: 1 });
  });
});

describe('given two cloud processes and one edge node', () => {
  it('lets only one own the node, and the other take it at once after a release', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const cloud1 = new NodeStreamLeases({ kubeConfig: kc, identity: 'cloud-1', timing: TIMING });
    const cloud2 = new NodeStreamLeases({ kubeConfig: kc, identity: 'cloud-2', timing: TIMING });
    const first = cloud1.holderFor('edge-1');
    const second = cloud2.holderFor('edge-1');
    holders.push(first, second);
    expect(cloud1.holderFor('edge-1')).toBe(first);

    expect(await first.acquire()).toBe(true);
    first.hold(() => undefined);
    expect(await second.tryAcquire()).toMatchObject({ acquired: false, reason: 'held', holder: 'cloud-1' });

    expect(await first.release()).toBe(true);
    expect(await second.acquire()).toBe(true);
    const lease = await readLease(kc, nodeStreamLease('edge-1'));
    expect(lease.metadata).toMatchObject({ namespace: 'kube-system', name: 'edgehive-stream.edge-1' });
    expect(lease.spec).toMatchObject({ holderIdentity: 'cloud-2', leaseTransitions: 1 });
    // The node's own heartbeat Lease is another object, untouched.
    await expect(kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'kube-node-lease', name: 'edge-1' })).rejects.toMatchObject({ code: 404 });
  });

  it('keeps a node that is still held by a process that stopped renewing until the lease runs out on the new owner’s clock', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const cloud1 = new NodeStreamLeases({ kubeConfig: kc, identity: 'cloud-1', timing: TIMING });
    const cloud2 = new NodeStreamLeases({ kubeConfig: kc, identity: 'cloud-2', timing: TIMING });
    const first = cloud1.holderFor('edge-1');
    holders.push(first, cloud2.holderFor('edge-1'));
    expect(await first.acquire()).toBe(true);
    await first.stop();
    const stoppedAtMs = systemClock.monotonicMs();

    // Each hello asks the same holder, which remembers when it first saw the Lease.
    await waitFor('cloud-2 to own edge-1', async () => ((await cloud2.holderFor('edge-1').acquire()) ? true : undefined));
    expect(systemClock.monotonicMs() - stoppedAtMs).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
  });
});
