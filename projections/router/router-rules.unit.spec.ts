// The Router's rules, pure. Method: a small table of RuleEndpoints and Rules written as the API
// serves them (KubeEdge's router guide, names made up), and per question the routes it must give:
// which uploads go to which URL, which REST path publishes on which topic, and how counts add up.
import { describe, expect, it } from 'vitest';
import { ok, type JsonObject } from '../../kernel/index.js';
import { emptyRouterTable, parseRouterAddress, restRoute, ruleEndpointOf, ruleOf, ruleTopicMatches, uploadRoutes, type RouterTable } from './router-rules.js';
import { RULE_ERRORS_MAX, addOutcome, emptyDelta, mergeDeltas, nextRuleStatus } from './rule-status.js';

const endpoint = (name: string, type: string, namespace = 'default'): JsonObject => ({ apiVersion: 'rules.kubeedge.io/v1', kind: 'RuleEndpoint', metadata: { name, namespace }, spec: { ruleEndpointType: type, properties: {} } });
const rule = (name: string, spec: JsonObject, namespace = 'default'): JsonObject => ({ apiVersion: 'rules.kubeedge.io/v1', kind: 'Rule', metadata: { name, namespace }, spec });

function tableOf(objects: readonly JsonObject[]): RouterTable {
  const rules = new Map();
  const endpoints = new Map();
  for (const object of objects) {
    const asRule = object['kind'] === 'Rule' ? ruleOf(object) : undefined;
    const asEndpoint = object['kind'] === 'RuleEndpoint' ? ruleEndpointOf(object) : undefined;
    if (asRule !== undefined) rules.set(`${asRule.namespace}/${asRule.name}`, asRule);
    if (asEndpoint !== undefined) endpoints.set(`${asEndpoint.namespace}/${asEndpoint.name}`, asEndpoint);
  }
  return { rules, endpoints };
}

const table = tableOf([
  endpoint('my-rest', 'rest'),
  endpoint('my-eventbus', 'eventbus'),
  endpoint('my-servicebus', 'servicebus'),
  rule('temperature', { source: 'my-eventbus', sourceResource: { topic: 'temperature', node_name: 'edge-1' }, target: 'my-rest', targetResource: { resource: 'http://127.0.0.1:8080/temperature' } }),
  rule('temperature-copy', { source: 'my-eventbus', sourceResource: { topic: '$hw/events/upload/temperature', node_name: 'edge-1' }, target: 'my-rest', targetResource: { resource: 'https://example.test/t' } }),
  rule('other-node', { source: 'my-eventbus', sourceResource: { topic: 'temperature', node_name: 'edge-2' }, target: 'my-rest', targetResource: { resource: 'http://127.0.0.1:8080/edge-2' } }),
  rule('file-target', { source: 'my-eventbus', sourceResource: { topic: 'secrets', node_name: 'edge-1' }, target: 'my-rest', targetResource: { resource: 'file:///etc/passwd' } }),
  rule('to-servicebus', { source: 'my-eventbus', sourceResource: { topic: 'temperature', node_name: 'edge-1' }, target: 'my-servicebus', targetResource: { path: '/x' } }),
  rule('lights', { source: 'my-rest', sourceResource: { path: '/lights' }, target: 'my-eventbus', targetResource: { topic: 'home/lights' } }),
  rule('kitchen-lights', { source: 'my-rest', sourceResource: { path: '/lights/kitchen' }, target: 'my-eventbus', targetResource: { topic: 'kitchen/lights' } }),
]);

describe('an upload from an edge', () => {
  it('goes to every eventbus→rest Rule naming its node and topic, in name order', () => {
    expect(uploadRoutes(table, 'edge-1', '$hw/events/upload/temperature')).toEqual([
      { rule: { namespace: 'default', name: 'temperature' }, url: 'http://127.0.0.1:8080/temperature' },
      { rule: { namespace: 'default', name: 'temperature-copy' }, url: 'https://example.test/t' },
    ]);
    expect(uploadRoutes(table, 'edge-2', '$hw/events/upload/temperature').map((r) => r.rule.name)).toEqual(['other-node']);
  });

  it('goes nowhere on another topic, from an unnamed node, to a non-http target, or when an endpoint is missing', () => {
    expect(uploadRoutes(table, 'edge-1', '$hw/events/upload/humidity')).toEqual([]);
    expect(uploadRoutes(table, 'edge-3', '$hw/events/upload/temperature')).toEqual([]);
    expect(uploadRoutes(table, 'edge-1', '$hw/events/upload/secrets')).toEqual([]);
    const withoutRest = tableOf([endpoint('my-eventbus', 'eventbus'), rule('t', { source: 'my-eventbus', sourceResource: { topic: 'temperature', node_name: 'edge-1' }, target: 'my-rest', targetResource: { resource: 'http://a.test' } })]);
    expect(uploadRoutes(withoutRest, 'edge-1', '$hw/events/upload/temperature')).toEqual([]);
    expect(uploadRoutes(emptyRouterTable, 'edge-1', '$hw/events/upload/temperature')).toEqual([]);
  });

  it('a Rule topic names the upload topic under $hw/events/upload/, with or without a leading slash, or whole', () => {
    expect(ruleTopicMatches('a/b', '$hw/events/upload/a/b')).toBe(true);
    expect(ruleTopicMatches('/a/b', '$hw/events/upload/a/b')).toBe(true);
    expect(ruleTopicMatches('$hw/events/upload/a/b', '$hw/events/upload/a/b')).toBe(true);
    expect(ruleTopicMatches('a', '$hw/events/upload/a/b')).toBe(false);
    expect(ruleTopicMatches('', '$hw/events/upload/')).toBe(false);
  });
});

describe('a REST call on the router URL', () => {
  it('is read as /<nodeName>/<namespace>/<path>, percent-decoded', () => {
    expect(parseRouterAddress('/edge-1/default/lights/kitchen')).toEqual(ok({ node: 'edge-1', namespace: 'default', path: '/lights/kitchen' }));
    expect(parseRouterAddress('/edge-1/default/a%20b')).toEqual(ok({ node: 'edge-1', namespace: 'default', path: '/a b' }));
    expect(parseRouterAddress('/Edge/default/a').ok).toBe(false);
    expect(parseRouterAddress('/edge-1/default').ok).toBe(false);
    expect(parseRouterAddress('/edge-1/default/%E0%A4%A').ok).toBe(false);
  });

  it('publishes on the longest matching rest→eventbus path\'s topic, the rest of the path appended', () => {
    expect(restRoute(table, 'default', '/lights')).toEqual({ rule: { namespace: 'default', name: 'lights' }, topic: 'home/lights' });
    expect(restRoute(table, 'default', '/lights/kitchen')).toEqual({ rule: { namespace: 'default', name: 'kitchen-lights' }, topic: 'kitchen/lights' });
    expect(restRoute(table, 'default', '/lights/hall/2')).toEqual({ rule: { namespace: 'default', name: 'lights' }, topic: 'home/lights/hall/2' });
  });

  it('finds nothing in another namespace or on a path that only shares a prefix', () => {
    expect(restRoute(table, 'prod', '/lights')).toBeUndefined();
    expect(restRoute(table, 'default', '/lightsabers')).toBeUndefined();
  });
});

describe('a Rule\'s status counts', () => {
  it('add successes and failures to what is stored, keeping the newest errors, each cut short', () => {
    let delta = emptyDelta;
    for (let i = 0; i < RULE_ERRORS_MAX + 2; i++) delta = addOutcome(delta, { ok: false, error: `e${i}` });
    delta = addOutcome(delta, { ok: true });
    expect(delta.errors).toHaveLength(RULE_ERRORS_MAX);
    expect(delta.errors.at(-1)).toBe(`e${RULE_ERRORS_MAX + 1}`);
    const next = nextRuleStatus({ successMessages: 4, failMessages: 1, errors: ['old'] }, delta);
    expect(next).toMatchObject({ successMessages: 5, failMessages: 1 + RULE_ERRORS_MAX + 2 });
    expect(next['errors']).toHaveLength(RULE_ERRORS_MAX);
    expect(addOutcome(emptyDelta, { ok: false, error: 'x'.repeat(1000) }).errors[0]).toHaveLength(256);
  });

  it('start from zero on a Rule without status or with garbage in it, and merge older before newer', () => {
    expect(nextRuleStatus(undefined, addOutcome(emptyDelta, { ok: true }))).toEqual({ successMessages: 1, failMessages: 0, errors: [] });
    expect(nextRuleStatus({ successMessages: -3, failMessages: 'x', errors: [1, 'a'] }, emptyDelta)).toEqual({ successMessages: 0, failMessages: 0, errors: ['a'] });
    expect(mergeDeltas({ success: 1, fail: 1, errors: ['a'] }, { success: 2, fail: 1, errors: ['b'] })).toEqual({ success: 3, fail: 2, errors: ['a', 'b'] });
  });
});
