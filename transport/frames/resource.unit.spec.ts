// Resource strings. Method: the forms of kubeedge-reference §1.4 as examples, one exact reason per
// malformed shape, and properties: format and parse are inverse on generated resources, and any
// string either fails or parses to the value whose formatting is that very string.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subdomainArbitrary, wireResourceArbitrary } from './frame.arbitraries.testing.js';
import {
  formatWireResource,
  isWellFormedResource,
  isUploadTopic,
  parseUserResource,
  parseWireResource,
  prependNodePrefix,
  stripNodePrefix,
  type WireResource,
} from './resource.js';

describe('parseWireResource', () => {
  it.each<[string, WireResource]>([
    ['default/configmap/app-cfg', { kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' }],
    ['null/node/edge-1', { kind: 'object', namespace: null, type: 'node', name: 'edge-1' }],
    ['null/nodepatch/edge-1', { kind: 'object', namespace: null, type: 'nodepatch', name: 'edge-1' }],
    ['kube-node-lease/lease/edge-1', { kind: 'object', namespace: 'kube-node-lease', type: 'lease', name: 'edge-1' }],
    ['default/event/nginx.17d3a5f2c1', { kind: 'object', namespace: 'default', type: 'event', name: 'nginx.17d3a5f2c1' }],
    ['default/configmap', { kind: 'list', namespace: 'default', type: 'configmap' }],
    ['null/node', { kind: 'list', namespace: null, type: 'node' }],
    ['device/default/thermo-1/twin/edge_updated', { kind: 'deviceEvent', namespace: 'default', name: 'thermo-1', event: 'twin/edge_updated' }],
    ['device/default/thermo-1/state/update', { kind: 'deviceEvent', namespace: 'default', name: 'thermo-1', event: 'state/update' }],
    ['k8s/ca.crt', { kind: 'caCert' }],
    // The type decides the scope: before a namespaced type, "null" is a namespace called null.
    ['null/pod/web', { kind: 'object', namespace: 'null', type: 'pod', name: 'web' }],
    // A namespace may be called "device": three segments are an object, not a device event.
    ['device/device/thermo-1', { kind: 'object', namespace: 'device', type: 'device', name: 'thermo-1' }],
    // Service-bus targets (§1.4's example, without the cloud-internal node/<nodeID>/ prefix).
    ['8080:/api/v1/temp', { kind: 'serviceBus', port: 8080, path: '/api/v1/temp' }],
    ['1:/', { kind: 'serviceBus', port: 1, path: '/' }],
    ["65535:/a%2Fb/c:d@e;f=g,h!i$j&k'l(m)n*o+p~q", { kind: 'serviceBus', port: 65535, path: "/a%2Fb/c:d@e;f=g,h!i$j&k'l(m)n*o+p~q" }],
  ])('parses %s', (text, expected) => {
    expect(parseWireResource(text)).toEqual({ ok: true, value: expected });
    expect(formatWireResource(expected)).toBe(text);
  });

  it.each<[string, string]>([
    ['', 'expected <ns>/<type>/<name>, <ns>/<type> or device/<ns>/<name>/<event>'],
    ['pod', 'expected <ns>/<type>/<name>, <ns>/<type> or device/<ns>/<name>/<event>'],
    ['a/b/c/d', 'expected <ns>/<type>/<name>, <ns>/<type> or device/<ns>/<name>/<event>'],
    ['node/edge-1/default/configmap/app-cfg', 'cloud-internal node/<nodeID>/ prefix is not allowed here'],
    ['node/edge-1/default/configmap', 'cloud-internal node/<nodeID>/ prefix is not allowed here'],
    ['default/widget/x', 'unknown resource type'],
    ['default//x', 'unknown resource type'],
    ['default/Pod/x', 'unknown resource type'],
    ['default/node/edge-1', 'type node is cluster-scoped: namespace must be null'],
    ['kube-system/persistentvolume', 'type persistentvolume is cluster-scoped: namespace must be null'],
    ['Default/pod/x', 'namespace is not a DNS-1123 label'],
    ['/pod/x', 'namespace is not a DNS-1123 label'],
    [`${'a'.repeat(64)}/pod/x`, 'namespace is not a DNS-1123 label'],
    ['default/pod/', 'name is not a DNS-1123 subdomain'],
    ['default/pod/Web', 'name is not a DNS-1123 subdomain'],
    ['default/pod/web..1', 'name is not a DNS-1123 subdomain'],
    ['default/pod/-web', 'name is not a DNS-1123 subdomain'],
    [`default/pod/${'a'.repeat(254)}`, 'name is not a DNS-1123 subdomain'],
    ['device/default/thermo-1/twin/cloud_updated', 'device event must be twin/edge_updated or state/update'],
    ['device/Default/thermo-1/twin/edge_updated', 'device namespace is not a DNS-1123 label'],
    ['device/default/Thermo/twin/edge_updated', 'device name is not a DNS-1123 subdomain'],
    [`default/pod/${'a'.repeat(600)}`, 'longer than 512 characters'],
    ['0:/temp', 'service port must be 1-65535 without leading zeros'],
    ['65536:/temp', 'service port must be 1-65535 without leading zeros'],
    ['08080:/temp', 'service port must be 1-65535 without leading zeros'],
    ['123456:/temp', 'service port must be 1-65535 without leading zeros'],
    ['8080:', 'service path must be an absolute URL path without query or fragment'],
    ['8080:temp', 'service path must be an absolute URL path without query or fragment'],
    ['8080:/temp?unit=c', 'service path must be an absolute URL path without query or fragment'],
    ['8080:/temp#top', 'service path must be an absolute URL path without query or fragment'],
    ['8080:/a b', 'service path must be an absolute URL path without query or fragment'],
    ['8080:/tempé', 'service path must be an absolute URL path without query or fragment'],
    ['8080:/a\nb', 'service path must be an absolute URL path without query or fragment'],
    [`8080:/${'a'.repeat(510)}`, 'longer than 512 characters'],
  ])('refuses %j: %s', (text, reason) => {
    expect(parseWireResource(text)).toEqual({ ok: false, error: { kind: 'ResourceMalformed', resource: text, reason } });
  });

  it('inverts formatWireResource on every well-formed resource', () => {
    fc.assert(
      fc.property(wireResourceArbitrary, (resource) => {
        expect(isWellFormedResource(resource)).toBe(true);
        expect(parseWireResource(formatWireResource(resource))).toEqual({ ok: true, value: resource });
      }),
    );
  });

  it('parses any string to the one value that formats back to it, or refuses it without throwing', () => {
    const pieces = fc.constantFrom('default', 'null', 'pod', 'node', 'device', 'twin', 'edge_updated', 'state', 'update', 'k8s', 'ca.crt', 'x', '', 'A', 'a.b');
    const text = fc.oneof(fc.array(pieces, { maxLength: 6 }).map((p) => p.join('/')), fc.string({ maxLength: 40 }));
    fc.assert(
      fc.property(text, (s) => {
        const parsed = parseWireResource(s);
        if (parsed.ok) expect(formatWireResource(parsed.value)).toBe(s);
        else expect(parsed.error.resource).toBe(s);
      }),
    );
  });
});

describe('isWellFormedResource', () => {
  it('refuses a namespaced type without a namespace and a cluster-scoped type with one', () => {
    expect(isWellFormedResource({ kind: 'object', namespace: null, type: 'pod', name: 'web' })).toBe(false);
    expect(isWellFormedResource({ kind: 'object', namespace: 'default', type: 'node', name: 'edge-1' })).toBe(false);
    expect(isWellFormedResource({ kind: 'list', namespace: null, type: 'secret' })).toBe(false);
    expect(isWellFormedResource({ kind: 'deviceEvent', namespace: 'default', name: 'a/b', event: 'state/update' })).toBe(false);
  });

  it('refuses a service-bus target on a port outside 1-65535 or with a path that is not an absolute URL path', () => {
    expect(isWellFormedResource({ kind: 'serviceBus', port: 8080, path: '/temp' })).toBe(true);
    expect(isWellFormedResource({ kind: 'serviceBus', port: 0, path: '/temp' })).toBe(false);
    expect(isWellFormedResource({ kind: 'serviceBus', port: 80.5, path: '/temp' })).toBe(false);
    expect(isWellFormedResource({ kind: 'serviceBus', port: 70_000, path: '/temp' })).toBe(false);
    expect(isWellFormedResource({ kind: 'serviceBus', port: 8080, path: 'temp' })).toBe(false);
    expect(isWellFormedResource({ kind: 'serviceBus', port: 8080, path: '/temp?x=1' })).toBe(false);
  });
});

describe('the cloud-internal form', () => {
  it('strips node/<nodeID>/ into the node and the wire resource', () => {
    expect(stripNodePrefix('node/edge-1/default/configmap/app-cfg')).toEqual({
      ok: true,
      value: { nodeId: 'edge-1', wire: 'default/configmap/app-cfg', resource: { kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' } },
    });
    expect(stripNodePrefix('node/edge-1/device/default/thermo-1/twin/edge_updated')).toEqual({
      ok: true,
      value: { nodeId: 'edge-1', wire: 'device/default/thermo-1/twin/edge_updated', resource: { kind: 'deviceEvent', namespace: 'default', name: 'thermo-1', event: 'twin/edge_updated' } },
    });
    expect(stripNodePrefix('node/edge-1/8080:/api/v1/temp')).toEqual({
      ok: true,
      value: { nodeId: 'edge-1', wire: '8080:/api/v1/temp', resource: { kind: 'serviceBus', port: 8080, path: '/api/v1/temp' } },
    });
  });

  it('prepends what it strips', () => {
    expect(prependNodePrefix('edge-1', 'null/node/edge-1')).toBe('node/edge-1/null/node/edge-1');
    fc.assert(
      fc.property(subdomainArbitrary, wireResourceArbitrary, (nodeId, resource) => {
        const wire = formatWireResource(resource);
        expect(stripNodePrefix(prependNodePrefix(nodeId, wire))).toEqual({ ok: true, value: { nodeId, wire, resource } });
      }),
    );
  });

  it.each<[string, string]>([
    ['default/configmap/app-cfg', 'cloud-internal resource must start with node/'],
    ['node/edge-1', 'expected node/<nodeID>/<resource>'],
    ['node//default/pod/web', 'node ID is not a DNS-1123 subdomain'],
    ['node/Edge-1/default/pod/web', 'node ID is not a DNS-1123 subdomain'],
    ['node/edge-1/default/widget/x', 'unknown resource type'],
    ['node/edge-1/node/edge-2/default/pod/web', 'cloud-internal node/<nodeID>/ prefix is not allowed here'],
  ])('refuses %j: %s', (text, reason) => {
    expect(stripNodePrefix(text)).toEqual({ ok: false, error: { kind: 'ResourceMalformed', resource: text, reason } });
  });
});

describe('parseUserResource (group user: service-bus targets and EventBus topics)', () => {
  it('reads <port>:<path> as a service-bus target and anything else as a topic, even one that looks like an object', () => {
    expect(parseUserResource('8080:/api')).toEqual({ ok: true, value: { kind: 'serviceBus', port: 8080, path: '/api' } });
    expect(parseUserResource('$hw/events/upload/temp')).toEqual({ ok: true, value: { kind: 'eventBus', topic: '$hw/events/upload/temp' } });
    expect(parseUserResource('default/pod/web')).toEqual({ ok: true, value: { kind: 'eventBus', topic: 'default/pod/web' } });
    expect(formatWireResource({ kind: 'eventBus', topic: 'lights/kitchen' })).toBe('lights/kitchen');
    expect(isWellFormedResource({ kind: 'eventBus', topic: 'lights/kitchen' })).toBe(true);
  });

  it.each<[string, string]>([
    ['', 'empty'],
    ['lights/+/set', 'a wildcard'],
    ['lights/#', 'a wildcard'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'a control character'],
    ['a\ud800', 'a lone surrogate'],
    [`t/${'x'.repeat(511)}`, 'over 512 characters'],
  ])('refuses the topic %j (%s)', (topic) => {
    expect(parseUserResource(topic).ok).toBe(false);
    expect(isWellFormedResource({ kind: 'eventBus', topic })).toBe(false);
  });

  it('an upload topic has something after $hw/events/upload/', () => {
    expect(isUploadTopic('$hw/events/upload/a')).toBe(true);
    expect(isUploadTopic('$hw/events/upload/')).toBe(false);
    expect(isUploadTopic('$hw/events/uploads/a')).toBe(false);
  });
});
