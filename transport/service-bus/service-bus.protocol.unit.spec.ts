// The service bus's content and its decisions. Method: KubeEdge's HTTPRequest/HTTPResponse shapes
// round-tripped, each malformed field refused with the failure it must name, headers filtered as a
// proxy must, and every stream answer mapped to the HTTP status the caller gets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation, err, ok } from '../../kernel/index.js';
import { nodeProxyHandler, outcomeOf, resourceOf } from './service-bus.cloud.js';
import { serviceBusResponder } from './service-bus.edge.js';
import { queryFrame } from '../frames/frame.js';
import {
  answerContent,
  answerOf,
  callContent,
  callOf,
  SERVICE_BUS_BODY_BYTES_CEILING,
  canonicalHeaderName,
  failureOfText,
  failureText,
  forwardedHeaders,
  type ServiceBusFailureKind,
} from './service-bus.protocol.js';

const limit = 16;

describe('call content (HTTPRequest)', () => {
  it('round-trips method, url with query, headers and a binary body', () => {
    const call = { method: 'POST', url: '/temp?unit=c', header: { 'Content-Type': ['application/json'], 'X-Trace': ['a', 'b'] }, body: Buffer.from([0, 1, 2, 255]) };
    const content = callContent(call);
    expect(content).toEqual({ header: { 'Content-Type': ['application/json'], 'X-Trace': ['a', 'b'] }, body: 'AAEC/w==', method: 'POST', url: '/temp?unit=c' });
    expect(callOf(content, '/temp', limit)).toEqual(ok(call));
  });

  it('round-trips any body up to the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: limit }), (bytes) => {
        const call = { method: 'PUT', url: '/x', header: {}, body: Buffer.from(bytes) };
        expect(callOf(callContent(call), '/x', limit)).toEqual(ok(call));
      }),
    );
  });

  it.each<[string, unknown, ServiceBusFailureKind, string]>([
    ['not an object', 'GET /', 'BadRequest', 'must be an object'],
    ['a method with a space', { method: 'GE T', url: '/x' }, 'BadRequest', 'method must be an HTTP method token'],
    ['CONNECT', { method: 'CONNECT', url: '/x' }, 'BadRequest', 'CONNECT is not served'],
    ['a url for another path', { method: 'GET', url: '/y' }, 'BadRequest', 'url must be /x'],
    ['a url that only starts like the path', { method: 'GET', url: '/xy' }, 'BadRequest', 'url must be /x'],
    ['a url with a fragment', { method: 'GET', url: '/x?a#b' }, 'BadRequest', 'url must be /x'],
    ['a header that is not an array', { method: 'GET', url: '/x', header: { Accept: 'text/plain' } }, 'BadRequest', 'header Accept must be an array'],
    ['a header value with CR LF', { method: 'GET', url: '/x', header: { Accept: ['a\r\nX-Evil: 1'] } }, 'BadRequest', 'without CR, LF or NUL'],
    ['a header name that is not a token', { method: 'GET', url: '/x', header: { 'Bad Name': ['1'] } }, 'BadRequest', 'not an HTTP token'],
    ['too many header lines', { method: 'GET', url: '/x', header: { A: Array.from({ length: 257 }, () => 'v') } }, 'BadRequest', 'headers exceed 256 lines'],
    ['a body that is not base64', { method: 'POST', url: '/x', body: 'not base64!' }, 'BadRequest', 'body must be base64'],
    ['a body over the limit', { method: 'POST', url: '/x', body: Buffer.alloc(limit + 1).toString('base64') }, 'RequestTooLarge', `limit of ${limit} bytes`],
  ])('refuses %s', (_, content, kind, words) => {
    const read = callOf(content as never, '/x', limit);
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.error.kind).toBe(kind);
      expect(read.error.message).toContain(words);
    }
  });
});

describe('answer content (HTTPResponse)', () => {
  it('round-trips status, headers and body', () => {
    const answer = { statusCode: 404, header: { 'Content-Type': ['text/plain'] }, body: Buffer.from('no such sensor') };
    expect(answerContent(answer)).toEqual({ header: { 'Content-Type': ['text/plain'] }, status_code: 404, body: Buffer.from('no such sensor').toString('base64') });
    expect(answerOf(answerContent(answer), limit)).toEqual(ok(answer));
  });

  it('refuses a status outside 200-599 and a body over the limit', () => {
    expect(answerOf({ status_code: 101, header: {}, body: '' }, limit)).toMatchObject({ ok: false, error: { kind: 'AppFailed' } });
    expect(answerOf({ status_code: 600, header: {}, body: '' }, limit)).toMatchObject({ ok: false, error: { kind: 'AppFailed' } });
    expect(answerOf({ status_code: 200, header: {}, body: Buffer.alloc(limit + 1).toString('base64') }, limit)).toMatchObject({ ok: false, error: { kind: 'ResponseTooLarge' } });
  });
});

describe('forwardedHeaders', () => {
  it('drops hop-by-hop headers, those Connection names, host, length and the API credentials, and canonicalises names', () => {
    const raw = ['host', 'x', 'connection', 'keep-alive, X-Hop', 'keep-alive', 'timeout=5', 'x-hop', '1', 'transfer-encoding', 'chunked', 'content-length', '3', 'authorization', 'Bearer secret', 'upgrade', 'h2c', 'accept', 'a', 'ACCEPT', 'b', 'x-request-id', '7'];
    expect(forwardedHeaders(raw)).toEqual({ Accept: ['a', 'b'], 'X-Request-Id': ['7'] });
  });

  it('writes names as Go canonicalises them', () => {
    expect(canonicalHeaderName('content-type')).toBe('Content-Type');
    expect(canonicalHeaderName('X-REQUEST-ID')).toBe('X-Request-Id');
  });
});

describe('failure texts', () => {
  it('read back to the failure that was written', () => {
    const failure = { kind: 'AppTimedOut', message: 'no answer: within 10000 ms' } as const;
    expect(failureText(failure)).toBe('servicebus AppTimedOut: no answer: within 10000 ms');
    expect(failureOfText(failureText(failure))).toEqual(failure);
  });

  it('are not confused with other refusals', () => {
    expect(failureOfText('edge edge-1 answers no queries')).toBeUndefined();
    expect(failureOfText('servicebus Unheard: x')).toBeUndefined();
  });
});

describe('the cloud: resourceOf', () => {
  it('names the service-bus target for a proxy path', () => {
    expect(resourceOf({ node: 'edge-1', port: 8080, path: '/temp', query: 'unit=c' })).toEqual(ok({ kind: 'serviceBus', port: 8080, path: '/temp' }));
  });

  it('refuses a bad node name or path with 400 and an overlong path with 414', () => {
    expect(resourceOf({ node: 'Edge_1', port: 8080, path: '/temp', query: '' })).toMatchObject({ ok: false, error: { code: 400 } });
    expect(resourceOf({ node: 'edge-1', port: 8080, path: '/a b', query: '' })).toMatchObject({ ok: false, error: { code: 400 } });
    expect(resourceOf({ node: 'edge-1', port: 8080, path: '/x', query: 'a b' })).toMatchObject({ ok: false, error: { code: 400 } });
    expect(resourceOf({ node: 'edge-1', port: 8080, path: `/${'a'.repeat(600)}`, query: '' })).toMatchObject({ ok: false, error: { code: 414 } });
    expect(resourceOf({ node: 'edge-1', port: 8080, path: '/x', query: 'q'.repeat(9000) })).toMatchObject({ ok: false, error: { code: 414 } });
  });
});

describe('the cloud: outcomeOf', () => {
  const limits = { bodyBytesMax: limit, timeoutMs: 15_000 };
  const refused = (message: string) => err({ kind: 'QueryRefused' as const, message });

  it('passes the app answer through, 404 included', () => {
    const answer = { statusCode: 404, header: {}, body: Buffer.from('nope') };
    expect(outcomeOf('edge-1', ok(answerContent(answer)), limits)).toEqual({ kind: 'answer', answer });
  });

  it.each<[string, Parameters<typeof outcomeOf>[1], number, string]>([
    ['the app timed out', refused('servicebus AppTimedOut: no answer within 10000 ms'), 504, 'node edge-1: no answer within 10000 ms'],
    ['the app refused the connection', refused('servicebus AppUnreachable: connection refused'), 502, 'node edge-1: connection refused'],
    ['the request was too large for the edge', refused('servicebus RequestTooLarge: the request body exceeds'), 413, 'exceeds'],
    ['the response was too large', refused('servicebus ResponseTooLarge: the response body exceeds'), 413, 'exceeds'],
    ['the port is closed to the bus', refused('servicebus PortNotAllowed: port 22 is not open'), 403, 'port 22'],
    ['the node never connected', refused('node edge-1 never connected to this cloud'), 503, 'node edge-1 is not connected'],
    ['the edge serves no service bus', refused('edge edge-1 answers no queries'), 502, 'answers no queries'],
    ['the stream gave no answer', err({ kind: 'QueryTimedOut' as const, timeoutMs: 15_000, message: 'x' }), 504, 'within 15000 ms'],
    ['the hub stopped', err({ kind: 'StreamStopped' as const, message: 'the cloud hub stopped' }), 503, 'node edge-1 is not connected'],
    ['too many calls wait', err({ kind: 'QueriesPendingMax' as const, pendingMax: 256, message: '256 queries' }), 429, 'retry later'],
    ['the edge answered nonsense', ok('hello'), 502, 'node edge-1'],
  ])('answers %s with its status', (_, answered, code, words) => {
    const outcome = outcomeOf('edge-1', answered, limits);
    expect(outcome.kind).toBe('status');
    if (outcome.kind === 'status') {
      expect(outcome.code).toBe(code);
      expect(outcome.message).toContain(words);
    }
  });
});

describe('limits', () => {
  it('a body at the ceiling, as base64 with full headers, fits the default 4 MiB frame', () => {
    expect((SERVICE_BUS_BODY_BYTES_CEILING * 4) / 3 + 2 * 64 * 1024 + 8 * 1024 + 2048).toBeLessThan(4 * 1024 * 1024);
  });

  it('neither end accepts a body limit above the ceiling', () => {
    expect(() => serviceBusResponder({ bodyBytesMax: SERVICE_BUS_BODY_BYTES_CEILING + 1 })).toThrow(InvariantViolation);
    expect(() => nodeProxyHandler({ request: () => Promise.resolve(ok(null)) }, { bodyBytesMax: SERVICE_BUS_BODY_BYTES_CEILING + 1 })).toThrow(InvariantViolation);
    expect(() => serviceBusResponder({ bodyBytesMax: SERVICE_BUS_BODY_BYTES_CEILING })).not.toThrow();
  });
});

describe('the edge: serviceBusResponder', () => {
  it('answers only service-bus queries; any other resource gets "edge answers no <resource> queries"', async () => {
    const query = queryFrame({ msgId: 'm-1', timestampMs: 1 }, { source: 'cloudhub', group: 'resource', resource: { kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' }, content: null });
    expect(await serviceBusResponder()(query)).toEqual(err('edge answers no default/configmap/app-cfg queries'));
  });

  it('refuses a malformed call without calling anything, naming the cause', async () => {
    const query = queryFrame({ msgId: 'm-1', timestampMs: 1 }, { source: 'router_servicebus', group: 'user', resource: { kind: 'serviceBus', port: 8080, path: '/temp' }, content: { method: 'GET', url: '/other' } });
    expect(await serviceBusResponder()(query)).toEqual(err('servicebus BadRequest: url must be /temp, optionally followed by ?query, at most 8192 characters'));
  });
});
