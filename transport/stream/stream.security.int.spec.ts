// Node authorization and credentials through the whole stream: real certificates from the bootstrap,
// real mTLS websockets, the CloudHub checking every frame against what is bound to the node. Method:
// an edge tries what it may not, and the spec checks the refusal's reason, that nothing was applied,
// and that the stream goes on for everything it may do.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectMtlsStream, loadNodeCredentials, renewNodeCertificate, joinCluster, startMtlsStreamServer, type NodeAuthorizationView } from '../security/index.js';
import { EdgeHub } from './edge-hub.js';
import { MemoryEdgeJournal, RecordingEffects, StandInDesired, openTestEdge, startStreamCloud, until, type StreamCloud } from './stream.testing.js';
import type { SessionEnd } from './session.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Pod web-a is bound to edge-a, web-b to edge-b; edge-a's pod references Secret default/a-creds only. */
const bindings: NodeAuthorizationView = {
  podNode: (namespace, name) => (namespace === 'default' ? ({ 'web-a': 'edge-a', 'web-b': 'edge-b' } as Record<string, string>)[name] : undefined),
  deviceNode: () => undefined,
  configMapReferencedBy: () => false,
  secretReferencedBy: (node, namespace, name) => node === 'edge-a' && namespace === 'default' && name === 'a-creds',
};

async function cloudFor(effects: RecordingEffects, extra: Parameters<typeof startStreamCloud>[0] = {}): Promise<StreamCloud> {
  const cloud = await startStreamCloud({ effects, desired: new StandInDesired(), authorization: bindings, ...extra });
  cleanups.push(() => cloud.close());
  return cloud;
}

async function linkedEdge(cloud: StreamCloud, nodeName: string, journal = new MemoryEdgeJournal(`journal-${nodeName}`)): Promise<EdgeHub> {
  const edge = await openTestEdge(cloud.server.url, await cloud.join(nodeName, await tempDir()), journal);
  cleanups.push(() => edge.stop());
  const linked = new Promise((resolve) => edge.once('linked', resolve));
  edge.start();
  await linked;
  return edge;
}

const podStatus = (pod: string, n: number) => ({ type: 'PodStatusReported.v1', data: { resource: `default/podstatus/${pod}`, n } });

describe('an edge writing another node\'s pod', () => {
  it('is refused with a reason naming both, is not applied, and the edge\'s own writes go on in order', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudFor(effects);
    const edge = await linkedEdge(cloud, 'edge-a');
    const refusals: string[] = [];
    edge.on('refused', (reason) => refusals.push(reason));
    await edge.report([podStatus('web-a', 1), podStatus('web-b', 2), podStatus('web-a', 3)]);
    await until(() => (effects.applied.get('edge-a')?.seqs.length ?? 0) === 2 && refusals.length === 1, 'two applied, one refused');
    expect(refusals[0]).toContain('edge-a');
    expect(refusals[0]).toContain('pod default/web-b is bound to another node');
    expect(effects.applied.get('edge-a')!.events.map((e) => (e.data as { n: number }).n)).toEqual([1, 3]);
    await until(() => edge.status().upAcked === 3, 'the refused event still counts: the log never stalls');
    expect(cloud.hub.status().find((n) => n.nodeName === 'edge-a')?.violations).toBe(1);
  });

  it('an edge app\'s upload on $hw/events/upload/… goes as the edge\'s own (operation upload, group user): applied in order, never refused', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudFor(effects);
    const edge = await linkedEdge(cloud, 'edge-a');
    const refusals: string[] = [];
    edge.on('refused', (reason) => refusals.push(reason));
    const topic = '$hw/events/upload/line-3/counter';
    await edge.report([podStatus('web-a', 1), { type: 'EventBusUploaded.v1', data: { resource: topic, topic, payload: '7' } }, podStatus('web-a', 3)]);
    await until(() => (effects.applied.get('edge-a')?.seqs.length ?? 0) === 3, 'all three applied');
    expect(effects.applied.get('edge-a')!.events.map((e) => e.type)).toEqual(['PodStatusReported.v1', 'EventBusUploaded.v1', 'PodStatusReported.v1']);
    expect(refusals).toEqual([]);
  });

  it('closes the connection with 4403 after repeated violations; the edge comes back and its log is whole', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudFor(effects, { violationLimits: { violationsMax: 3, windowMs: 60_000 } });
    const edge = await linkedEdge(cloud, 'edge-a');
    const closes: SessionEnd[] = [];
    edge.on('unlinked', (end) => closes.push(end));
    await edge.report([podStatus('web-b', 1), podStatus('web-b', 2), podStatus('web-b', 3), podStatus('web-a', 4)]);
    await until(() => closes.length >= 1, 'the cloud closes the stream');
    expect(closes[0]).toMatchObject({ code: 4403, local: false });
    expect(closes[0]!.reason).toContain('3 authorization violations');
    await until(() => effects.applied.get('edge-a')?.seqs.join() === '4', 'the permitted event applied after the reconnect');
  });
});

describe('queries', () => {
  it('a Secret a bound pod references is answered; another is refused with the reason', async () => {
    const cloud = await cloudFor(new RecordingEffects(), {
      respond: async (node, query) => ({ ok: true, value: { answeredFor: node, resource: query.route.resource } }),
    });
    const edge = await linkedEdge(cloud, 'edge-a');
    const mine = await edge.query({ source: 'metamanager', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'secret', name: 'a-creds' }, content: null }, 5000);
    expect(mine).toEqual({ ok: true, value: { answeredFor: 'edge-a', resource: 'default/secret/a-creds' } });
    const theirs = await edge.query({ source: 'metamanager', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'secret', name: 'b-creds' }, content: null }, 5000);
    expect(theirs.ok).toBe(false);
    expect(!theirs.ok && theirs.error).toMatchObject({ kind: 'QueryRefused', message: expect.stringContaining('no pod bound to "edge-a" references Secret default/b-creds') });
  });

  it('past the per-node rate limit, queries are refused with a retry-later error and the link stays up', async () => {
    const cloud = await cloudFor(new RecordingEffects(), { queryRate: { perSecond: 1, burst: 5 }, respond: async () => ({ ok: true, value: 'ok' }) });
    const edge = await linkedEdge(cloud, 'edge-a');
    const resource = { kind: 'object', namespace: 'default', type: 'secret', name: 'a-creds' } as const;
    const answers = await Promise.all(Array.from({ length: 12 }, () => edge.query({ source: 'metamanager', group: 'resource', resource, content: null }, 5000)));
    const refused = answers.filter((a) => !a.ok);
    expect(answers.filter((a) => a.ok).length).toBeGreaterThanOrEqual(5);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused.every((a) => !a.ok && a.error.kind === 'QueryRefused' && a.error.message.includes('rate limit'))).toBe(true);
    expect(edge.status().phase).toBe('linked');
  });

  it('the cloud asks an edge (service bus) and gets its answer', async () => {
    const cloud = await cloudFor(new RecordingEffects());
    const journal = new MemoryEdgeJournal('journal-sb');
    const credentials = await cloud.join('edge-a', await tempDir());
    const edge = await openTestEdge(cloud.server.url, credentials, journal, { respond: async (query) => ({ ok: true, value: { echoed: query.content } }) });
    cleanups.push(() => edge.stop());
    const linked = new Promise((resolve) => edge.once('linked', resolve));
    edge.start();
    await linked;
    const answer = await cloud.hub.request('edge-a', { source: 'servicebus', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'pod', name: 'web-a' }, content: { path: '/healthz' } }, 5000);
    expect(answer).toEqual({ ok: true, value: { echoed: { path: '/healthz' } } });
  });
});

describe('credentials', () => {
  it('a certificate rotated in the middle of a transfer: the edge reconnects with the new one and loses nothing', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudFor(effects);
    const dataDir = await tempDir();
    await cloud.join('edge-a', dataDir);
    const first = await loadNodeCredentials(dataDir);
    if (!first.ok) throw new Error(first.error.message);
    const serials: string[] = [];
    const edge = await EdgeHub.open({
      nodeName: 'edge-a',
      journal: new MemoryEdgeJournal('journal-rot'),
      backoff: { delayMsMin: 20, delayMsMax: 100 },
      // Credentials are read at each connect, so a rotation takes effect at the next reconnect.
      connect: async () => {
        const credentials = await loadNodeCredentials(dataDir);
        if (!credentials.ok) return { ok: false, error: { message: credentials.error.message } };
        serials.push(credentials.value.certPem);
        return connectMtlsStream({ cloudUrl: cloud.server.url, credentials: credentials.value });
      },
    });
    cleanups.push(() => edge.stop());
    edge.start();
    for (let i = 1; i <= 2000; i += 50) {
      await edge.report(Array.from({ length: 50 }, (_, k) => podStatus('web-a', i + k)));
      if (i === 1001) {
        const renewed = await renewNodeCertificate({ cloudUrl: cloud.bootstrap.url, dataDir });
        expect(renewed.ok).toBe(true);
        edge.dropConnection();
      }
    }
    await until(() => effects.applied.get('edge-a')?.seqs.length === 2000, 'all 2000 applied');
    expect(effects.applied.get('edge-a')!.seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(new Set(serials).size).toBe(2);
    expect(serials[serials.length - 1]).not.toBe(first.value.certPem);
  });

  it('a connection whose certificate runs out while it is open is closed with 4403 at its notAfter', async () => {
    const cloud = await cloudFor(new RecordingEffects());
    const credentials = await cloud.join('edge-a', await tempDir());
    // A listener that admits as the real one does, but reports the certificate ending in 300 ms.
    const shortLived = await startMtlsStreamServer({
      host: '127.0.0.1',
      port: 0,
      tls: { caPem: cloud.pki.caPem, certPem: cloud.pki.serverCertPem, keyPem: cloud.pki.serverKeyPem },
      onConnection: (nodeName, socket, info) => cloud.hub.attach(nodeName, socket, { ...info, certificateNotAfterMs: Date.now() + 300 }),
    });
    if (!shortLived.ok) throw new Error('listener');
    cleanups.push(() => shortLived.value.close());
    const edge = await openTestEdge(shortLived.value.url, credentials, new MemoryEdgeJournal('journal-expiry'));
    cleanups.push(() => edge.stop());
    const closes: SessionEnd[] = [];
    edge.on('unlinked', (end) => closes.push(end));
    edge.start();
    await until(() => closes.length >= 1, 'closed at the certificate end');
    expect(closes[0]).toMatchObject({ code: 4403, reason: 'client certificate expired; renew it and reconnect', local: false });
  });

  it('an expired join token never yields credentials, so no stream is ever opened', async () => {
    const cloud = await cloudFor(new RecordingEffects());
    const token = (await cloud.tokens.createJoinToken({ nowMs: Date.now() - 2 * 60 * 60 * 1000, ttlMs: 60 * 60 * 1000 }));
    if (!token.ok) throw new Error('token');
    const joined = await joinCluster({ cloudUrl: cloud.bootstrap.url, token: token.value.token, nodeName: 'edge-x', dataDir: await tempDir() });
    expect(joined.ok).toBe(false);
    expect(!joined.ok && joined.error).toMatchObject({ kind: 'Refused', status: 401, cloudKind: 'TokenExpired' });
    expect(cloud.hub.status()).toEqual([]);
  });
});
