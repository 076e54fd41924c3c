// The node authorizer and the violation window. Method: a small fixed cluster view (two nodes,
// their pods, devices and references) and a table of frames, each with the grant or refusal kind it
// must get; the violation window is driven with explicit monotonic times around its edges.
import { describe, expect, it } from 'vitest';
import { parseWireResource } from '../frames/resource.js';
import {
  type NodeAuthorizationView,
  VIOLATION_LIMITS_DEFAULT,
  authorizeEdgeFrame,
  emptyViolationWindow,
  recordViolation,
} from './node-authorizer.js';

const pods: Record<string, string> = { 'default/web-a': 'edge-a', 'default/web-b': 'edge-b' };
const devices: Record<string, string> = { 'default/thermo-a': 'edge-a', 'default/thermo-b': 'edge-b' };
const configMaps: Record<string, readonly string[]> = { 'default/cfg-a': ['edge-a'], 'default/cfg-b': ['edge-b'] };
const secrets: Record<string, readonly string[]> = { 'default/secret-a': ['edge-a'], 'default/secret-b': ['edge-b'] };

const view: NodeAuthorizationView = {
  podNode: (namespace, name) => pods[`${namespace}/${name}`],
  deviceNode: (namespace, name) => devices[`${namespace}/${name}`],
  configMapReferencedBy: (node, namespace, name) => configMaps[`${namespace}/${name}`]?.includes(node) ?? false,
  secretReferencedBy: (node, namespace, name) => secrets[`${namespace}/${name}`]?.includes(node) ?? false,
};

function decide(resource: string, operation: string): string {
  const parsed = parseWireResource(resource);
  if (!parsed.ok) throw new Error(`test resource ${resource} does not parse`);
  const decision = authorizeEdgeFrame('edge-a', parsed.value, operation, view);
  return decision.ok ? `allow:${decision.value}` : `refuse:${decision.error.kind}`;
}

describe('authorizeEdgeFrame for edge-a', () => {
  it.each([
    ['null/node/edge-a', 'update', 'allow:OwnNode'],
    ['null/nodepatch/edge-a', 'patch', 'allow:OwnNode'],
    ['kube-node-lease/lease/edge-a', 'update', 'allow:OwnLease'],
    ['default/podpatch/web-a', 'patch', 'allow:BoundPod'],
    ['default/pod/web-a', 'delete', 'allow:BoundPod'],
    ['default/device/thermo-a', 'update', 'allow:BoundDevice'],
    // Service-bus calls travel cloud to edge only: an edge naming an app port is refused.
    ['8080:/api/v1/temp', 'query', 'refuse:ResourceTypeNotAllowed'],
    ['device/default/thermo-a/twin/edge_updated', 'update', 'allow:BoundDevice'],
    ['default/configmap/cfg-a', 'query', 'allow:ReferencedConfigMap'],
    ['default/secret/secret-a', 'query', 'allow:ReferencedSecret'],
    ['k8s/ca.crt', 'query', 'allow:ClusterCa'],
  ])('allows %s %s', (resource, operation, expected) => {
    expect(decide(resource, operation)).toBe(expected);
  });

  it.each([
    ['null/node/edge-b', 'update', 'refuse:OtherNode'],
    ['null/nodestatus/edge-b', 'update', 'refuse:OtherNode'],
    ['kube-node-lease/lease/edge-b', 'update', 'refuse:OtherNode'],
    ['default/lease/edge-a', 'update', 'refuse:OtherNode'],
    ['default/podpatch/web-b', 'patch', 'refuse:PodNotBound'],
    ['default/pod/unknown', 'insert', 'refuse:PodUnknown'],
    ['default/device/thermo-b', 'update', 'refuse:DeviceNotBound'],
    ['device/default/thermo-b/state/update', 'update', 'refuse:DeviceNotBound'],
    ['default/configmap/cfg-b', 'query', 'refuse:NotReferenced'],
    ['default/secret/secret-b', 'query', 'refuse:NotReferenced'],
    ['default/secret/secret-a', 'update', 'refuse:ReadOnly'],
    ['default/configmap/cfg-a', 'delete', 'refuse:ReadOnly'],
    ['k8s/ca.crt', 'update', 'refuse:ReadOnly'],
    ['default/secret', 'query', 'refuse:ListNotAllowed'],
    ['default/pod', 'query', 'refuse:ListNotAllowed'],
    ['default/service/web', 'update', 'refuse:ResourceTypeNotAllowed'],
    ['default/serviceaccounttoken/default', 'query', 'refuse:ResourceTypeNotAllowed'],
  ])('refuses %s %s', (resource, operation, expected) => {
    expect(decide(resource, operation)).toBe(expected);
  });

  it('allows an upload on $hw/events/upload/… (the connection names the node), and refuses any other EventBus topic or operation', () => {
    const topic = (t: string, operation: string): string => {
      const decision = authorizeEdgeFrame('edge-a', { kind: 'eventBus', topic: t }, operation, view);
      return decision.ok ? `allow:${decision.value}` : `refuse:${decision.error.kind}`;
    };
    expect(topic('$hw/events/upload/temperature', 'upload')).toBe('allow:OwnEventBusUpload');
    expect(topic('$hw/events/upload/temperature', 'query')).toBe('refuse:ResourceTypeNotAllowed');
    expect(topic('lights/kitchen', 'upload')).toBe('refuse:ResourceTypeNotAllowed');
    expect(topic('$hw/events/device/default/thermo-b/twin/update', 'upload')).toBe('refuse:ResourceTypeNotAllowed');
  });

  it('says in the refusal which node, resource and operation, and why', () => {
    const parsed = parseWireResource('default/podpatch/web-b');
    if (!parsed.ok) throw new Error('unreachable');
    const decision = authorizeEdgeFrame('edge-a', parsed.value, 'patch', view);
    expect(decision).toEqual({
      ok: false,
      error: {
        kind: 'PodNotBound',
        nodeName: 'edge-a',
        resource: 'default/podpatch/web-b',
        operation: 'patch',
        reason: 'pod default/web-b is bound to another node, not to "edge-a"',
      },
    });
  });
});

describe('recordViolation', () => {
  const limits = { violationsMax: 3, windowMs: 1000 };

  it('closes with 4403 on the violationsMax-th refusal inside the window', () => {
    let window = emptyViolationWindow;
    const actions: string[] = [];
    for (const atMs of [0, 10, 20]) {
      const next = recordViolation(window, atMs, limits);
      window = next.window;
      actions.push(next.verdict.action);
    }
    expect(actions).toEqual(['continue', 'continue', 'close']);
    expect(recordViolation(emptyViolationWindow, 0, { violationsMax: 1, windowMs: 1000 }).verdict).toEqual({
      action: 'close',
      code: 4403,
      reason: '1 authorization violations within 1 s',
    });
  });

  it('forgets refusals older than the window, so a slow trickle never closes', () => {
    let window = emptyViolationWindow;
    for (let atMs = 0; atMs < 100_000; atMs += 500) {
      const next = recordViolation(window, atMs, limits);
      window = next.window;
      expect(next.verdict.action).toBe('continue');
      expect(window.atMs.length).toBeLessThanOrEqual(limits.violationsMax);
    }
  });

  it('counts a refusal exactly windowMs old as outside the window', () => {
    const two = recordViolation(recordViolation(emptyViolationWindow, 0, limits).window, 1, limits).window;
    expect(recordViolation(two, 1000, limits).verdict.action).toBe('continue');
    expect(recordViolation(two, 999, limits).verdict.action).toBe('close');
  });

  it('defaults to 10 violations a minute', () => {
    expect(VIOLATION_LIMITS_DEFAULT).toEqual({ violationsMax: 10, windowMs: 60_000 });
  });
});
