// Byte streams (kubectl logs/exec) on their own mTLS connection, KubeEdge's `ConnectionUse: str`.
// Method: the cloud opens a byte stream to an edge that pours megabytes into it while up events
// flow on the message stream; the events keep being applied (a busy log never stalls state sync),
// the bytes arrive whole, and a str connection for a session nobody opened is refused with 4403.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ok } from '../../kernel/index.js';
import { connectMtlsStream } from '../security/index.js';
import { MemoryEdgeJournal, RecordingEffects, StandInDesired, openTestEdge, startStreamCloud, until } from './stream.testing.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const chunkBytes = 64 * 1024;
const chunks = 128; // 8 MiB

describe('byte streams', () => {
  it('8 MiB of log bytes on their own connection while up events keep being applied', async () => {
    const effects = new RecordingEffects();
    const cloud = await startStreamCloud({ effects, desired: new StandInDesired() });
    cleanups.push(() => cloud.close());
    const credentials = await cloud.join('edge-log', await tempDir());
    const requests: unknown[] = [];
    const edge = await openTestEdge(cloud.server.url, credentials, new MemoryEdgeJournal('j-log'), {
      byteStream: (request) => {
        requests.push(request);
        return ok((socket: WebSocket) => {
          const chunk = Buffer.alloc(chunkBytes, 'l');
          let sent = 0;
          const pour = (): void => {
            // Respect the socket's buffer, as a log follower does: write while it drains.
            while (sent < chunks && socket.bufferedAmount < 4 * chunkBytes) {
              socket.send(chunk);
              sent += 1;
            }
            if (sent < chunks) setTimeout(pour, 1);
            else socket.close(1000, 'end of log');
          };
          pour();
        });
      },
    });
    cleanups.push(() => edge.stop());
    const linked = once(edge, 'linked');
    edge.start();
    await linked;
    const opened = await cloud.hub.openByteStream('edge-log', { source: 'cloudhub', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'pod', name: 'web' }, content: { container: 'app', follow: true } }, 10_000);
    if (!opened.ok) throw new Error(opened.error.message);
    expect(requests).toEqual([{ container: 'app', follow: true }]);
    let received = 0;
    const appliedWhileStreaming: number[] = [];
    opened.value.on('message', (data: Buffer) => {
      received += data.length;
      appliedWhileStreaming.push(effects.applied.get('edge-log')?.seqs.length ?? 0);
    });
    const closed = once(opened.value, 'close');
    let n = 0;
    while (received < chunks * chunkBytes) {
      await edge.report([{ type: 'Tick.v1', data: { n: ++n } }]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
    expect(received).toBe(chunks * chunkBytes);
    await until(() => effects.applied.get('edge-log')?.seqs.length === n, 'every event applied');
    // State sync went on during the transfer: events were applied between the first and last chunk.
    expect(appliedWhileStreaming[appliedWhileStreaming.length - 1]! - appliedWhileStreaming[0]!).toBeGreaterThan(0);
  });

  it('a str connection naming no waiting session is closed with 4403; an edge refusing a stream says why', async () => {
    const cloud = await startStreamCloud({});
    cleanups.push(() => cloud.close());
    const credentials = await cloud.join('edge-str', await tempDir());
    const stray = await connectMtlsStream({ cloudUrl: cloud.server.url, credentials, byteStreamSession: 'not-a-session' });
    if (!stray.ok) throw new Error(stray.error.message);
    const [code, reason] = (await once(stray.value, 'close')) as [number, Buffer];
    expect(code).toBe(4403);
    expect(reason.toString()).toContain('no byte stream session not-a-session');
    const edge = await openTestEdge(cloud.server.url, credentials, new MemoryEdgeJournal('j-str'));
    cleanups.push(() => edge.stop());
    const linked = once(edge, 'linked');
    edge.start();
    await linked;
    const refused = await cloud.hub.openByteStream('edge-str', { source: 'cloudhub', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'pod', name: 'web' }, content: null }, 5000);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatchObject({ kind: 'QueryRefused', message: 'edge edge-str serves no byte streams' });
  });
});
