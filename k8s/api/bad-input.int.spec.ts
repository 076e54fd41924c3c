// What the embedded API server answers to bad requests. Method: given a server on a loopback HTTPS
// port (temp data dir), when a raw request (node:https, trusting the kubeconfig's CA) is wrong in
// one way, then the HTTP status and the Status body's `reason` are those kube-apiserver v1.32
// returns, the body is a `kind: Status` failure whose `code` is the HTTP status, and a follow-up
// GET is still served.
import { connect } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedApiServer } from '../embedded-api-server.js';
import { ApiServerFixture, caPemOf, jsonOf, openStream, sendRaw, waitFor, type OpenStream, type RawResponse } from './api-server.testing.js';

const fixture = new ApiServerFixture();
afterEach(() => fixture.teardown());

const configMapsPath = '/api/v1/namespaces/default/configmaps';

const configMapBody = (name: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { mode: 'eco' }, ...extra });

/** The parts of a failure that kubectl and client-go act on, side by side so a diff shows both. */
function failureOf(response: RawResponse): Record<string, unknown> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(response.text) as Record<string, unknown>;
  } catch {
    return { http: response.status, text: response.text.slice(0, 300) };
  }
  return { http: response.status, kind: body['kind'], apiVersion: body['apiVersion'], status: body['status'], code: body['code'], reason: body['reason'] };
}

const failure = (code: number, reason: string): Record<string, unknown> => ({ http: code, kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });

const messageOf = (response: RawResponse): string => String(jsonOf(response)['message']);

async function expectStillServing(server: EmbeddedApiServer): Promise<void> {
  const response = await sendRaw(server, { method: 'GET', path: configMapsPath });
  expect(response.status).toBe(200);
  expect(jsonOf(response)).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1' });
}

async function createOrFail(server: EmbeddedApiServer, path: string, body: string): Promise<Record<string, unknown>> {
  const created = await sendRaw(server, { method: 'POST', path, body });
  if (created.status !== 201) throw new Error(`expected 201 creating at ${path}, got ${created.status}: ${created.text}`);
  return jsonOf(created);
}

describe('given a running server', () => {
  let server: EmbeddedApiServer;
  beforeEach(async () => {
    server = await fixture.start();
  });

  describe('when the request carries no valid token', () => {
    it('no Authorization header is 401 Unauthorized', async () => {
      const response = await sendRaw(server, { method: 'GET', path: configMapsPath, token: null });
      expect(failureOf(response)).toEqual(failure(401, 'Unauthorized'));
      await expectStillServing(server);
    });

    it('a wrong bearer token is 401 Unauthorized', async () => {
      const response = await sendRaw(server, { method: 'GET', path: configMapsPath, token: `${server.token}x` });
      expect(failureOf(response)).toEqual(failure(401, 'Unauthorized'));
      await expectStillServing(server);
    });
  });

  describe('when the body cannot be decoded', () => {
    it('malformed JSON on POST is 400 BadRequest', async () => {
      const response = await sendRaw(server, { method: 'POST', path: configMapsPath, body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":' });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      await expectStillServing(server);
    });

    it('YAML with a syntax error sent to server-side apply is 400 BadRequest', async () => {
      const response = await sendRaw(server, {
        method: 'PATCH',
        path: `${configMapsPath}/x?fieldManager=spec`,
        contentType: 'application/apply-patch+yaml',
        body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\ndata: [unclosed\n',
      });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      await expectStillServing(server);
    });

    it('a Deployment posted to the pods URL is 400 BadRequest', async () => {
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } } };
      const response = await sendRaw(server, { method: 'POST', path: '/api/v1/namespaces/default/pods', body: JSON.stringify(deployment) });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      await expectStillServing(server);
    });

    it('a ConfigMap claiming apiVersion apps/v1 is 400 BadRequest', async () => {
      const response = await sendRaw(server, { method: 'POST', path: configMapsPath, body: configMapBody('x', { apiVersion: 'apps/v1' }) });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      await expectStillServing(server);
    });
  });

  describe('when the object or the URL is wrong', () => {
    it('a 254-character ConfigMap name is 422 Invalid on metadata.name', async () => {
      const name = 'a'.repeat(254);
      const response = await sendRaw(server, { method: 'POST', path: configMapsPath, body: configMapBody(name) });
      expect(failureOf(response)).toEqual(failure(422, 'Invalid'));
      expect(messageOf(response)).toContain('must be no more than 253 characters');
      await expectStillServing(server);
    });

    it('an unknown resource is 404 NotFound', async () => {
      const response = await sendRaw(server, { method: 'GET', path: '/api/v1/namespaces/default/foos' });
      expect(failureOf(response)).toEqual(failure(404, 'NotFound'));
      await expectStillServing(server);
    });

    it('a create in a namespace that does not exist is 404 NotFound naming the namespace', async () => {
      const response = await sendRaw(server, { method: 'POST', path: '/api/v1/namespaces/nope/configmaps', body: configMapBody('x') });
      expect(failureOf(response)).toEqual(failure(404, 'NotFound'));
      expect(messageOf(response)).toBe('namespaces "nope" not found');
      await expectStillServing(server);
    });

    it('deleting namespace default is 403 Forbidden', async () => {
      const response = await sendRaw(server, { method: 'DELETE', path: '/api/v1/namespaces/default' });
      expect(failureOf(response)).toEqual(failure(403, 'Forbidden'));
      const namespace = await sendRaw(server, { method: 'GET', path: '/api/v1/namespaces/default' });
      expect(namespace.status).toBe(200);
      await expectStillServing(server);
    });
  });

  describe('when the body is larger than the 3 MiB limit', () => {
    it('is 413 RequestEntityTooLarge and nothing is stored', async () => {
      const body = configMapBody('big', { data: { blob: 'x'.repeat(3 * 1024 * 1024 + 1) } });
      const response = await sendRaw(server, { method: 'POST', path: configMapsPath, body });
      expect(failureOf(response)).toEqual(failure(413, 'RequestEntityTooLarge'));
      const big = await sendRaw(server, { method: 'GET', path: `${configMapsPath}/big` });
      expect(big.status).toBe(404);
      await expectStillServing(server);
    });
  });

  describe('given ConfigMap x, updated once', () => {
    let first: Record<string, unknown>;
    beforeEach(async () => {
      first = await createOrFail(server, configMapsPath, configMapBody('x'));
      const updated = await sendRaw(server, { method: 'PUT', path: `${configMapsPath}/x`, body: JSON.stringify({ ...first, data: { mode: 'turbo' } }) });
      if (updated.status !== 200) throw new Error(`expected the first update to succeed, got ${updated.status}: ${updated.text}`);
    });

    it('an update carrying the first resourceVersion is 409 Conflict with upstream wording', async () => {
      const response = await sendRaw(server, { method: 'PUT', path: `${configMapsPath}/x`, body: JSON.stringify({ ...first, data: { mode: 'off' } }) });
      expect(failureOf(response)).toEqual(failure(409, 'Conflict'));
      expect(messageOf(response)).toBe('Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again');
      await expectStillServing(server);
    });

    it('creating x again is 409 AlreadyExists', async () => {
      const response = await sendRaw(server, { method: 'POST', path: configMapsPath, body: configMapBody('x') });
      expect(failureOf(response)).toEqual(failure(409, 'AlreadyExists'));
      expect(messageOf(response)).toBe('configmaps "x" already exists');
      await expectStillServing(server);
    });

    it('a patch in an unsupported content type is 415 UnsupportedMediaType', async () => {
      const response = await sendRaw(server, { method: 'PATCH', path: `${configMapsPath}/x`, contentType: 'text/plain', body: 'mode=off' });
      expect(failureOf(response)).toEqual(failure(415, 'UnsupportedMediaType'));
      await expectStillServing(server);
    });
  });

  describe('given a CRD and one custom resource', () => {
    const widgetsPath = '/apis/test.edgehive.io/v1/namespaces/default/widgets';
    beforeEach(async () => {
      await createOrFail(
        server,
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        JSON.stringify({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'widgets.test.edgehive.io' },
          spec: {
            group: 'test.edgehive.io',
            scope: 'Namespaced',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
          },
        }),
      );
      await createOrFail(server, widgetsPath, JSON.stringify({ apiVersion: 'test.edgehive.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } }));
    });

    it('a strategic merge patch on it is 415 UnsupportedMediaType', async () => {
      const response = await sendRaw(server, { method: 'PATCH', path: `${widgetsPath}/w`, contentType: 'application/strategic-merge-patch+json', body: JSON.stringify({ spec: { size: 2 } }) });
      expect(failureOf(response)).toEqual(failure(415, 'UnsupportedMediaType'));
      await expectStillServing(server);
    });
  });

  describe('when a list has a bad selector', () => {
    it('a field selector on a field ConfigMaps do not have is 400 BadRequest, field label not supported', async () => {
      const response = await sendRaw(server, { method: 'GET', path: `${configMapsPath}?fieldSelector=${encodeURIComponent('spec.nodeName=edge-1')}` });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      expect(messageOf(response)).toContain('field label not supported');
      await expectStillServing(server);
    });

    it('a label selector that does not parse is 400 BadRequest', async () => {
      const response = await sendRaw(server, { method: 'GET', path: `${configMapsPath}?labelSelector=${encodeURIComponent('app in (web')}` });
      expect(failureOf(response)).toEqual(failure(400, 'BadRequest'));
      await expectStillServing(server);
    });
  });

  describe('when many clients send malformed bodies at once', () => {
    it('every one gets 400 while another client creates, reads and lists', async () => {
      const storm = Array.from({ length: 200 }, (_, i) => sendRaw(server, { method: 'POST', path: configMapsPath, body: `{"kind":"ConfigMap","metadata":{"name":"s${i}"` }));
      const garbage = Array.from({ length: 20 }, () => sendGarbageHttp(server));
      const work = (async (): Promise<number[]> => {
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) {
          statuses.push((await sendRaw(server, { method: 'POST', path: configMapsPath, body: configMapBody(`good-${i}`) })).status);
          statuses.push((await sendRaw(server, { method: 'GET', path: `${configMapsPath}/good-${i}` })).status);
        }
        return statuses;
      })();
      const [stormResults, goodStatuses] = await Promise.all([Promise.all(storm), work, Promise.all(garbage)]);
      expect(new Set(stormResults.map((r) => failureOf(r)['reason']))).toEqual(new Set(['BadRequest']));
      expect(goodStatuses).toEqual(Array.from({ length: 10 }, () => [201, 200]).flat());
      const list = jsonOf(await sendRaw(server, { method: 'GET', path: configMapsPath })) as { items: { metadata: { name: string } }[] };
      expect(list.items.map((i) => i.metadata.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `good-${i}`).sort());
    });
  });
});

/** Sends bytes that are not HTTP over TLS and resolves when the server hangs up. */
function sendGarbageHttp(server: EmbeddedApiServer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: caPemOf(server), servername: 'localhost' }, () => {
      socket.end('NOT HTTP AT ALL \u0000\u0001\r\n\r\n');
    });
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('given historyMax 10 and more than 100 writes since resourceVersion 1', () => {
  let server: EmbeddedApiServer;
  beforeEach(async () => {
    server = await fixture.start({ historyMax: 10 });
    await createOrFail(server, configMapsPath, configMapBody('churn'));
    for (let n = 0; n < 110; n++) {
      const patched = await sendRaw(server, { method: 'PATCH', path: `${configMapsPath}/churn`, contentType: 'application/merge-patch+json', body: JSON.stringify({ data: { n: String(n) } }) });
      if (patched.status !== 200) throw new Error(`expected write ${n} to succeed, got ${patched.status}: ${patched.text}`);
    }
  });

  it('a watch from resourceVersion 1 is 200 with one ERROR event carrying a 410 Expired Status, then ends', async () => {
    const watch = await openStream(server, `${configMapsPath}?watch=true&resourceVersion=1`);
    try {
      expect(watch.status).toBe(200);
      const first = await waitFor('the first watch event', () => (watch.text().includes('\n') ? watch.text() : undefined), 5_000);
      const event = JSON.parse(first.split('\n')[0] ?? '{}') as { type: string; object: Record<string, unknown> };
      expect(event.type).toBe('ERROR');
      expect(event.object).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' });
      expect(String(event.object['message'])).toMatch(/^too old resource version: 1 \(\d+\)$/);
      const body = await waitFor('the server to end the watch after its ERROR event', () => watch.endedBody(), 5_000);
      expect(body.split('\n').filter((line) => line.trim() !== '')).toHaveLength(1);
    } finally {
      watch.close();
    }
    await expectStillServing(server);
  });
});

describe('given watchesPerClientMax 2 and two open watches', () => {
  let server: EmbeddedApiServer;
  const watches: OpenStream[] = [];
  beforeEach(async () => {
    server = await fixture.start({ watchesPerClientMax: 2 });
    for (let i = 0; i < 2; i++) {
      const watch = await openStream(server, `${configMapsPath}?watch=true`);
      if (watch.status !== 200) throw new Error(`expected watch ${i} to open, got ${watch.status}`);
      watches.push(watch);
    }
  });
  afterEach(() => {
    for (const watch of watches.splice(0)) watch.close();
  });

  it('a third is 429 TooManyRequests, and one is allowed again after a watch closes', async () => {
    const third = await openStream(server, `${configMapsPath}?watch=true`);
    const body = await waitFor('the 429 reply to end', () => third.endedBody());
    expect(failureOf({ status: third.status, headers: third.headers, text: body })).toEqual(failure(429, 'TooManyRequests'));
    await expectStillServing(server);

    watches.shift()?.close();
    const reopened = await waitFor('a watch slot to free up', async () => {
      const attempt = await openStream(server, `${configMapsPath}?watch=true`);
      if (attempt.status === 200) return attempt;
      attempt.close();
      return undefined;
    });
    watches.push(reopened);
    expect(reopened.status).toBe(200);
  });
});
