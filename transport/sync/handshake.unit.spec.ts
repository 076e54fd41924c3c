// The handshake, given/when/then: given what NodeSync recorded and what the edge announces, when
// the hellos are exchanged, then the two sides agree on resume or full resync, or refuse with a
// reason a person can act on.
import { describe, expect, it } from 'vitest';
import { acceptCloudHello, answerEdgeHello, closeReasonBytesMax, edgeHello, nextNodeSyncRecord, syncProtocolVersion, type NodeSyncRecord } from './handshake.js';
import { utf8Bytes } from './sync.limits.js';
import type { CloudHello, EdgeHello } from './sync.messages.js';

const edge = (overrides: Partial<EdgeHello> = {}): EdgeHello => ({ ...edgeHello({ nodeName: 'edge-1', journalId: 'j1', clusterId: 'c1', upFloor: 4, outboxHead: 9 }), ...overrides });
const record = (overrides: Partial<NodeSyncRecord> = {}): NodeSyncRecord => ({ journalId: 'j1', upApplied: 7, retiredJournalIds: ['j0'], ...overrides });
const cloud = (rec: NodeSyncRecord | undefined, clusterId = 'c1') => ({ nodeName: 'edge-1', clusterId, record: rec });
const answer = (hello: EdgeHello, rec: NodeSyncRecord | undefined, clusterId = 'c1') => answerEdgeHello(hello, cloud(rec, clusterId));

describe('the cloud answering a hello', () => {
  it('resumes when the cluster and the journal are the recorded ones, from the applied position', () => {
    const agreed = answer(edge(), record());
    expect(agreed).toEqual({
      ok: true,
      value: {
        mode: 'resume',
        up: { journalId: 'j1', applied: 7 },
        hello: { kind: 'hello', role: 'cloud', protocolVersion: syncProtocolVersion, nodeName: 'edge-1', clusterId: 'c1', journalId: 'j1', upAcked: 7, sync: 'resume' },
      },
    });
  });

  it('asks for a full resync when the edge last synced with another cluster (or never), keeping the up position', () => {
    expect(answer(edge({ clusterId: 'c0' }), record())).toMatchObject({ ok: true, value: { mode: 'full', up: { journalId: 'j1', applied: 7 } } });
    expect(answer(edge({ clusterId: null }), record())).toMatchObject({ ok: true, value: { mode: 'full' } });
  });

  it('starts the up direction over at the edge’s compaction floor for a journal it has no record of (new edge, new cluster)', () => {
    expect(answer(edge({ journalId: 'j2' }), record())).toMatchObject({ ok: true, value: { mode: 'full', up: { journalId: 'j2', applied: 4 }, hello: { upAcked: 4, journalId: 'j2' } } });
    expect(answer(edge(), undefined, 'c9')).toMatchObject({ ok: true, value: { mode: 'full', up: { journalId: 'j1', applied: 4 } } });
  });

  it('refuses a journal it retired: a stale hello, or an old disk brought back', () => {
    expect(answer(edge({ journalId: 'j0' }), record())).toEqual({
      ok: false,
      error: { kind: 'JournalRetired', closeCode: 4409, reason: 'journal j0 was replaced by j1: a stale hello, or an old disk; re-provision it' },
    });
  });

  it('refuses an edge whose outbox went back behind what was applied, or was compacted past it', () => {
    expect(answer(edge({ outboxHead: 6, upFloor: 0 }), record())).toMatchObject({ ok: false, error: { kind: 'EdgeJournalBehind', closeCode: 4409 } });
    expect(answer(edge({ upFloor: 8 }), record())).toMatchObject({ ok: false, error: { kind: 'OutboxCompactedUnapplied' } });
  });

  it('refuses another protocol version, saying which side to upgrade', () => {
    expect(answer(edge({ protocolVersion: 2 }), record())).toEqual({
      ok: false,
      error: { kind: 'ProtocolVersionMismatch', closeCode: 4426, reason: 'peer speaks sync protocol v2, this cloud speaks v1: upgrade the older side' },
    });
  });

  it('refuses a hello naming another node than the certificate (4403)', () => {
    expect(answer(edge({ nodeName: 'edge-2' }), record())).toMatchObject({ ok: false, error: { kind: 'NodeNameMismatch', closeCode: 4403, reason: 'hello names node edge-2, this connection is node edge-1' } });
  });

  it('refuses any other first frame', () => {
    expect(answerEdgeHello({ kind: 'up', seq: 1, event: { type: 'X.v1', data: null } }, cloud(record()))).toMatchObject({ ok: false, error: { kind: 'HelloExpected' } });
  });

  it('keeps every reason within a websocket close frame', () => {
    const long = 'n'.repeat(200);
    const refused = answerEdgeHello(edge({ nodeName: long }), { nodeName: 'edge-1', clusterId: 'c1', record: record() });
    expect(!refused.ok && utf8Bytes(refused.error.reason)).toBeLessThanOrEqual(closeReasonBytesMax);
  });
});

describe('the edge checking the answer', () => {
  const reply = (overrides: Partial<CloudHello> = {}): CloudHello => ({ kind: 'hello', role: 'cloud', protocolVersion: syncProtocolVersion, nodeName: 'edge-1', clusterId: 'c1', journalId: 'j1', upAcked: 7, sync: 'resume', ...overrides });

  it('resumes after upAcked', () => {
    expect(acceptCloudHello(edge(), reply())).toEqual({ ok: true, value: { mode: 'resume', clusterId: 'c1', upAcked: 7, reportState: false } });
  });

  it('after a full resync reports its state again, since the cloud may lack compacted history', () => {
    expect(acceptCloudHello(edge({ clusterId: null }), reply({ sync: 'full', upAcked: 4 }))).toEqual({ ok: true, value: { mode: 'full', clusterId: 'c1', upAcked: 4, reportState: true } });
  });

  it('refuses a cloud that resumes across a cluster change, answers for another journal, or acks outside the outbox', () => {
    expect(acceptCloudHello(edge({ clusterId: 'c0' }), reply())).toMatchObject({ ok: false, error: { kind: 'InvalidHello' } });
    expect(acceptCloudHello(edge(), reply({ journalId: 'j9' }))).toMatchObject({ ok: false, error: { kind: 'InvalidHello' } });
    expect(acceptCloudHello(edge(), reply({ upAcked: 3 }))).toMatchObject({ ok: false, error: { kind: 'InvalidHello', reason: 'cloud upAcked 3 is outside this outbox (4…9)' } });
    expect(acceptCloudHello(edge(), reply({ upAcked: 10 }))).toMatchObject({ ok: false, error: { kind: 'InvalidHello' } });
  });

  it('refuses another protocol version too', () => {
    expect(acceptCloudHello(edge(), reply({ protocolVersion: 0 }))).toMatchObject({ ok: false, error: { kind: 'ProtocolVersionMismatch', reason: 'peer speaks sync protocol v0, this edge speaks v1: upgrade the older side' } });
  });
});

describe('the NodeSync record', () => {
  it('moves forward within a journal and never back', () => {
    expect(nextNodeSyncRecord(record(), 'j1', 9)).toEqual(record({ upApplied: 9 }));
    expect(nextNodeSyncRecord(record(), 'j1', 5)).toEqual(record());
  });

  it('switches to a new journal with its first applied position, retiring the old one (bounded)', () => {
    expect(nextNodeSyncRecord(undefined, 'j1', 1)).toEqual({ journalId: 'j1', upApplied: 1, retiredJournalIds: [] });
    expect(nextNodeSyncRecord(record(), 'j2', 1)).toEqual({ journalId: 'j2', upApplied: 1, retiredJournalIds: ['j1', 'j0'] });
    const many = record({ retiredJournalIds: Array.from({ length: 16 }, (_, i) => `old-${i}`) });
    expect(nextNodeSyncRecord(many, 'j2', 1)?.retiredJournalIds).toHaveLength(16);
  });

  it('lets no retired journal write again', () => {
    expect(nextNodeSyncRecord(record(), 'j0', 50)).toBeUndefined();
  });
});
