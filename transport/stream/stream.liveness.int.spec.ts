// Liveness and bad peers over real mTLS websockets: keepalives hold an idle link, a silent peer is
// dropped after the dead-peer timeout, an edge reconnects with back-off, and a connection sending
// garbage is closed with its own code and reason while another node's transfer goes on untouched.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { connectMtlsStream, startMtlsStreamServer, type NodeCredentials } from '../security/index.js';
import { edgeHelloFrame, keepaliveFrame, type Frame } from '../frames/frame.js';
import { DEFAULT_FRAME_LIMITS, decodeFrame, encodeFrame } from '../frames/codec.js';
import { freshStamp, type SessionEnd } from './session.js';
import { MemoryEdgeJournal, MemoryNodeSync, RecordingEffects, StandInDesired, openTestEdge, startStreamCloud, until, type StreamCloud } from './stream.testing.js';
import type { WebSocket } from 'ws';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const fast = { keepaliveMs: 50, deadPeerMs: 300 };

async function cloudWith(effects = new RecordingEffects()): Promise<StreamCloud> {
  const cloud = await startStreamCloud({ effects, desired: new StandInDesired(), liveness: fast });
  cleanups.push(() => cloud.close());
  return cloud;
}

async function rawSocket(cloud: StreamCloud, credentials: NodeCredentials): Promise<WebSocket> {
  const opened = await connectMtlsStream({ cloudUrl: cloud.server.url, credentials });
  if (!opened.ok) throw new Error(opened.error.message);
  cleanups.push(async () => opened.value.terminate());
  return opened.value;
}

const helloOf = (nodeName: string): Frame => edgeHelloFrame(freshStamp(), { protocolVersion: 1, nodeName, clusterId: null, journalId: 'raw-journal', upFloor: 0, outboxHead: 0 });

describe('keepalive and dead peers', () => {
  it('an idle link stays up on keepalives alone, far longer than the dead-peer timeout', async () => {
    const cloud = await cloudWith();
    const edge = await openTestEdge(cloud.server.url, await cloud.join('edge-1', await tempDir()), new MemoryEdgeJournal('j-idle'), { liveness: fast });
    cleanups.push(() => edge.stop());
    edge.start();
    await until(() => edge.status().phase === 'linked', 'linked');
    const since = performance.now();
    await until(() => performance.now() - since > 5 * fast.deadPeerMs, 'five dead-peer timeouts of idleness');
    expect(edge.status()).toMatchObject({ phase: 'linked', reconnects: 0 });
  });

  it('the cloud drops a peer that sent its hello and then went silent', async () => {
    const cloud = await cloudWith();
    const socket = await rawSocket(cloud, await cloud.join('edge-2', await tempDir()));
    socket.send(encodeFrame(helloOf('edge-2')));
    const started = performance.now();
    const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
    expect(code).toBe(1001);
    expect(reason.toString()).toContain('silent');
    expect(performance.now() - started).toBeGreaterThanOrEqual(fast.deadPeerMs - 50);
  });

  it('an edge whose cloud never answers the hello gives up after the timeout and keeps retrying with back-off', async () => {
    const cloud = await cloudWith();
    const credentials = await cloud.join('edge-3', await tempDir());
    // A stream server with the cluster's certificates whose connections nobody reads: a hung cloud.
    const held: WebSocket[] = [];
    const mute = await startMtlsStreamServer({
      host: '127.0.0.1',
      port: 0,
      tls: { caPem: cloud.pki.caPem, certPem: cloud.pki.serverCertPem, keyPem: cloud.pki.serverKeyPem },
      onConnection: (_, socket) => held.push(socket),
    });
    if (!mute.ok) throw new Error('mute server');
    cleanups.push(() => mute.value.close());
    const attemptsAt: number[] = [];
    const edge = await openTestEdge(mute.value.url, credentials, new MemoryEdgeJournal('j-mute'), {
      liveness: fast,
      backoff: { delayMsMin: 20, delayMsMax: 80 },
      connect: () => {
        attemptsAt.push(performance.now());
        return connectMtlsStream({ cloudUrl: mute.value.url, credentials });
      },
    });
    cleanups.push(() => edge.stop());
    const ends: SessionEnd[] = [];
    edge.on('unlinked', (end) => ends.push(end));
    edge.start();
    await until(() => ends.length >= 3, 'three attempts given up', 10_000);
    expect(ends.every((end) => end.local)).toBe(true);
    expect(ends[0]!.reason).toMatch(/no hello from the cloud|silent/);
    // Each attempt waited for the hello timeout before the next one started.
    for (let i = 1; i < 3; i++) expect(attemptsAt[i]! - attemptsAt[i - 1]!).toBeGreaterThanOrEqual(fast.deadPeerMs - 20);
    expect(edge.status().phase).not.toBe('linked');
  });
});

describe('while the hello is being answered', () => {
  it('a keepalive that arrives before the cloud\'s hello is taken in stride, and the link comes up', async () => {
    const nodeSync = new MemoryNodeSync();
    let release!: () => void;
    const loaded = new Promise<void>((resolve) => (release = resolve));
    const slowSync: typeof nodeSync = Object.assign(Object.create(nodeSync) as MemoryNodeSync, {
      load: async (node: string) => {
        await loaded;
        return nodeSync.load(node);
      },
    });
    // A dead-peer timeout well beyond the held load: this raw client sends no keepalives of its own after the first.
    const cloud = await startStreamCloud({ nodeSync: slowSync, liveness: { keepaliveMs: 50, deadPeerMs: 10_000 } });
    cleanups.push(() => cloud.close());
    const socket = await rawSocket(cloud, await cloud.join('edge-k', await tempDir()));
    const frames: Frame[] = [];
    socket.on('message', (data: Buffer) => {
      const decoded = decodeFrame(data, DEFAULT_FRAME_LIMITS);
      if (decoded.ok) frames.push(decoded.value);
    });
    socket.send(encodeFrame(helloOf('edge-k')));
    socket.send(encodeFrame(keepaliveFrame(freshStamp(), { from: 'edge', nodeName: 'edge-k' })));
    // The record stays loading well past the keepalive's arrival (the test passes whatever the
    // timing; the delay only makes sure the window it is about is open when the keepalive lands).
    setTimeout(release, 300);
    expect(cloud.hub.status()).toEqual([]);
    await until(() => frames.some((f) => f.kind === 'cloudHello'), 'the cloud hello');
    expect(socket.readyState).toBe(socket.OPEN);
  });
});

describe('bad frames on one connection', () => {
  it('each garbage frame closes its own connection with 1007/1009 and a reason; a transfer on another node goes on', async () => {
    const effects = new RecordingEffects();
    const cloud = await cloudWith(effects);
    const good = await openTestEdge(cloud.server.url, await cloud.join('good', await tempDir()), new MemoryEdgeJournal('j-good'));
    cleanups.push(() => good.stop());
    good.start();
    const badCredentials = await cloud.join('bad', await tempDir());
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')), fc.constant('{"header":{}}')), async (garbage) => {
        await good.report([{ type: 'Tick.v1', data: { n: ++sent } }]);
        const socket = await rawSocket(cloud, badCredentials);
        socket.send(encodeFrame(helloOf('bad')));
        socket.send(garbage);
        const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
        expect([1002, 1007, 1009]).toContain(code);
        expect(reason.toString().length).toBeGreaterThan(0);
      }),
      { numRuns: 25 },
    );
    await until(() => effects.applied.get('good')?.seqs.length === sent, 'every event of the good node applied');
    expect(good.status()).toMatchObject({ phase: 'linked', reconnects: 0 });
  });
});
