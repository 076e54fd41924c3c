// The node proxy path. Method: request targets as kubectl and curl write them, each with the
// target or the refusal it must give; other API paths are not the proxy's.
import { describe, expect, it } from 'vitest';
import { nodeProxyTargetOf, serviceBusUnavailable } from './node-proxy.js';

describe('nodeProxyTargetOf', () => {
  it.each([
    ['/api/v1/nodes/edge-1:8080/proxy/temperature', { node: 'edge-1', port: 8080, path: '/temperature', query: '' }],
    ['/api/v1/nodes/edge-1:8080/proxy/a/b%2Fc?unit=c&x=1', { node: 'edge-1', port: 8080, path: '/a/b%2Fc', query: 'unit=c&x=1' }],
    ['/api/v1/nodes/edge-1:8080/proxy', { node: 'edge-1', port: 8080, path: '/', query: '' }],
    ['/api/v1/nodes/edge-1:8080/proxy/', { node: 'edge-1', port: 8080, path: '/', query: '' }],
    ['/api/v1/nodes/http:edge-1:65535/proxy/x', { node: 'edge-1', port: 65535, path: '/x', query: '' }],
    ['/api/v1/nodes/edge-1%3A8080/proxy/x', { node: 'edge-1', port: 8080, path: '/x', query: '' }],
  ])('reads %s', (url, target) => {
    expect(nodeProxyTargetOf(url)).toEqual({ ok: true, value: target });
  });

  it.each([
    ['/api/v1/nodes/edge-1/proxy/x', "name the app's port"],
    ['/api/v1/nodes/edge-1:0/proxy/x', "name the app's port"],
    ['/api/v1/nodes/edge-1:65536/proxy/x', "name the app's port"],
    ['/api/v1/nodes/edge-1:08080/proxy/x', "name the app's port"],
    ['/api/v1/nodes/edge-1:http/proxy/x', "name the app's port"],
    ['/api/v1/nodes/https:edge-1:443/proxy/x', 'plain http'],
    ['/api/v1/nodes/edge-1%ZZ:80/proxy/x', 'percent-encoding'],
  ])('refuses %s with 400', (url, words) => {
    const read = nodeProxyTargetOf(url);
    expect(read?.ok).toBe(false);
    if (read !== undefined && !read.ok) {
      expect(read.error.code).toBe(400);
      expect(read.error.reason).toBe('BadRequest');
      expect(read.error.message).toContain(words);
    }
  });

  it.each(['/api/v1/nodes/edge-1', '/api/v1/nodes/edge-1/status', '/api/v1/nodes/edge-1:80/proxyx', '/api/v1/namespaces/default/pods/web/proxy/x', '/apis/x/v1/nodes/e:1/proxy/x'])(
    'leaves %s to the API',
    (url) => expect(nodeProxyTargetOf(url)).toBeUndefined(),
  );

  it('says the service bus is not available when the server has none', () => {
    expect(serviceBusUnavailable('edge-1')).toEqual({ code: 503, reason: 'ServiceUnavailable', message: 'the service bus is not available: this API server has no edge stream to reach node edge-1 through' });
  });
});
