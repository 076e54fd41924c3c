// The service bus over real sockets in one process. Method: a CloudHub and EdgeHubs linked over
// mTLS, the embedded API server with the node proxy handler, and a real echo app on 127.0.0.1;
// each call goes in through HTTPS with the admin bearer token, as curl would send it, and the spec
// checks what the app saw and what the caller got back.
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caPemOf } from '../../k8s/api/api-server.testing.js';
import { outcomeOf } from './service-bus.cloud.js';
import { SERVICE_BUS_BODY_BYTES_MAX_DEFAULT, SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT } from './service-bus.protocol.js';
import { closedPort, startServiceBusRig, type Echo, type ServiceBusRig } from './service-bus.testing.js';
import { until } from '../stream/stream.testing.js';

/** The edge-1 app timeout in these specs: short, so the timeout spec does not wait 10 s. */
const EDGE_TIMEOUT_MS = 800;
/** edge-2's smaller body limit, below the cloud's default, so the edge's own refusal shows. */
const EDGE_2_BODY_BYTES_MAX = 64 * 1024;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

let rig: ServiceBusRig;

/** One HTTPS call to the API server, trusting its CA, with the bearer token unless `token` is null. */
function call(method: string, path: string, options: { body?: Buffer | string; headers?: Record<string, string>; token?: string | null; chunked?: boolean } = {}): Promise<Reply> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== null) headers['Authorization'] = `Bearer ${options.token ?? rig.api.token}`;
  if (body !== undefined && options.chunked !== true) headers['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(new URL(path, rig.api.url), { method, headers, ca: caPemOf(rig.api), agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    // A refused oversized body may cut the upload short once the answer is in: that is not a failure.
    request.on('error', reject);
    request.end(body);
  });
}

const proxy = (node: string, port: number, rest: string): string => `/api/v1/nodes/${node}:${port}/proxy${rest}`;
const echoOf = (reply: Reply): Echo => JSON.parse(reply.body.toString('utf8')) as Echo;
const statusOf = (reply: Reply): { kind: string; code: number; reason: string; message: string } => JSON.parse(reply.body.toString('utf8')) as never;

beforeAll(async () => {
  rig = await startServiceBusRig();
  await rig.linkEdge('edge-1', { timeoutMs: EDGE_TIMEOUT_MS });
  await rig.linkEdge('edge-2', { bodyBytesMax: EDGE_2_BODY_BYTES_MAX, allowedPorts: (port) => port < 1024 });
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

describe('calls reach the app on the edge and its answer comes back', () => {
  it('GET with a query string: the app sees path and query, the caller gets its JSON and headers', async () => {
    const reply = await call('GET', proxy('edge-1', rig.app.port, '/temperature?unit=c&room=2'), { headers: { Accept: 'application/json', 'X-Request-Id': 'r-42' } });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['x-app']).toBe('thermo');
    const echo = echoOf(reply);
    expect(echo.method).toBe('GET');
    expect(echo.url).toBe('/temperature?unit=c&room=2');
    expect(echo.headers['x-request-id']).toBe('r-42');
    expect(echo.headers['accept']).toBe('application/json');
  });

  it('POST with a body: the app gets the body and content type, its 201 comes back', async () => {
    const reply = await call('POST', proxy('edge-1', rig.app.port, '/readings'), { body: '{"t":21.5}', headers: { 'Content-Type': 'application/json' } });
    expect(reply.status).toBe(201);
    const echo = echoOf(reply);
    expect(echo).toMatchObject({ method: 'POST', url: '/readings', body: '{"t":21.5}' });
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['content-length']).toBe('10');
  });

  it('PUT and DELETE pass their method through, the path ending at /proxy is /', async () => {
    expect(echoOf(await call('PUT', proxy('edge-1', rig.app.port, '/setpoint'), { body: '22' }))).toMatchObject({ method: 'PUT', url: '/setpoint', body: '22' });
    expect(echoOf(await call('DELETE', proxy('edge-1', rig.app.port, '')))).toMatchObject({ method: 'DELETE', url: '/' });
  });

  it('the app never sees the API credentials, the caller\'s hop-by-hop headers, or the edge-side host', async () => {
    const echo = echoOf(await call('GET', proxy('edge-1', rig.app.port, '/x'), { headers: { 'X-Hop': '1', Connection: 'X-Hop' } }));
    expect(echo.headers['authorization']).toBeUndefined();
    expect(echo.headers['x-hop']).toBeUndefined();
    expect(echo.headers['host']).toBe(`127.0.0.1:${rig.app.port}`);
  });

  it('the app\'s hop-by-hop headers stay at the edge', async () => {
    const reply = await call('GET', proxy('edge-1', rig.app.port, '/x'));
    expect(reply.headers['keep-alive']).toBeUndefined();
  });

  it('a 404 from the app stays a 404, with its body', async () => {
    const reply = await call('GET', proxy('edge-1', rig.app.port, '/missing'));
    expect(reply.status).toBe(404);
    expect(reply.body.toString('utf8')).toBe('no such sensor');
  });

  it('a body of exactly the default limit (2 MiB) crosses both ways within one frame', async () => {
    const body = Buffer.alloc(SERVICE_BUS_BODY_BYTES_MAX_DEFAULT, 0x62);
    const reply = await call('POST', proxy('edge-1', rig.app.port, '/bulk'), { body });
    expect(reply.status).toBe(201);
    expect(echoOf(reply).bodyBytes).toBe(SERVICE_BUS_BODY_BYTES_MAX_DEFAULT);
    const big = await call('GET', proxy('edge-1', rig.app.port, `/big?bytes=${SERVICE_BUS_BODY_BYTES_MAX_DEFAULT}`));
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(SERVICE_BUS_BODY_BYTES_MAX_DEFAULT);
  });

  it('a node is asked through its own stream: edge-2 applies its own port rule', async () => {
    const viaEdge1 = await call('GET', proxy('edge-1', rig.app.port, '/x'));
    const viaEdge2 = await call('GET', proxy('edge-2', rig.app.port, '/x'));
    expect(viaEdge1.status).toBe(200);
    expect(viaEdge2.status).toBe(403);
    expect(statusOf(viaEdge2).message).toBe(`node edge-2: port ${rig.app.port} is not open to the service bus on this edge`);
  });
});

describe('failures are Kubernetes Status answers naming the cause', () => {
  it('an app that does not answer in time: 504 Gateway Timeout', async () => {
    const started = performance.now();
    const reply = await call('GET', proxy('edge-1', rig.app.port, '/slow'));
    expect(reply.status).toBe(504);
    expect(statusOf(reply)).toMatchObject({ kind: 'Status', code: 504, reason: 'Timeout' });
    expect(statusOf(reply).message).toContain(`gave no complete answer to GET /slow within ${EDGE_TIMEOUT_MS} ms`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(EDGE_TIMEOUT_MS - 50);
  });

  it('a port nothing listens on: 502 Bad Gateway with the reason', async () => {
    const port = await closedPort();
    const reply = await call('GET', proxy('edge-1', port, '/x'));
    expect(reply.status).toBe(502);
    expect(statusOf(reply)).toMatchObject({ code: 502, reason: 'BadGateway', message: `node edge-1: connection refused: nothing listens on 127.0.0.1:${port} at the edge` });
  });

  it('a request body over the cloud limit: 413 before anything is sent', async () => {
    const reply = await call('POST', proxy('edge-1', rig.app.port, '/bulk'), { body: Buffer.alloc(SERVICE_BUS_BODY_BYTES_MAX_DEFAULT + 1) });
    expect(reply.status).toBe(413);
    expect(statusOf(reply)).toMatchObject({ reason: 'RequestEntityTooLarge', message: `the request body exceeds the service bus limit of ${SERVICE_BUS_BODY_BYTES_MAX_DEFAULT} bytes` });
  });

  it('a chunked request body (no Content-Length) over the cloud limit: 413 too, counted as it arrives', async () => {
    const reply = await call('POST', proxy('edge-1', rig.app.port, '/bulk'), { body: Buffer.alloc(SERVICE_BUS_BODY_BYTES_MAX_DEFAULT + 1), chunked: true });
    expect(reply.status).toBe(413);
    expect(statusOf(reply).reason).toBe('RequestEntityTooLarge');
  });

  it('a chunked request body within the limit arrives whole', async () => {
    const reply = await call('POST', proxy('edge-1', rig.app.port, '/bulk'), { body: 'x'.repeat(5000), chunked: true });
    expect(reply.status).toBe(201);
    expect(echoOf(reply).bodyBytes).toBe(5000);
  });

  it('a request body over the edge limit: 413 naming the edge limit', async () => {
    const reply = await call('POST', proxy('edge-2', 80, '/bulk'), { body: Buffer.alloc(EDGE_2_BODY_BYTES_MAX + 1) });
    expect(reply.status).toBe(413);
    expect(statusOf(reply).message).toBe(`node edge-2: the request body exceeds the service bus limit of ${EDGE_2_BODY_BYTES_MAX} bytes`);
  });

  it('a response body over the limit: 413, and the app\'s bytes are not relayed', async () => {
    const reply = await call('GET', proxy('edge-1', rig.app.port, `/big?bytes=${SERVICE_BUS_BODY_BYTES_MAX_DEFAULT + 1}`));
    expect(reply.status).toBe(413);
    expect(statusOf(reply).message).toBe(`node edge-1: the response body exceeds the service bus limit of ${SERVICE_BUS_BODY_BYTES_MAX_DEFAULT} bytes`);
  });

  it('a node that never connected: 503 at once', async () => {
    const reply = await call('GET', proxy('edge-9', rig.app.port, '/x'));
    expect(reply.status).toBe(503);
    expect(statusOf(reply)).toMatchObject({ reason: 'ServiceUnavailable', message: 'node edge-9 is not connected: its stream is down' });
    // Without a link check, CloudHub's own refusal reads the same way.
    const asked = await rig.cloud.hub.request('edge-9', { source: 'router_servicebus', group: 'user', resource: { kind: 'serviceBus', port: 80, path: '/' }, content: null });
    expect(outcomeOf('edge-9', asked, { bodyBytesMax: 1, timeoutMs: SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT })).toMatchObject({ code: 503, message: 'node edge-9 is not connected: it never connected to this cloud' });
  });

  it('a node whose stream went down: 503 at once', async () => {
    const edge = await rig.linkEdge('edge-3');
    expect((await call('GET', proxy('edge-3', rig.app.port, '/x'))).status).toBe(200);
    await edge.stop();
    await until(() => !rig.isLinked('edge-3'), 'edge-3 unlinked');
    const reply = await call('GET', proxy('edge-3', rig.app.port, '/x'));
    expect(reply.status).toBe(503);
    expect(statusOf(reply).message).toBe('node edge-3 is not connected: its stream is down');
  });

  it('a malformed proxy path: 400 from the API server', async () => {
    const reply = await call('GET', `/api/v1/nodes/edge-1/proxy/x`);
    expect(reply.status).toBe(400);
    expect(statusOf(reply).message).toContain("name the app's port");
  });

  it('no bearer token or a wrong one: 401', async () => {
    const reply = await call('GET', proxy('edge-1', rig.app.port, '/x'), { token: null });
    expect(reply.status).toBe(401);
    expect((await call('GET', proxy('edge-1', rig.app.port, '/x'), { token: 'wrong' })).status).toBe(401);
  });
});
