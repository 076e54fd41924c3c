// The hub's ownership port on per-node Leases, with stand-in Lease holders. Method: given holders
// whose acquire and release the spec controls, when hellos and releases of one node interleave,
// then a release never undoes a newer acquire and each node's steps run one after another.
import { describe, expect, it } from 'vitest';
import type { NodeStreamLeases } from '../../projections/index.js';
import { leaseOwnership } from './stream-ownership.js';

class FakeHolder {
  holding = false;
  holds = 0;
  releases = 0;
  acquireGate: Promise<void> = Promise.resolve();
  async tryAcquire() {
    await this.acquireGate;
    this.holding = true;
    return { acquired: true as const, why: 'absent' as const };
  }
  hold(): void {
    this.holds += 1;
  }
  async release(): Promise<boolean> {
    this.releases += 1;
    this.holding = false;
    return true;
  }
}

function fakeLeases(holder: FakeHolder): NodeStreamLeases {
  return { holderFor: () => holder, releaseAll: async () => undefined } as unknown as NodeStreamLeases;
}

describe('given a node whose edge left while a new hello was taking it', () => {
  it('skips the release when its turn comes after the new acquire, so the node stays held', async () => {
    const holder = new FakeHolder();
    const released: string[] = [];
    const ownership = leaseOwnership(fakeLeases(holder), (node) => released.push(node));
    let open!: () => void;
    holder.acquireGate = new Promise((resolve) => (open = resolve));
    let helloInProgress = true;
    const acquired = ownership.acquire('edge-1');
    const release = ownership.release('edge-1', () => !helloInProgress);
    open();
    expect(await acquired).toEqual({ owned: true });
    ownership.hold('edge-1', () => undefined);
    await release;
    expect(holder.releases).toBe(0);
    expect(holder.holding).toBe(true);
    expect(released).toEqual([]);

    // The edge leaves for good: the next release gives the node up and says so.
    helloInProgress = false;
    await ownership.release('edge-1', () => !helloInProgress);
    expect(holder.releases).toBe(1);
    expect(released).toEqual(['edge-1']);
  });

  it('starts one renewal per node however many hellos confirm it, and again after a release', async () => {
    const holder = new FakeHolder();
    const ownership = leaseOwnership(fakeLeases(holder));
    await ownership.acquire('edge-1');
    ownership.hold('edge-1', () => undefined);
    await ownership.acquire('edge-1');
    ownership.hold('edge-1', () => undefined);
    expect(holder.holds).toBe(1);
    await ownership.release('edge-1', () => true);
    await ownership.acquire('edge-1');
    ownership.hold('edge-1', () => undefined);
    expect(holder.holds).toBe(2);
  });
});
