// Method: the bundled Rule and RuleEndpoint CRDs (rules.kubeedge.io v1) are read as the server reads
// them; the rules from KubeEdge's router guide (written as the YAML a user applies) must pass, and
// broken variants must fail with kube-apiserver's words. Names are made up; shapes are KubeEdge's.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { compileCrdSchema, formatFieldError, loadBundledCrds, type CrdSchema } from './crd-schema.js';

const asObject = (value: JsonValue | undefined): JsonObject => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
  return value as JsonObject;
};

const crdNamed = (name: string): JsonObject => {
  const crd = loadBundledCrds().find((candidate) => asObject(candidate['metadata'])['name'] === name);
  if (crd === undefined) throw new Error(`no bundled CRD ${name}`);
  return crd;
};
const versionsOf = (crd: JsonObject): readonly JsonObject[] => (asObject(crd['spec'])['versions'] as JsonValue[]).map(asObject);

const schemaOf = (crdName: string): CrdSchema => {
  const compiled = compileCrdSchema(asObject(versionsOf(crdNamed(crdName))[0]!['schema'])['openAPIV3Schema'] ?? null);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.value;
};
const yamlObject = (text: string): JsonObject => asObject(parseYaml(text) as JsonValue);

const eventBusToRest = yamlObject(`
apiVersion: rules.kubeedge.io/v1
kind: Rule
metadata: { name: temperature-to-rest, namespace: default }
spec:
  source: my-eventbus
  sourceResource: { topic: temperature, node_name: edge-1 }
  target: my-rest
  targetResource: { resource: "http://127.0.0.1:8080/temperature" }
status: { successMessages: 3, failMessages: 1, errors: ["POST http://127.0.0.1:8080/temperature: 503"] }
`);
const restEndpoint = yamlObject(`
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: { name: my-rest, namespace: default }
spec: { ruleEndpointType: rest, properties: {} }
`);

describe('the Rule CRD', () => {
  const rules = schemaOf('rules.rules.kubeedge.io');

  it('when read, then it is namespaced, named as upstream and serves v1 as storage, status not a subresource', () => {
    const crd = crdNamed('rules.rules.kubeedge.io');
    const spec = asObject(crd['spec']);
    expect(spec['group']).toBe('rules.kubeedge.io');
    expect(spec['scope']).toBe('Namespaced');
    expect(asObject(spec['names'])).toMatchObject({ kind: 'Rule', plural: 'rules', singular: 'rule' });
    expect(versionsOf(crd).map((v) => [v['name'], v['served'], v['storage'], v['subresources']])).toEqual([['v1', true, true, undefined]]);
  });

  it('when the eventbus-to-rest rule of the router guide is checked, then it is valid and fully known', () => {
    expect(rules.validate(eventBusToRest)).toEqual([]);
    expect(rules.unknownFields(eventBusToRest)).toEqual([]);
  });

  it('when the target is missing or a resource value is a number, then kube-apiserver\'s words say so', () => {
    const noTarget = { ...eventBusToRest, spec: { ...asObject(eventBusToRest['spec']), target: null } };
    delete (noTarget.spec as Record<string, unknown>)['target'];
    expect(rules.validate(noTarget).map(formatFieldError)).toEqual(['spec.target: Required value']);
    const numeric = { ...eventBusToRest, spec: { ...asObject(eventBusToRest['spec']), sourceResource: { topic: 7 } } };
    expect(rules.validate(numeric).map(formatFieldError)).toEqual(['spec.sourceResource.topic: Invalid value: "integer": spec.sourceResource.topic in body must be of type string: "integer"']);
  });
});

describe('the RuleEndpoint CRD', () => {
  it('when read, then it keeps upstream\'s short name re, and a rest endpoint is valid while one without a type is not', () => {
    const spec = asObject(crdNamed('ruleendpoints.rules.kubeedge.io')['spec']);
    expect(asObject(spec['names'])).toMatchObject({ kind: 'RuleEndpoint', plural: 'ruleendpoints', shortNames: ['re'] });
    const endpoints = schemaOf('ruleendpoints.rules.kubeedge.io');
    expect(endpoints.validate(restEndpoint)).toEqual([]);
    expect(endpoints.validate({ ...restEndpoint, spec: { properties: {} } }).map(formatFieldError)).toEqual(['spec.ruleEndpointType: Required value']);
  });
});
