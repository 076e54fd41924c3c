// The API objects `edgehive status` reads, decoded. Method: objects shaped as the API server sends
// them (and malformed ones), asserting the facts taken from each.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { deviceOf, leaseOf, nodeSyncOf, readyOf } from './status.api.js';

describe('readyOf', () => {
  it('takes the Ready condition among the others', () => {
    const node: JsonObject = { status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True', lastTransitionTime: '2026-11-01T10:00:00Z' }] } };
    expect(readyOf(node)).toEqual({ status: 'True', lastTransitionTime: '2026-11-01T10:00:00Z' });
  });

  it('is empty for a Node without status', () => {
    expect(readyOf({ metadata: { name: 'edge-1' } })).toEqual({ status: undefined, lastTransitionTime: undefined });
  });
});

describe('nodeSyncOf', () => {
  it('reads journalId, upApplied and the acked hashes, an empty hash meaning sent but not acked', () => {
    const sync = nodeSyncOf({ spec: { journalId: 'j1', upApplied: 7, acked: { a: ['pods/default/p', '55', 'h1'], b: ['configmaps/default/c', '', ''] } } });
    expect(sync).toEqual({ journalId: 'j1', upApplied: 7, acked: new Map([['a', 'h1'], ['b', null]]) });
  });

  it('has no journal before the first link, and takes a malformed entry as not acked', () => {
    expect(nodeSyncOf({ spec: { journalId: '', upApplied: 0, acked: { a: 'garbage' } } })).toEqual({ journalId: undefined, upApplied: 0, acked: new Map([['a', null]]) });
  });
});

describe('leaseOf', () => {
  it('reads holder, renewTime and duration; a released Lease has no holder', () => {
    expect(leaseOf({ spec: { holderIdentity: 'cloud-a', renewTime: '2026-11-01T10:00:00.123Z', leaseDurationSeconds: 40 } })).toEqual({ holder: 'cloud-a', renewTime: '2026-11-01T10:00:00.123Z', durationSeconds: 40 });
    expect(leaseOf({ spec: { leaseDurationSeconds: 40 } }).holder).toBe('');
  });
});

describe('deviceOf', () => {
  it('puts each property desired value from the spec beside its reported value from status.twins', () => {
    const device = deviceOf({
      metadata: { namespace: 'default', name: 'thermometer-1', uid: 'u1' },
      spec: { nodeName: 'edge-1', properties: [{ name: 'target-temperature', desired: { value: '21' } }, { name: 'temperature' }] },
      status: { state: 'online', twins: [{ propertyName: 'temperature', reported: { value: '19.5' } }, { propertyName: 'target-temperature', reported: { value: '20' }, observedDesired: { value: '21' } }] },
    });
    expect(device).toEqual({
      namespace: 'default',
      name: 'thermometer-1',
      uid: 'u1',
      nodeName: 'edge-1',
      state: 'online',
      properties: [
        { name: 'target-temperature', desired: '21', reported: '20' },
        { name: 'temperature', desired: null, reported: '19.5' },
      ],
    });
  });

  it('keeps a reported property the spec no longer names', () => {
    expect(deviceOf({ metadata: { name: 'd' }, status: { twins: [{ propertyName: 'old', reported: { value: '1' } }] } }).properties).toEqual([{ name: 'old', desired: null, reported: '1' }]);
  });
});
