// The pure half of `edgehive status`: pending up/down, the link verdict and the twin comparison.
// Method: facts built by hand around one node, one change at a time, asserting the report's cells.
import { describe, expect, it } from 'vitest';
import {
  buildStatusReport,
  countDiffering,
  devicesOf,
  formatAge,
  linkOf,
  outboxHeld,
  pendingDown,
  pendingUp,
  propertiesOf,
  type ApiDeviceFacts,
  type ApiFacts,
  type EdgeFacts,
  type EdgeTwinFacts,
  type LinkRecord,
  type NodeSyncFacts,
  type StreamLeaseFacts,
} from './status.report.js';

const NOW = Date.parse('2026-11-01T10:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

const edge = (overrides: Partial<Extract<EdgeFacts, { readable: true }>> = {}): EdgeFacts => ({
  readable: true,
  dir: '/data/edge-1',
  nodeName: 'edge-1',
  journal: { path: '/data/edge-1/edge/journal.db', fileBytes: 4096, walBytes: 8192 },
  journalId: 'journal-a',
  outbox: { head: 12, floor: 10 },
  held: new Map([['pod-uid', 'h1']]),
  twins: [],
  ...overrides,
});

const unreachable: ApiFacts = { reachable: false, server: 'https://127.0.0.1:6443', error: 'connect ECONNREFUSED' };

const api = (overrides: Partial<Extract<ApiFacts, { reachable: true }>> = {}): ApiFacts => ({
  reachable: true,
  server: 'https://127.0.0.1:6443',
  nodes: new Map([['edge-1', { status: 'True', lastTransitionTime: ago(300) }]]),
  nodeSyncs: new Map<string, NodeSyncFacts>([['edge-1', { journalId: 'journal-a', upApplied: 12, acked: new Map([['pod-uid', 'h1']]) }]]),
  leases: new Map<string, StreamLeaseFacts>([['edge-1', { holder: 'cloud-a', renewTime: ago(5), durationSeconds: 40 }]]),
  desired: new Map([['edge-1', new Map([['pod-uid', 'h1']])]]),
  downError: undefined,
  devices: [],
  problems: [],
  ...overrides,
});

const linked: LinkRecord = { status: 'linked', since: ago(600), mode: 'resume', lastClose: null };

describe('pendingUp: the edge outbox head minus the cloud applied position', () => {
  it('counts the events past the applied position when both follow the same edge journal', () => {
    expect(pendingUp(edge({ outbox: { head: 15, floor: 10 } }), api(), 'edge-1')).toEqual({ count: 3, note: '' });
  });

  it('is zero when the cloud applied everything the edge journaled', () => {
    expect(pendingUp(edge(), api(), 'edge-1').count).toBe(0);
  });

  it('counts from zero when the edge never wrote an outbox', () => {
    const sync = new Map([['edge-1', { journalId: 'journal-a', upApplied: 0, acked: new Map() }]]);
    expect(pendingUp(edge({ outbox: undefined }), api({ nodeSyncs: sync }), 'edge-1').count).toBe(0);
  });

  it('is unknown, saying why, when NodeSync follows another journal of the node', () => {
    const sync = new Map([['edge-1', { journalId: 'journal-old', upApplied: 40, acked: new Map() }]]);
    const up = pendingUp(edge(), api({ nodeSyncs: sync }), 'edge-1');
    expect(up.count).toBeNull();
    expect(up.note).toContain('journal-old');
    expect(up.note).toContain('journal-a');
  });

  it('is unknown when the API is unreachable, when there is no NodeSync, or no edge journal here', () => {
    expect(pendingUp(edge(), unreachable, 'edge-1')).toEqual({ count: null, note: 'API unreachable' });
    expect(pendingUp(edge(), api({ nodeSyncs: new Map() }), 'edge-1').note).toContain('no NodeSync');
    expect(pendingUp(undefined, api(), 'edge-1').note).toContain('not in this data dir');
  });

  it('never reports a negative count: an applied position past the head is named as such', () => {
    const up = pendingUp(edge({ outbox: { head: 5, floor: 5 } }), api(), 'edge-1');
    expect(up.count).toBeNull();
    expect(up.note).toContain('past the edge');
  });
});

describe('pendingDown: desired objects whose hash the edge has not acked, plus tombstones', () => {
  it('is zero when every desired object is acked at its hash', () => {
    expect(pendingDown(api(), 'edge-1')).toEqual({ count: 0, note: '' });
  });

  it('counts a changed object, a new one, one sent but not acked, and an acked one no longer desired', () => {
    const desired = new Map([['edge-1', new Map([['changed', 'h2'], ['new', 'h1'], ['sent', 'h1'], ['same', 'h1']])]]);
    const acked = new Map<string, string | null>([['changed', 'h1'], ['sent', null], ['same', 'h1'], ['gone', 'h1']]);
    const nodeSyncs = new Map([['edge-1', { journalId: 'journal-a', upApplied: 12, acked }]]);
    expect(pendingDown(api({ desired, nodeSyncs }), 'edge-1').count).toBe(4);
  });

  it('counts the whole desired set for a node without a NodeSync', () => {
    expect(pendingDown(api({ nodeSyncs: new Map() }), 'edge-1').count).toBe(1);
  });

  it('is unknown when the desired set could not be computed, or the API is unreachable', () => {
    expect(pendingDown(api({ desired: undefined, downError: 'secrets: forbidden' }), 'edge-1').note).toContain('secrets: forbidden');
    expect(pendingDown(unreachable, 'edge-1').count).toBeNull();
  });

  it('countDiffering compares by uid, not by name', () => {
    expect(countDiffering(new Map([['uid-2', 'h']]), new Map([['uid-1', 'h']]))).toBe(2);
  });
});

describe('outboxHeld: what the edge has not seen acknowledged, known without the cloud', () => {
  it('is the outbox head minus its floor', () => {
    expect(outboxHeld(edge()).count).toBe(2);
  });

  it('is zero before the edge first linked', () => {
    expect(outboxHeld(edge({ outbox: undefined })).count).toBe(0);
  });

  it('is unknown for an unreadable journal', () => {
    expect(outboxHeld({ readable: false, dir: '/d', nodeName: 'edge-1', journal: undefined, error: 'not a database' }).count).toBeNull();
  });
});

describe('linkOf: linked only while a cloud process holds a fresh stream Lease', () => {
  it('is linked, for as long as the cloud journal says, when the Lease was renewed within its duration', () => {
    const verdict = linkOf(api(), linked, 'edge-1', NOW);
    expect(verdict.state).toBe('linked');
    expect(verdict.summary).toBe('linked 10m');
    expect(verdict.detail).toContain('held by cloud-a, renewed 5s ago');
  });

  it('is not linked when the Lease was released, naming the close the cloud journal recorded', () => {
    const record: LinkRecord = { status: 'unlinked', since: ago(30), mode: 'resume', lastClose: { code: 1006, reason: 'peer silent' } };
    const verdict = linkOf(api({ leases: new Map([['edge-1', { holder: '', renewTime: ago(30), durationSeconds: 40 }]]) }), record, 'edge-1', NOW);
    expect(verdict).toMatchObject({ state: 'not linked', summary: 'not linked 30s' });
    expect(verdict.detail).toContain('closed 1006 peer silent');
  });

  it('is not linked when the holder stopped renewing past the Lease duration', () => {
    const verdict = linkOf(api({ leases: new Map([['edge-1', { holder: 'cloud-a', renewTime: ago(41), durationSeconds: 40 }]]) }), linked, 'edge-1', NOW);
    expect(verdict).toMatchObject({ state: 'not linked', summary: 'not linked (lease expired)' });
  });

  it('is not linked, never linked, without a Lease or a journal record', () => {
    expect(linkOf(api({ leases: new Map() }), undefined, 'edge-1', NOW)).toMatchObject({ state: 'not linked', summary: 'not linked (never)' });
  });

  it('is unknown when the API is unreachable, quoting the cloud journal as the last record only', () => {
    const verdict = linkOf(unreachable, linked, 'edge-1', NOW);
    expect(verdict).toMatchObject({ state: 'unknown', summary: '? (journal: linked)' });
    expect(verdict.detail).toContain('API unreachable');
  });
});

const twin = (properties: EdgeTwinFacts['properties']): EdgeTwinFacts => ({ namespace: 'default', name: 'thermo', uid: 'dev-uid', state: 'online', properties });
const device = (properties: ApiDeviceFacts['properties'], uid = 'dev-uid'): ApiDeviceFacts => ({ namespace: 'default', name: 'thermo', uid, nodeName: 'edge-1', state: 'online', properties });

describe('the twin comparison: expected/actual at the edge next to desired/reported in the API', () => {
  it('marks nothing when both sides agree (a missing value equals an empty one)', () => {
    const rows = propertiesOf(twin([{ name: 't', expected: null, actual: '21' }]), device([{ name: 't', desired: '', reported: '21' }]));
    expect(rows).toEqual([{ name: 't', edge: { expected: null, actual: '21' }, api: { desired: '', reported: '21' }, differs: [] }]);
  });

  it('marks a desired value the edge lacks and a reading the API lacks', () => {
    const rows = propertiesOf(twin([{ name: 't', expected: '21', actual: '19.5' }]), device([{ name: 't', desired: '25', reported: '19' }]));
    expect(rows[0]?.differs).toEqual(['expected≠desired', 'actual≠reported']);
  });

  it('lists the properties of both sides, sorted, and a property only one side has differs', () => {
    const rows = propertiesOf(twin([{ name: 'b', expected: null, actual: '1' }]), device([{ name: 'a', desired: '2', reported: null }]));
    expect(rows.map((r) => [r.name, r.differs])).toEqual([['a', ['expected≠desired']], ['b', ['actual≠reported']]]);
  });

  it('marks nothing when the API side is unknown', () => {
    expect(propertiesOf(twin([{ name: 't', expected: '1', actual: '2' }]), undefined)[0]).toMatchObject({ api: undefined, differs: [] });
  });

  it('matches edge twins to Devices by uid, so a re-created Device is another row', () => {
    const rows = devicesOf([edge({ twins: [twin([])] })], api({ devices: [device([], 'new-uid')] }));
    expect(rows.map((r) => [r.uid, r.note])).toEqual([
      ['dev-uid', 'not in the API (deleted?)'],
      ['new-uid', 'no twin in the edge journals of this data dir'],
    ]);
  });
});

describe('buildStatusReport', () => {
  it('lists the nodes of the data dir and of the API, sorted, each with its Ready age', () => {
    const nodes = new Map([['edge-0', { status: 'False', lastTransitionTime: ago(90) }], ['edge-1', { status: 'True', lastTransitionTime: ago(300) }]]);
    const report = buildStatusReport({ dataDir: '/data', edges: [edge()], cloud: undefined, api: api({ nodes }) }, NOW);
    expect(report.nodes.map((n) => [n.name, n.ready, n.readyForMs])).toEqual([['edge-0', 'False', 90_000], ['edge-1', 'True', 300_000]]);
    expect(report.nodes[0]?.edgeDir).toBeUndefined();
  });

  it('says so when the API has no Node for an edge of the data dir', () => {
    const report = buildStatusReport({ dataDir: '/data', edges: [edge()], cloud: undefined, api: api({ nodes: new Map() }) }, NOW);
    expect(report.nodes[0]).toMatchObject({ ready: '-', problems: ['no Node object in the API'] });
  });

  it('keeps the edge facts when the API is unreachable', () => {
    const report = buildStatusReport({ dataDir: '/data', edges: [edge()], cloud: undefined, api: unreachable }, NOW);
    expect(report.api).toMatchObject({ reachable: false, error: 'connect ECONNREFUSED' });
    expect(report.nodes[0]).toMatchObject({ name: 'edge-1', ready: '?', outbox: { count: 2 }, journal: { fileBytes: 4096, walBytes: 8192 } });
  });
});

describe('formatAge, as kubectl prints ages', () => {
  it.each([
    [0, '0s'],
    [119_999, '119s'],
    [120_000, '2m'],
    [7_199_000, '119m'],
    [7_200_000, '2h'],
    [172_800_000, '2d'],
    [null, '?'],
  ])('%s ms is %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
