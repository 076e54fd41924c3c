// Names of the per-node stream Leases, checked directly: where they live and what they are called,
// for every node name an API server accepts (a DNS subdomain of up to 253 characters).
import { describe, expect, it } from 'vitest';
import { nodeStreamLease } from './lease-holder.js';

describe('the stream Lease of a node', () => {
  it('lives in kube-system, so it can never be a node heartbeat Lease (kube-node-lease/<node>)', () => {
    expect(nodeStreamLease('edge-1')).toEqual({ namespace: 'kube-system', name: 'edgehive-stream.edge-1' });
  });

  it('keeps the node name readable up to the object name limit', () => {
    const longest = 'n'.repeat(253 - 'edgehive-stream.'.length);
    expect(nodeStreamLease(longest).name).toBe(`edgehive-stream.${longest}`);
  });

  it('hashes a longer node name under a prefix no readable name has, within the limit', () => {
    const tooLong = 'n'.repeat(253 - 'edgehive-stream.'.length + 1);
    const { name } = nodeStreamLease(tooLong);
    expect(name).toMatch(/^edgehive-stream-h\.[0-9a-f]{64}$/);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(nodeStreamLease(`${tooLong}x`).name).not.toBe(name);
  });
});
