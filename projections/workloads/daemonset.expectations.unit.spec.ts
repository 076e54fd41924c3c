// The DaemonSet controller's expectations and failed-pod back-off. Method: given writes recorded at
// a monotonic time, when the watch (or the view) shows them or time passes, then the DaemonSet may
// act again exactly when upstream's controller would let it.
import { describe, expect, it } from 'vitest';
import { EXPECTATIONS_TTL_MS, FAILED_POD_BACKOFF_MS_MAX, FAILED_POD_BACKOFF_MS_MIN, FailedPodBackoff, PodExpectations } from './daemonset.expectations.js';

describe('given a DaemonSet that created one pod and deleted another', () => {
  const round = (): PodExpectations => {
    const expectations = new PodExpectations();
    expectations.expect('ds', 0);
    expectations.created('ds', 'new');
    expectations.deleted('ds', 'old');
    return expectations;
  };

  it('waits until the watch shows the new pod and the old one going', () => {
    const expectations = round();
    expect(expectations.satisfied('ds', new Map([['old', false]]), 1)).toBe(false);
    expectations.observe('ds', 'new', false);
    expect(expectations.satisfied('ds', new Map([['old', false]]), 1)).toBe(false);
    expectations.observe('ds', 'old', true);
    expect(expectations.satisfied('ds', new Map(), 1)).toBe(true);
  });

  it('is satisfied by a view that holds the new pod and the old one terminating, though the events came before the writes were recorded', () => {
    expect(round().satisfied('ds', new Map([['new', false], ['old', true]]), 1)).toBe(true);
    expect(round().satisfied('ds', new Map([['new', false], ['old', false]]), 1)).toBe(false);
  });

  it('stops waiting once the writes are older than the TTL', () => {
    expect(round().satisfied('ds', new Map([['old', false]]), EXPECTATIONS_TTL_MS + 1)).toBe(true);
  });

  it('never holds back a DaemonSet it recorded nothing for', () => {
    expect(new PodExpectations().satisfied('other', new Map(), 0)).toBe(true);
  });
});

describe('given a node whose daemon pod keeps failing', () => {
  it('backs off 1 s, then doubling up to 15 min, and starts over after a long quiet', () => {
    const backoff = new FailedPodBackoff();
    expect(backoff.next('ds', 'edge-1', 0)).toBe(FAILED_POD_BACKOFF_MS_MIN);
    expect(backoff.inBackoff('ds', 500)).toEqual({ nodes: new Set(['edge-1']), endsInMs: 500 });
    expect(backoff.inBackoff('ds', 1_000).nodes.size).toBe(0);
    expect(backoff.next('ds', 'edge-1', 1_000)).toBe(2_000);
    let delay = 0;
    for (let i = 0; i < 20; i++) delay = backoff.next('ds', 'edge-1', 2_000 + i);
    expect(delay).toBe(FAILED_POD_BACKOFF_MS_MAX);
    expect(backoff.next('ds', 'edge-1', 3 * FAILED_POD_BACKOFF_MS_MAX)).toBe(FAILED_POD_BACKOFF_MS_MIN);
    expect(backoff.inBackoff('other', 0).nodes.size).toBe(0);
  });
});
