// The cloud Router against the embedded API server started in-process, through client-node, with a
// real local HTTP target and a real router listener. Method: given RuleEndpoints and Rules applied as
// a user would (the CRDs bundled by the server), when uploads are performed as the cloud hub hands
// them out and REST calls are made on the router URL, then the target receives the POSTs in order
// with their bodies, failing targets are retried within bounds and counted, the edge is asked to
// publish on the Rule's topic, and every outcome lands in the Rule's status.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { until } from '../../transport/mqtt/mqtt.testing.js';
import { decodePayload, uploadEventOf, type QueryError, type QueryRequest } from '../../transport/index.js';
import { CloudRouter } from './cloud-router.js';
import { DELIVERY_ATTEMPTS_MAX } from './router-effects.js';

const fixture = new ApiServerFixture();
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fixture.teardown();
});

const group = 'rules.kubeedge.io';
const version = 'v1';
const namespace = 'default';
const log = { info: () => undefined, warn: () => undefined };

interface Received {
  readonly path: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

/** A local HTTP target answering each POST with the next status of `statuses` (the last one repeats). */
async function target(statuses: readonly number[] = [200]): Promise<{ readonly url: string; readonly received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
      response.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

interface World {
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly router: CloudRouter;
  readonly asked: Array<{ node: string; request: QueryRequest }>;
}

async function world(answer: (node: string, request: QueryRequest) => Result<JsonValue, QueryError> = () => ok({ published: true })): Promise<World> {
  const server = await fixture.start();
  const kc = kubeConfigOf(server);
  const asked: World['asked'] = [];
  const router = new CloudRouter(kc, {
    log,
    deliveryTimeoutMs: 2_000,
    edges: {
      request: (node, request) => {
        asked.push({ node, request });
        return Promise.resolve(answer(node, request));
      },
      isLinked: (node) => node !== 'edge-away',
    },
  });
  cleanups.push(() => router.stop());
  await router.synced();
  return { kc, custom: kc.makeApiClient(CustomObjectsApi), router, asked };
}

async function apply(w: World, plural: 'rules' | 'ruleendpoints', name: string, spec: JsonObject): Promise<void> {
  const kind = plural === 'rules' ? 'Rule' : 'RuleEndpoint';
  await w.custom.createNamespacedCustomObject({ group, version, namespace, plural, body: { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec } });
}

async function eventBusToRest(w: World, url: string): Promise<void> {
  await apply(w, 'ruleendpoints', 'my-eventbus', { ruleEndpointType: 'eventbus', properties: {} });
  await apply(w, 'ruleendpoints', 'my-rest', { ruleEndpointType: 'rest', properties: {} });
  await apply(w, 'rules', 'temperature', { source: 'my-eventbus', sourceResource: { topic: 'temperature', node_name: 'edge-1' }, target: 'my-rest', targetResource: { resource: `${url}/temperature` } });
  await until('the rule to be followed', () => w.router.rules.table().rules.has('default/temperature') && w.router.rules.table().endpoints.size === 2);
}

const upload = (text: string | Buffer, topic = '$hw/events/upload/temperature') => {
  const event = uploadEventOf(topic, typeof text === 'string' ? Buffer.from(text) : text);
  if (!event.ok) throw new Error(event.error);
  return event.value;
};

async function statusOf(w: World, name: string): Promise<JsonObject | undefined> {
  await w.router.statuses.settled();
  const rule = (await w.custom.getNamespacedCustomObject({ group, version, namespace, plural: 'rules', name })) as JsonObject;
  return rule['status'] as JsonObject | undefined;
}

describe('eventbus → rest', () => {
  it('POSTs each upload of the named node and topic to the target, in log order, and counts them in the Rule status', async () => {
    const w = await world();
    const http = await target();
    await eventBusToRest(w, http.url);
    const performed = ['{"t":1}', '{"t":2}', 'plain text'].map((text, i) => w.router.effects.perform('edge-1', 'journal-1', i + 1, upload(text)));
    // Another node, another topic: no Rule routes them.
    await w.router.effects.perform('edge-2', 'journal-2', 1, upload('{"t":9}'));
    await w.router.effects.perform('edge-1', 'journal-1', 4, upload('{"t":9}', '$hw/events/upload/humidity'));
    await Promise.all(performed);
    expect(http.received.map((r) => [r.path, r.body, r.headers['content-type']])).toEqual([
      ['/temperature', '{"t":1}', 'application/json'],
      ['/temperature', '{"t":2}', 'application/json'],
      ['/temperature', 'plain text', 'application/octet-stream'],
    ]);
    expect(http.received[0]!.headers['x-edgehive-upload-id']).toBe('edge-1.journal-1.1');
    expect(http.received[0]!.headers['x-edgehive-topic']).toBe(encodeURIComponent('$hw/events/upload/temperature'));
    expect(await statusOf(w, 'temperature')).toEqual({ successMessages: 3, failMessages: 0, errors: [] });
  });

  it('sends binary payloads as the bytes the app published', async () => {
    const w = await world();
    const chunks: Buffer[] = [];
    const server = createServer((request, response) => {
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await eventBusToRest(w, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    await w.router.effects.perform('edge-1', 'j', 1, upload(bytes));
    expect(Buffer.concat(chunks)).toEqual(bytes);
  });

  it('retries a failing target a bounded number of times, then counts a failure with its reason and moves on', async () => {
    const w = await world();
    const http = await target([503, 503, 503, 200]);
    await eventBusToRest(w, http.url);
    await w.router.effects.perform('edge-1', 'j', 1, upload('first'));
    await w.router.effects.perform('edge-1', 'j', 2, upload('second'));
    expect(http.received.map((r) => r.body)).toEqual([...Array<string>(DELIVERY_ATTEMPTS_MAX).fill('first'), 'second']);
    const status = await statusOf(w, 'temperature');
    expect(status).toMatchObject({ successMessages: 1, failMessages: 1 });
    expect(status?.['errors']).toEqual([`POST ${http.url}/temperature: answered 503`]);
  });

  it('does not retry a 4xx, and counts an unreachable target as a failure', async () => {
    const w = await world();
    const http = await target([400]);
    await eventBusToRest(w, http.url);
    await w.router.effects.perform('edge-1', 'j', 1, upload('refused'));
    expect(http.received).toHaveLength(1);
    await w.custom.patchNamespacedCustomObject({ group, version, namespace, plural: 'rules', name: 'temperature', body: [{ op: 'replace', path: '/spec/targetResource/resource', value: 'http://127.0.0.1:1/none' }] });
    await until('the new target to be followed', () => w.router.rules.table().rules.get('default/temperature')?.targetResource['resource'] === 'http://127.0.0.1:1/none');
    await w.router.effects.perform('edge-1', 'j', 2, upload('lost'));
    expect(await statusOf(w, 'temperature')).toMatchObject({ successMessages: 0, failMessages: 2 });
  });
});

describe('rest → eventbus', () => {
  async function restToEventBus(w: World): Promise<string> {
    await apply(w, 'ruleendpoints', 'my-rest', { ruleEndpointType: 'rest', properties: {} });
    await apply(w, 'ruleendpoints', 'my-eventbus', { ruleEndpointType: 'eventbus', properties: {} });
    await apply(w, 'rules', 'lights', { source: 'my-rest', sourceResource: { path: '/lights' }, target: 'my-eventbus', targetResource: { topic: 'home/lights' } });
    await until('the rule to be followed', () => w.router.rules.table().rules.has('default/lights') && w.router.rules.table().endpoints.size === 2);
    const server = createServer(w.router.restHandler((request) => request.headers.authorization === 'Bearer secret'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const post = (url: string, body: string, token = 'secret') => fetch(url, { method: 'POST', body, headers: { Authorization: `Bearer ${token}` } });

  it('asks the node in the URL to publish the body on the Rule\'s topic (the rest of the path appended), and counts it', async () => {
    const w = await world();
    const router = await restToEventBus(w);
    const answer = await post(`${router}/edge-1/default/lights/hall`, '{"on":true}');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ rule: 'default/lights', node: 'edge-1', topic: 'home/lights/hall', published: true });
    expect(w.asked.map(({ node, request }) => [node, request.source, request.group, request.resource])).toEqual([['edge-1', 'router_eventbus', 'user', { kind: 'eventBus', topic: 'home/lights/hall' }]]);
    expect(decodePayload(w.asked[0]!.request.content, 100)).toEqual(ok(Buffer.from('{"on":true}')));
    expect(await statusOf(w, 'lights')).toEqual({ successMessages: 1, failMessages: 0, errors: [] });
  });

  it('refuses without the token (401), without a Rule (404), for an edge away (503), and counts an edge\'s refusal (502)', async () => {
    const w = await world((node) => (node === 'edge-nobus' ? err({ kind: 'QueryRefused', message: 'not published on home/lights: this edge runs no MQTT broker' }) : ok({ published: true })));
    const router = await restToEventBus(w);
    expect((await post(`${router}/edge-1/default/lights`, 'x', 'wrong')).status).toBe(401);
    expect((await post(`${router}/edge-1/default/heating`, 'x')).status).toBe(404);
    expect((await post(`${router}/edge-1/prod/lights`, 'x')).status).toBe(404);
    expect((await post(`${router}/edge-away/default/lights`, 'x')).status).toBe(503);
    const refused = await post(`${router}/edge-nobus/default/lights`, 'x');
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { message: string }).message).toContain('runs no MQTT broker');
    expect((await fetch(`${router}/edge-1/default/lights`, { headers: { Authorization: 'Bearer secret' } })).status).toBe(405);
    expect(w.asked.map((a) => a.node)).toEqual(['edge-nobus']);
    expect(await statusOf(w, 'lights')).toMatchObject({ successMessages: 0, failMessages: 2 });
  });

  it('refuses a body over the limit with 413 before asking the edge', async () => {
    const w = await world();
    const router = await restToEventBus(w);
    const answer = await post(`${router}/edge-1/default/lights`, 'x'.repeat(64 * 1024 + 1));
    expect(answer.status).toBe(413);
    expect(w.asked).toEqual([]);
  });
});
