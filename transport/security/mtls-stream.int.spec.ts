// The mTLS stream end to end on 127.0.0.1. Method: a test cloud per test (real PKI, bootstrap and
// stream servers on free ports); edges join with a token and connect with `connectMtlsStream`, and
// hostile clients are plain `ws` clients with chosen certificates, paths and headers. Every wait is
// on an event (open, close, message, the server's connection queue), never on a timer.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWireResource } from '../frames/resource.js';
import { connectMtlsStream, streamUrl } from './mtls-client.js';
import { CLOSE_TRY_AGAIN_LATER, DEFAULT_PROJECT_ID } from './mtls-server.js';
import { type NodeAuthorizationView, type ViolationWindow, authorizeEdgeFrame, emptyViolationWindow, recordViolation } from './node-authorizer.js';
import { joinCluster, renewNodeCertificate } from './node-bootstrap.edge.js';
import { type NodeCredentials, loadNodeCredentials } from './node-credentials.fs.js';
import { type SeenConnection, type TestCloud, closeOf, expectOk, nextMessage, startTestCloud } from './security.testing.js';

let cloud: TestCloud;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  cloud = await startTestCloud();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await cloud.close();
});

/** Joins `nodeName` to `target` with a fresh token and returns its credentials from disk. */
async function joinedEdge(nodeName: string, target: TestCloud = cloud): Promise<NodeCredentials & { dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), `edgehive-${nodeName}-`));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  expectOk(await joinCluster({ cloudUrl: target.bootstrap.url, token: await target.createToken(), nodeName, dataDir }), 'join');
  return { ...expectOk(await loadNodeCredentials(dataDir), 'credentials'), dataDir };
}

async function connected(credentials: NodeCredentials, target: TestCloud = cloud): Promise<WebSocket> {
  const socket = expectOk(await connectMtlsStream({ cloudUrl: target.stream.url, credentials }), 'connect');
  cleanups.push(async () => {
    if (socket.readyState === WebSocket.CLOSED) return;
    const closed = once(socket, 'close');
    socket.terminate();
    await closed;
  });
  return socket;
}

/**
 * The close a refused client gets, or 'admitted' if the server handed the connection to the stream
 * instead: racing the two makes a wrongly admitted connection fail the test at once, not time out.
 */
async function refusal(connect: () => Promise<WebSocket>): Promise<{ code: number; reason: string } | 'admitted'> {
  // Counted before connecting: the server admits (or not) before the client sees 'open'.
  const admitted = cloud.connections.whenCount(cloud.connections.all.length + 1).then(() => 'admitted' as const);
  const socket = await connect();
  return Promise.race([closeOf(socket), admitted]);
}

/** A plain ws client: chosen path node, chosen headers, chosen certificate. Resolves once open. */
async function rawClient(options: { pathNode: string; headers: Record<string, string>; cert: string; key: string }): Promise<WebSocket> {
  const socket = new WebSocket(streamUrl(cloud.stream.url, DEFAULT_PROJECT_ID, options.pathNode), {
    ca: cloud.pki.caPem,
    cert: options.cert,
    key: options.key,
    headers: options.headers,
  });
  await once(socket, 'open');
  return socket;
}

describe('the happy path', () => {
  it('joins with a token, connects with mTLS as system:node:<name>, and exchanges messages both ways', async () => {
    const edge = await joinedEdge('edge-a');
    const socket = await connected(edge);
    const seen = await cloud.connections.next();
    expect(seen.nodeName).toBe('edge-a');
    expect(seen.info).toMatchObject({ nodeName: 'edge-a', projectId: DEFAULT_PROJECT_ID, remoteAddress: '127.0.0.1' });
    expect(seen.info.certificateNotAfterMs).toBe(edge.notAfterMs);
    const upstream = nextMessage(seen.socket);
    socket.send(JSON.stringify({ hello: 'from edge-a' }));
    expect(await upstream).toEqual({ hello: 'from edge-a' });
    const downstream = nextMessage(socket);
    seen.socket.send(JSON.stringify({ hello: 'from cloud' }));
    expect(await downstream).toEqual({ hello: 'from cloud' });
    expect(cloud.stream.connectionCount()).toBe(1);
  });
});

describe('the TLS handshake refuses', () => {
  it('a node certificate signed by another CA: no open, and the stream never hears of it', async () => {
    const other = await startTestCloud();
    cleanups.push(() => other.close());
    const foreign = await other.pki.issueClientCertificate('system:node:edge-a', ['system:nodes'], 1);
    const result = await connectMtlsStream({
      cloudUrl: cloud.stream.url,
      credentials: { nodeName: 'edge-a', caPem: cloud.pki.caPem, certPem: foreign.certPem, keyPem: foreign.keyPem },
    });
    expect(result.ok ? 'open' : result.error.kind).toBe('ConnectFailed');
    expect(result.ok ? '' : result.error.message).toContain('it likely does not accept this node certificate');
    expect(cloud.connections.all).toEqual([]);
  });

  it('a client without any certificate', async () => {
    const socket = new WebSocket(streamUrl(cloud.stream.url, DEFAULT_PROJECT_ID, 'edge-a'), { ca: cloud.pki.caPem, headers: { node_id: 'edge-a', project_id: DEFAULT_PROJECT_ID } });
    const [error] = (await once(socket, 'error').catch((caught: unknown) => [caught])) as [Error];
    expect(error).toBeInstanceOf(Error);
    expect(cloud.connections.all).toEqual([]);
  });

  it('on the edge side, a cloud whose serving certificate is not from the pinned CA', async () => {
    const impostor = await startTestCloud();
    cleanups.push(() => impostor.close());
    const edge = await joinedEdge('edge-a');
    const result = await connectMtlsStream({ cloudUrl: impostor.stream.url, credentials: edge });
    expect(result.ok ? 'open' : result.error.kind).toBe('ConnectFailed');
    expect(result.ok ? '' : result.error.message).toMatch(/self[- ]signed|unable to (get|verify)/i);
    expect(impostor.connections.all).toEqual([]);
  });
});

describe('a certificate for edge-a speaking for edge-b', () => {
  it('in the path is closed with 4403 and a reason naming both nodes', async () => {
    const edge = await joinedEdge('edge-a');
    const client = () => rawClient({ pathNode: 'edge-b', headers: { node_id: 'edge-b', project_id: DEFAULT_PROJECT_ID }, cert: edge.certPem, key: edge.keyPem });
    expect(await refusal(client)).toEqual({ code: 4403, reason: 'path names node "edge-b" but the certificate is for "edge-a"' });
    expect((await cloud.refusals.next()).kind).toBe('Forbidden');
    expect(cloud.connections.all).toEqual([]);
  });

  it('in the node_id header is closed with 4403 and a reason naming both nodes', async () => {
    const edge = await joinedEdge('edge-a');
    const client = () => rawClient({ pathNode: 'edge-a', headers: { node_id: 'edge-b', project_id: DEFAULT_PROJECT_ID }, cert: edge.certPem, key: edge.keyPem });
    expect(await refusal(client)).toEqual({ code: 4403, reason: 'node_id header names "edge-b" but the certificate is for "edge-a"' });
    expect(cloud.connections.all).toEqual([]);
  });

  it('without the node_id header is closed with 4403 saying it is missing', async () => {
    const edge = await joinedEdge('edge-a');
    const client = () => rawClient({ pathNode: 'edge-a', headers: { project_id: DEFAULT_PROJECT_ID }, cert: edge.certPem, key: edge.keyPem });
    expect(await refusal(client)).toEqual({ code: 4403, reason: 'node_id header missing (send node_id and project_id, as EdgeHub does)' });
  });

  it('with a CA-signed certificate that is not a node certificate, 4403 too', async () => {
    const admin = await cloud.pki.issueClientCertificate('admin', ['system:masters'], 1);
    const client = () => rawClient({ pathNode: 'edge-a', headers: { node_id: 'edge-a', project_id: DEFAULT_PROJECT_ID }, cert: admin.certPem, key: admin.keyPem });
    expect(await refusal(client)).toEqual({ code: 4403, reason: 'client certificate CN is not system:node:<nodeName>' });
  });

  it('on a path that is not a stream URL gets HTTP 404 at the upgrade', async () => {
    const edge = await joinedEdge('edge-a');
    const result = await connectMtlsStream({ cloudUrl: `${cloud.stream.url}/extra/segments`, credentials: edge });
    expect(result).toMatchObject({ ok: false, error: { kind: 'UpgradeRefused', status: 404 } });
  });
});

describe('connectionsMax', () => {
  it('closes the connection past the limit with 1013 and admits again once one leaves', async () => {
    await cloud.close();
    cloud = await startTestCloud({ connectionsMax: 2 });
    const edges = await Promise.all(['edge-a', 'edge-b', 'edge-c'].map((name) => joinedEdge(name)));
    const [a, b, c] = edges as unknown as [NodeCredentials, NodeCredentials, NodeCredentials];
    const first = await connected(a);
    const seenFirst = await cloud.connections.next();
    await connected(b);
    await cloud.connections.next();
    expect(await refusal(() => connected(c))).toEqual({ code: CLOSE_TRY_AGAIN_LATER, reason: 'cloud at connectionsMax (2); retry later' });
    expect(cloud.stream.connectionCount()).toBe(2);
    const left = once(seenFirst.socket, 'close');
    first.close(1000, 'bye');
    await left;
    expect(cloud.stream.connectionCount()).toBe(1);
    await connected(c);
    expect((await cloud.connections.next()).nodeName).toBe('edge-c');
    expect(cloud.stream.connectionCount()).toBe(2);
  });
});

describe('certificate rotation', () => {
  it('renews with the current certificate while connected; the old stream keeps working; reconnecting uses the new one', async () => {
    const edge = await joinedEdge('edge-a');
    const oldSocket = await connected(edge);
    const oldSeen = await cloud.connections.next();
    expectOk(await renewNodeCertificate({ cloudUrl: cloud.bootstrap.url, dataDir: edge.dataDir }), 'renewal');
    const renewed = expectOk(await loadNodeCredentials(edge.dataDir), 'credentials');
    expect(new X509Certificate(renewed.certPem).serialNumber).not.toBe(new X509Certificate(edge.certPem).serialNumber);
    // The established TLS session is untouched by the rotation.
    const stillThere = nextMessage(oldSeen.socket);
    oldSocket.send(JSON.stringify({ after: 'rotation' }));
    expect(await stillThere).toEqual({ after: 'rotation' });
    oldSocket.close(1000, 'reconnecting with the new certificate');
    await once(oldSeen.socket, 'close');
    const newSocket = await connected(renewed);
    const newSeen = await cloud.connections.next();
    expect(newSeen.nodeName).toBe('edge-a');
    expect(newSeen.info.certificateNotAfterMs).toBe(renewed.notAfterMs);
    const upstream = nextMessage(newSeen.socket);
    newSocket.send(JSON.stringify({ with: 'new certificate' }));
    expect(await upstream).toEqual({ with: 'new certificate' });
  });
});

describe('frames checked by the node authorizer', () => {
  // The stream is not built here; this host does what the stream will: authorize each frame
  // against the cloud's view, answer refusals with an error, close 4403 after repeated ones.
  const view: NodeAuthorizationView = {
    podNode: (namespace, name) => new Map([['default/web-a', 'edge-a'], ['default/web-b', 'edge-b']]).get(`${namespace}/${name}`),
    deviceNode: () => undefined,
    configMapReferencedBy: () => false,
    secretReferencedBy: () => false,
  };
  const limits = { violationsMax: 3, windowMs: 60_000 };

  function authorizeFrames(seen: SeenConnection): void {
    let window: ViolationWindow = emptyViolationWindow;
    let monotonicMs = 0;
    seen.socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { route: { resource: string; operation: string } };
      const resource = parseWireResource(frame.route.resource);
      if (!resource.ok) throw new Error('test frames carry valid resources');
      const decision = authorizeEdgeFrame(seen.nodeName, resource.value, frame.route.operation, view);
      if (decision.ok) {
        seen.socket.send(JSON.stringify({ accepted: frame.route.resource }));
        return;
      }
      seen.socket.send(JSON.stringify({ refused: decision.error.kind, reason: decision.error.reason }));
      monotonicMs += 1;
      const next = recordViolation(window, monotonicMs, limits);
      window = next.window;
      if (next.verdict.action === 'close') seen.socket.close(next.verdict.code, next.verdict.reason);
    });
  }

  it('refuses edge-a writing edge-b\'s pod, accepts its own, and closes 4403 after repeated violations', async () => {
    const edge = await joinedEdge('edge-a');
    const socket = await connected(edge);
    authorizeFrames(await cloud.connections.next());
    const send = async (resource: string): Promise<unknown> => {
      const answer = nextMessage(socket);
      socket.send(JSON.stringify({ route: { resource, operation: 'patch' } }));
      return answer;
    };
    expect(await send('default/podpatch/web-a')).toEqual({ accepted: 'default/podpatch/web-a' });
    expect(await send('default/podpatch/web-b')).toEqual({ refused: 'PodNotBound', reason: 'pod default/web-b is bound to another node, not to "edge-a"' });
    expect(await send('null/nodepatch/edge-b')).toEqual({ refused: 'OtherNode', reason: 'node "edge-a" may not act on node "edge-b"' });
    const closed = closeOf(socket);
    expect(await send('default/podpatch/web-b')).toMatchObject({ refused: 'PodNotBound' });
    expect(await closed).toEqual({ code: 4403, reason: '3 authorization violations within 60 s' });
  });
});
