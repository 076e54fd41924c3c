// The stream end to end over real mTLS websockets on 127.0.0.1, in one process: a CloudHub behind
// the stream server, EdgeHubs with certificates from the bootstrap. Method: drive a transfer, cut
// the connection in the middle (terminate, as a network failure does), and check PROTOCOL.md's
// invariants on what the cloud's effects and the edge's journal hold once the link is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareResourceVersions, type DesiredChange } from '../sync/index.js';
import { MemoryEdgeJournal, MemoryNodeSync, RecordingEffects, StandInDesired, openTestEdge, startStreamCloud, until, type StreamCloud } from './stream.testing.js';
import type { EdgeHub } from './edge-hub.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function cloudWith(desired: StandInDesired, effects: RecordingEffects): Promise<StreamCloud> {
  const cloud = await startStreamCloud({ desired, effects });
  cleanups.push(() => cloud.close());
  return cloud;
}

async function edgeOf(cloud: StreamCloud, nodeName: string, journal: MemoryEdgeJournal): Promise<EdgeHub> {
  const credentials = await cloud.join(nodeName, await tempDir());
  const edge = await openTestEdge(cloud.server.url, credentials, journal);
  cleanups.push(() => edge.stop());
  return edge;
}

describe('up: a log applied exactly once, in order', () => {
  it('10,000 events with the connection cut three times in the middle', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudWith(new StandInDesired(), effects);
    const journal = new MemoryEdgeJournal('journal-a');
    const edge = await edgeOf(cloud, 'edge-1', journal);
    edge.start();
    const total = 10_000;
    const cutsAt = new Set([2_000, 5_000, 8_000]);
    for (let i = 1; i <= total; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => ({ type: 'ValueReported.v1', data: { n: i + k } }));
      const reported = await edge.report(batch);
      expect(reported.ok).toBe(true);
      if ([...cutsAt].some((cut) => cut >= i && cut < i + 100)) {
        await until(() => (effects.applied.get('edge-1')?.seqs.length ?? 0) >= i - 500, 'some progress before the cut');
        edge.dropConnection();
      }
    }
    await until(() => (effects.applied.get('edge-1')?.seqs.length ?? 0) === total, 'every event applied');
    const applied = effects.applied.get('edge-1')!;
    expect(applied.seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(applied.events.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await until(() => edge.status().upAcked === total, 'the cloud acknowledges the whole outbox');
    expect(edge.status().reconnects).toBeGreaterThanOrEqual(3);
    // Acknowledged entries were compacted on their own, in batches of the default 4096, across the cuts.
    await until(() => journal.floor >= total - 4096, 'the outbox compacted without being asked');
    expect(journal.outbox.every((entry) => entry.seq > journal.floor)).toBe(true);
  });

  it('keeps the outbox bounded on its own: acknowledged entries are compacted in batches, unacknowledged ones never', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudWith(new StandInDesired(), effects);
    const journal = new MemoryEdgeJournal('journal-compact');
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-2', await tempDir()), journal, { outboxCompactAfterEntries: 10 });
    cleanups.push(() => edge.stop());
    expect((await edge.report(Array.from({ length: 25 }, (_, n) => ({ type: 'ValueReported.v1', data: { n } })))).ok).toBe(true);
    expect(journal.floor).toBe(0);
    edge.start();
    await until(() => edge.status().upAcked === 25, 'all 25 acknowledged');
    await until(() => journal.floor >= 16, 'compacted until fewer than 10 acknowledged entries remain');
    expect(journal.floor).toBeLessThanOrEqual(25);
    expect(journal.outbox.map((e) => e.seq)).toEqual(Array.from({ length: 25 - journal.floor }, (_, i) => journal.floor + i + 1));
  });
});

describe('down: level-based, newest revision wins', () => {
  it('10,000 revisions of 1,000 objects with the connection cut while they change', async () => {
    const desired = new StandInDesired();
    const cloud = await cloudWith(desired, new RecordingEffects());
    const journal = new MemoryEdgeJournal('journal-b');
    const edge = await edgeOf(cloud, 'edge-2', journal);
    const applied = new Map<string, string[]>();
    edge.on('desired', (changes: readonly DesiredChange[]) => {
      for (const change of changes) if (change.op === 'put') applied.set(change.key, [...(applied.get(change.key) ?? []), change.resourceVersion]);
    });
    edge.start();
    for (let revision = 1; revision <= 10; revision++) {
      for (let i = 0; i < 1000; i++) desired.putConfigMap('edge-2', `cm-${i}`, { revision: String(revision), i: String(i) });
      cloud.hub.desiredChanged('edge-2');
      if (revision % 3 === 0) {
        await until(() => journal.objects.size > 0, 'objects arriving');
        edge.dropConnection();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const newest = desired.desiredSet('edge-2');
    await until(
      () => [...newest.objects.values()].every((o) => journal.objects.get(o.key)?.resourceVersion === o.resourceVersion),
      'the edge holds the newest revision of every object',
      60_000,
    );
    expect(journal.objects.size).toBe(1000);
    for (const object of newest.objects.values()) {
      const held = journal.objects.get(object.key)!;
      expect(held.contentHash).toBe(object.contentHash);
      expect((held.content as { data: { revision: string } }).data.revision).toBe('10');
    }
    for (const [key, revisions] of applied) {
      for (let i = 1; i < revisions.length; i++) expect(compareResourceVersions(revisions[i]!, revisions[i - 1]!), key).toBeGreaterThan(0);
    }
  });

  it('an object no longer desired is deleted at the edge by a tombstone', async () => {
    const desired = new StandInDesired();
    const cloud = await cloudWith(desired, new RecordingEffects());
    const journal = new MemoryEdgeJournal('journal-c');
    const edge = await edgeOf(cloud, 'edge-3', journal);
    desired.putConfigMap('edge-3', 'keep', { a: '1' });
    const gone = desired.putConfigMap('edge-3', 'gone', { b: '2' });
    edge.start();
    await until(() => journal.objects.size === 2, 'both objects at the edge');
    desired.remove('edge-3', gone.uid);
    cloud.hub.desiredChanged('edge-3');
    await until(() => journal.objects.size === 1, 'the removed object deleted');
    expect([...journal.objects.keys()]).toEqual(['configmaps/default/keep']);
  });
});

describe('limits', () => {
  it('an object too large for one frame is skipped with a warning, never a close; the rest arrive', async () => {
    const desired = new StandInDesired();
    const oversized: Array<{ key: string; bytes: number }> = [];
    const limits = { unackedFramesMax: 8, unackedBytesMax: 256 * 1024, frameBytesMax: 64 * 1024, ackTimeoutMs: 30_000 };
    const cloud = await startStreamCloud({ desired, limits, ackPolicy: { ackEveryFrames: 4, ackDelayMs: 20, applyQueueFramesMax: 8 }, onOversized: (_, key, bytes) => oversized.push({ key, bytes }) });
    cleanups.push(() => cloud.close());
    const journal = new MemoryEdgeJournal('journal-big');
    const credentials = await cloud.join('edge-4', await tempDir());
    const edge = await openTestEdge(cloud.server.url, credentials, journal, { limits, ackPolicy: { ackEveryFrames: 4, ackDelayMs: 20, applyQueueFramesMax: 8 } });
    cleanups.push(() => edge.stop());
    for (let i = 0; i < 50; i++) desired.putConfigMap('edge-4', `small-${i}`, { i: String(i) });
    desired.putConfigMap('edge-4', 'huge', { blob: 'x'.repeat(100 * 1024) });
    edge.start();
    await until(() => journal.objects.size === 50, 'every object that fits, through a window of 8 frames');
    expect(journal.objects.has('configmaps/default/huge')).toBe(false);
    expect(oversized).toEqual([{ key: 'configmaps/default/huge', bytes: expect.any(Number) }]);
    expect(oversized[0]!.bytes).toBeGreaterThan(64 * 1024);
    expect(edge.status()).toMatchObject({ phase: 'linked', reconnects: 0 });
  });

  it('an object the edge would refuse (a __proto__ member) is skipped, never sent, never a close; the rest arrive', async () => {
    const desired = new StandInDesired();
    const oversized: string[] = [];
    const cloud = await startStreamCloud({ desired, onOversized: (_, key) => oversized.push(key) });
    cleanups.push(() => cloud.close());
    const journal = new MemoryEdgeJournal('journal-refused');
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-6', await tempDir()), journal);
    cleanups.push(() => edge.stop());
    desired.putConfigMap('edge-6', 'before', { a: '1' });
    desired.putConfigMap('edge-6', 'poisoned', JSON.parse('{"__proto__":"x","b":"2"}') as Record<string, string>);
    desired.putConfigMap('edge-6', 'after', { c: '3' });
    edge.start();
    await until(() => journal.objects.size === 2, 'the two sendable objects held');
    const node = () => cloud.hub.status().find((n) => n.nodeName === 'edge-6');
    await until(() => node()?.downInFlight === 0 && node()?.downPending === 0, 'everything acked, nothing pending: the poisoned object is skipped, not retried');
    expect([...journal.objects.keys()].sort()).toEqual(['configmaps/default/after', 'configmaps/default/before']);
    expect(oversized).toEqual([]);
    expect(edge.status()).toMatchObject({ phase: 'linked', reconnects: 0 });
  });

  it('an up event too large for a frame is refused before it is journaled, with a typed error', async () => {
    const cloud = await startStreamCloud({});
    cleanups.push(() => cloud.close());
    const journal = new MemoryEdgeJournal('journal-up-big');
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-5', await tempDir()), journal, { limits: { unackedFramesMax: 8, unackedBytesMax: 256 * 1024, frameBytesMax: 64 * 1024, ackTimeoutMs: 30_000 }, ackPolicy: { ackEveryFrames: 4, ackDelayMs: 20, applyQueueFramesMax: 8 } });
    cleanups.push(() => edge.stop());
    const refused = await edge.report([{ type: 'Huge.v1', data: { blob: 'x'.repeat(100 * 1024) } }]);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatchObject({ kind: 'UpEventTooLarge', type: 'Huge.v1', frameBytesMax: 64 * 1024 });
    expect(journal.outbox).toEqual([]);
    const polluted = await edge.report([{ type: 'Twin.v1', data: JSON.parse('{"__proto__": {"x": 1}}') }]);
    expect(!polluted.ok && polluted.error).toMatchObject({ kind: 'UpEventUndecodable', type: 'Twin.v1', reason: 'content has the forbidden key __proto__' });
    const nested = await edge.report([{ type: 'Deep.v1', data: Array.from({ length: 120 }).reduce<unknown>((inner) => [inner], 0) as never }]);
    expect(!nested.ok && nested.error).toMatchObject({ kind: 'UpEventUndecodable', type: 'Deep.v1' });
    expect(journal.outbox).toEqual([]);
  });
});

describe('request/response across a reconnect', () => {
  it('a query asked while the link is down is sent when it comes back and answered', async () => {
    const cloud = await startStreamCloud({ respond: async (node) => ({ ok: true, value: `hello ${node}` }) });
    cleanups.push(() => cloud.close());
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-6', await tempDir()), new MemoryEdgeJournal('journal-q'));
    cleanups.push(() => edge.stop());
    const answer = edge.query({ source: 'metamanager', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'configmap', name: 'cfg' }, content: null }, 10_000);
    expect(edge.status().phase).toBe('down');
    edge.start();
    expect(await answer).toEqual({ ok: true, value: 'hello edge-6' });
  });
});

describe('a failing NodeSync store', () => {
  it('closes the node\'s stream with 1011 and starts it over from the store; the edge still ends with every object', async () => {
    const desired = new StandInDesired();
    const store = new MemoryNodeSync();
    let failures = 1;
    const flaky: MemoryNodeSync = Object.assign(Object.create(store) as MemoryNodeSync, {
      recordAcked: async (node: string, changes: Parameters<MemoryNodeSync['recordAcked']>[1]) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('disk I/O error');
        }
        return store.recordAcked(node, changes);
      },
    });
    const cloud = await startStreamCloud({ desired, nodeSync: flaky });
    cleanups.push(() => cloud.close());
    const journal = new MemoryEdgeJournal('journal-flaky');
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-7', await tempDir()), journal);
    cleanups.push(() => edge.stop());
    const closes: number[] = [];
    edge.on('unlinked', (end) => closes.push(end.code));
    for (let i = 0; i < 20; i++) desired.putConfigMap('edge-7', `cm-${i}`, { i: String(i) });
    edge.start();
    await until(() => journal.objects.size === 20 && edge.status().phase === 'linked', 'every object held after the store recovered');
    expect(closes).toContain(1011);
    expect(failures).toBe(0);
  });
});

describe('an up event type that header.type cannot carry', () => {
  it('is refused before it is journaled (a frame the cloud would close on is never written)', async () => {
    const cloud = await startStreamCloud({});
    cleanups.push(() => cloud.close());
    const journal = new MemoryEdgeJournal('journal-type');
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-8', await tempDir()), journal);
    cleanups.push(() => edge.stop());
    for (const type of ['', 'T'.repeat(257)]) {
      const refused = await edge.report([{ type, data: null }]);
      expect(!refused.ok && refused.error).toMatchObject({ kind: 'UpEventUndecodable', reason: 'the event type must be 1-256 characters' });
    }
    expect(journal.outbox).toEqual([]);
  });
});
