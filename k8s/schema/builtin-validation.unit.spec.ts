// Built-in validation, given/when/then: given an object of a served kind, when it is validated (or its
// unknown fields are listed), then exactly these upstream-worded errors come back. Valid objects of
// every kind come back clean; each implemented rule is shown failing with kube-apiserver's message.
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_KINDS,
  formatFieldError,
  invalidObjectMessage,
  isBuiltinKind,
  unknownFieldMessage,
  unknownFields,
  validateBuiltin,
  validateMetadataName,
} from './builtin-validation.js';
import { base64ErrorOffset } from './k8s-names.rules.js';
import { goQuote } from './field-error.format.js';

type Json = Record<string, unknown>;
const SUBDOMAIN_RULE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_RULE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** When the object is validated, then these lines are what kubectl would print. */
const whenValidated = (apiVersion: string, kind: string, object: Json): string[] => validateBuiltin(apiVersion, kind, object).map(formatFieldError);

const container = (patch: Json = {}): Json => ({ name: 'app', image: 'nginx:1.27', ...patch });
const pod = (spec: Json = {}, metadata: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', ...metadata },
  spec: { containers: [container()], ...spec },
});
const template = (labels: Json = { app: 'web' }, spec: Json = {}): Json => ({ metadata: { labels }, spec: { containers: [container()], ...spec } });
const deployment = (spec: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template(), ...spec },
});

describe('given a valid object of every served kind', () => {
  const valid: readonly (readonly [string, string, Json])[] = [
    ['v1', 'Namespace', { metadata: { name: 'edge-system', labels: { 'kubernetes.io/metadata.name': 'edge-system' } } }],
    ['v1', 'Node', { metadata: { name: 'edge-1.local' }, spec: { podCIDR: '10.0.0.0/24' }, status: { capacity: { cpu: '4' } } }],
    ['v1', 'Pod', pod({ initContainers: [container({ name: 'init' })], containers: [container({ ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] })] })],
    ['v1', 'ConfigMap', { metadata: { name: 'cfg' }, data: { 'app.properties': 'a=b', KEY_NAME: 'x' }, binaryData: { blob: 'AAEC' } }],
    ['v1', 'Secret', { metadata: { name: 'creds' }, type: 'Opaque', data: { password: 'c2VjcmV0', wrapped: 'YWJj\nZGVm' }, stringData: { user: 'admin' } }],
    ['v1', 'Service', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'https', port: 443, targetPort: 8443 }] } }],
    ['v1', 'Service', { metadata: { name: 'db' }, spec: { clusterIP: 'None' } }],
    ['v1', 'Endpoints', { metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '10.0.0.9' }], ports: [{ port: 80, protocol: 'TCP' }] }] }],
    ['v1', 'Event', { metadata: { name: 'web.17a2b3c4d5e6f7a8' }, involvedObject: { kind: 'Pod', name: 'web' }, reason: 'Started', type: 'Normal' }],
    ['v1', 'ServiceAccount', { metadata: { name: 'default' } }],
    ['coordination.k8s.io/v1', 'Lease', { metadata: { name: 'edge-1' }, spec: { holderIdentity: 'edge-1', leaseDurationSeconds: 40, renewTime: '2026-11-01T10:00:00.000000Z' } }],
    ['apps/v1', 'Deployment', deployment()],
    ['apps/v1', 'ReplicaSet', { metadata: { name: 'web-5d8f' }, spec: { replicas: 0, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, template: template() } }],
    ['apps/v1', 'DaemonSet', { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template() } }],
    [
      'apiextensions.k8s.io/v1',
      'CustomResourceDefinition',
      {
        metadata: { name: 'devices.devices.kubeedge.io' },
        spec: {
          group: 'devices.kubeedge.io',
          scope: 'Namespaced',
          names: { plural: 'devices', singular: 'device', kind: 'Device' },
          versions: [{ name: 'v1beta1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      },
    ],
  ];
  it.each(valid)('when %s %s is validated, then there are no errors and no unknown fields', (apiVersion, kind, object) => {
    expect(whenValidated(apiVersion, kind, object)).toEqual([]);
    expect(unknownFields(apiVersion, kind, object)).toEqual([]);
  });

  it('then every served kind is one the validator knows', () => {
    expect(BUILTIN_KINDS.map((k) => `${k.apiVersion}/${k.kind}`)).toHaveLength(14);
    expect(BUILTIN_KINDS.every((k) => isBuiltinKind(k.apiVersion, k.kind))).toBe(true);
    expect(isBuiltinKind('devices.kubeedge.io/v1beta1', 'Device')).toBe(false);
  });
});

describe('given object names', () => {
  it('when a pod is named "Web", then the DNS-1123 subdomain rule rejects it with upstream\'s message', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { name: 'Web' }))).toEqual([`metadata.name: Invalid value: "Web": ${SUBDOMAIN_RULE}`]);
  });

  it('when a name is 254 characters, then it is too long for a subdomain (an Invalid value, hence 422)', () => {
    const errors = validateMetadataName('Pod', 'a'.repeat(254));
    expect(errors.map((e) => [e.field, e.type])).toEqual([['metadata.name', 'FieldValueInvalid']]);
    expect(errors[0]?.message).toBe(`Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`);
    expect(validateMetadataName('Pod', 'a'.repeat(253))).toEqual([]);
  });

  it('when a namespace name has a dot or 64 characters, then the DNS-1123 label rule rejects it', () => {
    expect(validateMetadataName('Namespace', 'edge.system').map(formatFieldError)).toEqual(['metadata.name: Invalid value: "edge.system": must not contain dots']);
    expect(validateMetadataName('Namespace', 'Edge').map(formatFieldError)).toEqual([`metadata.name: Invalid value: "Edge": ${LABEL_RULE}`]);
    expect(validateMetadataName('Namespace', 'a'.repeat(64)).map((e) => e.message)).toEqual([`Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`]);
  });

  it('when a service name starts with a digit, then the DNS-1035 label rule rejects it', () => {
    expect(validateMetadataName('Service', '9web').map(formatFieldError)).toEqual([
      "metadata.name: Invalid value: \"9web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  it('when there is neither name nor generateName, then the name is required; a generateName ending in "-" is fine', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { name: undefined }))).toEqual(['metadata.name: Required value: name or generateName is required']);
    expect(whenValidated('v1', 'Pod', pod({}, { name: undefined, generateName: 'web-' }))).toEqual([]);
    expect(whenValidated('v1', 'Pod', pod({}, { name: undefined, generateName: 'Web-' }))).toEqual([`metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_RULE}`]);
  });

  it('when a core event name has a slash, then only the path-segment rule applies', () => {
    expect(validateMetadataName('Event', 'Web:Started')).toEqual([]);
    expect(validateMetadataName('Event', 'a/b').map(formatFieldError)).toEqual(['metadata.name: Invalid value: "a/b": may not contain \'/\'']);
  });

  it('when a CRD is not named <plural>.<group>, then it is rejected', () => {
    const crd = { metadata: { name: 'device.devices.kubeedge.io' }, spec: { group: 'devices.kubeedge.io', scope: 'Namespaced', names: { plural: 'devices', kind: 'Device' }, versions: [] } };
    expect(whenValidated('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd)).toEqual(['metadata.name: Invalid value: "device.devices.kubeedge.io": must be spec.names.plural+"."+spec.group']);
  });
});

describe('given labels and annotations', () => {
  it('when a label key and a label value are malformed, then both are reported against metadata.labels', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { labels: { '-app': 'ok', tier: 'front end' } }))).toEqual([
      "metadata.labels: Invalid value: \"-app\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      "metadata.labels: Invalid value: \"front end\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ]);
  });

  it('when a label key has an empty prefix or too many slashes, then the qualified-name rule explains which part', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { labels: { '/app': 'x' } }))).toEqual(['metadata.labels: Invalid value: "/app": prefix part must be non-empty']);
    expect(whenValidated('v1', 'Pod', pod({}, { labels: { 'a/b/c': 'x' } }))[0]).toContain('metadata.labels: Invalid value: "a/b/c": a qualified name must consist of');
  });

  it('when an annotation key is malformed (case aside), then it is reported; uppercase keys are fine', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { annotations: { 'Example.COM/Owner': 'me', 'bad key': 'x' } }))).toEqual([
      "metadata.annotations: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
  });

  it('when annotations exceed 256 KiB, then the map is too long', () => {
    expect(whenValidated('v1', 'Pod', pod({}, { annotations: { big: 'x'.repeat(256 * 1024) } }))).toEqual(['metadata.annotations: Too long: must have at most 262144 bytes']);
  });
});

describe('given a pod spec', () => {
  it('when containers is empty, then spec.containers is required', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: [] }))).toEqual(['spec.containers: Required value']);
  });

  it('when a container has neither name nor image, then both are required', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: [{}] }))).toEqual(['spec.containers[0].name: Required value', 'spec.containers[0].image: Required value']);
  });

  it('when a container name is not a DNS label, then it is rejected', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: [container({ name: 'App_1' })] }))).toEqual([
      "spec.containers[0].name: Invalid value: \"App_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  it('when two containers (or an init container and a container) share a name, then the later one is a duplicate', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: [container(), container()] }))).toEqual(['spec.containers[1].name: Duplicate value: "app"']);
    expect(whenValidated('v1', 'Pod', pod({ initContainers: [container()] }))).toEqual(['spec.initContainers[0].name: Duplicate value: "app"']);
  });

  it('when restartPolicy is "Sometimes", then it is unsupported, listed in upstream\'s order', () => {
    expect(whenValidated('v1', 'Pod', pod({ restartPolicy: 'Sometimes' }))).toEqual(['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']);
  });

  it('when imagePullPolicy or terminationMessagePolicy is unknown, then it is unsupported', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: [container({ imagePullPolicy: 'Sometimes', terminationMessagePolicy: 'Logs' })] }))).toEqual([
      'spec.containers[0].terminationMessagePolicy: Unsupported value: "Logs": supported values: "File", "FallbackToLogsOnError"',
      'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    ]);
  });

  it('when ports are out of range, unnamed badly, duplicated or of an unknown protocol, then each is reported', () => {
    const ports = [
      { name: 'http', containerPort: 70000, hostPort: 65536 },
      { name: '8080', containerPort: 8080 },
      { name: 'http', containerPort: 0, protocol: 'HTTP' },
      { name: 'Web--Port', containerPort: 81 },
    ];
    expect(whenValidated('v1', 'Pod', pod({ containers: [container({ ports })] }))).toEqual([
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[0].hostPort: Invalid value: 65536: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[1].name: Invalid value: "8080": must contain at least one letter (a-z)',
      'spec.containers[0].ports[2].name: Duplicate value: "http"',
      'spec.containers[0].ports[2].containerPort: Required value',
      'spec.containers[0].ports[2].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[3].name: Invalid value: "Web--Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[3].name: Invalid value: "Web--Port": must not contain consecutive hyphens',
    ]);
  });
});

describe('given schema (type and required) checks from the upstream OpenAPI', () => {
  it('when replicas is a string, then the type error uses kube-openapi\'s wording and no semantic rule fires on it', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ replicas: 'string' }))).toEqual(['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
  });

  it('when containers is an object, then only the type error is reported for it', () => {
    expect(whenValidated('v1', 'Pod', pod({ containers: {} }))).toEqual(['spec.containers: Invalid value: "object": spec.containers in body must be of type array: "object"']);
  });

  it('when an IntOrString holds a boolean, then one type error names both accepted types', () => {
    const service = { metadata: { name: 'web' }, spec: { ports: [{ port: 80, targetPort: true }] } };
    expect(whenValidated('v1', 'Service', service)).toEqual(['spec.ports[0].targetPort: Invalid value: "boolean": spec.ports[0].targetPort in body must be of type string,integer: "boolean"']);
  });

  it('when a quantity or a timestamp is malformed, then the format is named', () => {
    const limits = pod({ containers: [container({ resources: { limits: { cpu: 'lots' } } })] });
    expect(whenValidated('v1', 'Pod', limits)).toEqual(['spec.containers[0].resources.limits[cpu]: Invalid value: "lots": spec.containers[0].resources.limits[cpu] in body must be of type quantity: "lots"']);
    expect(whenValidated('coordination.k8s.io/v1', 'Lease', { metadata: { name: 'l' }, spec: { acquireTime: 'yesterday' } })).toEqual([
      'spec.acquireTime: Invalid value: "yesterday": spec.acquireTime in body must be of type date-time: "yesterday"',
    ]);
  });

  it('when a required property of a nested type is missing, then the path names it', () => {
    const event = { metadata: { name: 'e' }, involvedObject: {}, series: { count: 'many' } };
    expect(whenValidated('v1', 'Event', event)).toEqual(['series.count: Invalid value: "string": series.count in body must be of type integer: "string"']);
    expect(whenValidated('v1', 'Event', { metadata: { name: 'e' } })).toEqual(['involvedObject: Required value']);
  });
});

describe('given a deployment', () => {
  it('when the selector is missing, then it is required and (as upstream) the template labels do not match it', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ selector: undefined, template: template({ app: 'x' }) }))).toEqual([
      'spec.selector: Required value',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
    ]);
  });

  it('when the selector does not match the template labels, then the template labels are printed as a Go map', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ template: template({ tier: 'b', app: 'x' }) }))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x", "tier":"b"}: `selector` does not match template `labels`',
    ]);
    expect(whenValidated('apps/v1', 'Deployment', deployment({ selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ]);
  });

  it('when replicas is negative, then it must be at least 0', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ replicas: -1 }))).toEqual(['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);
  });

  it('when the selector is empty, then it is invalid (and matches everything, so no label mismatch)', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ selector: {} }))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
    ]);
  });

  it('when a selector requirement is malformed, then its operator and values are checked', () => {
    const selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' }, { key: 'zone', operator: 'Exists', values: ['a'] }, { key: 'x', operator: 'Near' }] };
    expect(whenValidated('apps/v1', 'Deployment', deployment({ selector }))).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator',
    ]);
  });

  it('when the template restarts Never or carries a bad label, then the template is refused at upstream\'s paths', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ template: template({ app: 'web', '-x': 'y' }, { restartPolicy: 'Never' }) }))).toEqual([
      "spec.template.labels: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]);
  });

  it('when the template has an invalid container, then the error sits under spec.template.spec', () => {
    expect(whenValidated('apps/v1', 'Deployment', deployment({ template: template({ app: 'web' }, { containers: [{ name: 'app' }] }) }))).toEqual(['spec.template.spec.containers[0].image: Required value']);
  });

  it('when a replica set or a daemon set selects other labels, then the same mismatch is reported', () => {
    const spec = { selector: { matchLabels: { app: 'other' } }, template: template() };
    const mismatch = 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`';
    expect(whenValidated('apps/v1', 'ReplicaSet', { metadata: { name: 'rs' }, spec })).toEqual([mismatch]);
    expect(whenValidated('apps/v1', 'DaemonSet', { metadata: { name: 'ds' }, spec })).toEqual([mismatch]);
  });
});

describe('given config maps and secrets', () => {
  it('when data keys are malformed or climb directories, then each key is reported at data[key]', () => {
    expect(whenValidated('v1', 'ConfigMap', { metadata: { name: 'cfg' }, data: { 'a b': '1', '..x': '2' } })).toEqual([
      "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      'data[..x]: Invalid value: "..x": must not start with \'..\'',
    ]);
  });

  it('when a key is in both data and binaryData, then both bags report it', () => {
    expect(whenValidated('v1', 'ConfigMap', { metadata: { name: 'cfg' }, data: { k: '1' }, binaryData: { k: 'AA==' } })).toEqual([
      'data[k]: Invalid value: "k": duplicate of key present in binaryData',
      'binaryData[k]: Invalid value: "k": duplicate of key present in data',
    ]);
  });

  it('when secret data is not base64, then Go\'s decoding offset is reported without echoing the value', () => {
    expect(whenValidated('v1', 'Secret', { metadata: { name: 's' }, data: { password: 'hunt er2' } })).toEqual(['data[password]: Invalid value: illegal base64 data at input byte 4']);
  });

  it('when stringData has a malformed key, then it is reported as a data key (the apiserver merges them first)', () => {
    expect(whenValidated('v1', 'Secret', { metadata: { name: 's' }, stringData: { 'user name': 'x' } })[0]).toMatch(/^data\[user name\]: Invalid value: "user name": a valid config key/);
  });

  it.each([
    ['YWJj', undefined],
    ['YWI=', undefined],
    ['YQ==', undefined],
    ['', undefined],
    ['YWJ', 0],
    ['YQ=', 3],
    ['Y===', 1],
    ['YWJj!', 4],
    ['YQ==YQ==', 4],
    ['YQ==\n', undefined],
  ] as const)('when Go decodes %j as base64, then the error offset is %s', (input, offset) => {
    expect(base64ErrorOffset(input)).toBe(offset);
  });
});

describe('given services, endpoints, leases and CRDs', () => {
  it('when a service has no ports, then they are required', () => {
    expect(whenValidated('v1', 'Service', { metadata: { name: 'web' }, spec: {} })).toEqual(['spec.ports: Required value']);
  });

  it('when a service type is unknown and ports are bad, then each is reported', () => {
    const spec = { type: 'Bogus', ports: [{ port: 0, targetPort: 'http_port' }, { name: 'b', port: 80, protocol: 'HTTP' }] };
    expect(whenValidated('v1', 'Service', { metadata: { name: 'web' }, spec })).toEqual([
      'spec.type: Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      'spec.ports[0].name: Required value',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[0].targetPort: Invalid value: "http_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ]);
  });

  it('when endpoints carry port 0, then it is out of range', () => {
    expect(whenValidated('v1', 'Endpoints', { metadata: { name: 'web' }, subsets: [{ ports: [{ port: 0 }] }] })).toEqual(['subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
  });

  it('when a lease lasts 0 seconds or transitioned -1 times, then both are invalid; a string duration is a type error', () => {
    expect(whenValidated('coordination.k8s.io/v1', 'Lease', { metadata: { name: 'l' }, spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } })).toEqual([
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
      'spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0',
    ]);
    expect(whenValidated('coordination.k8s.io/v1', 'Lease', { metadata: { name: 'l' }, spec: { leaseDurationSeconds: '40' } })).toEqual([
      'spec.leaseDurationSeconds: Invalid value: "string": spec.leaseDurationSeconds in body must be of type integer: "string"',
    ]);
  });

  it('when a CRD group has no dot and its scope is unknown, then both are reported', () => {
    const crd = { metadata: { name: 'devices.devices' }, spec: { group: 'devices', scope: 'Global', names: { plural: 'devices', kind: 'Device' }, versions: [] } };
    expect(whenValidated('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd)).toEqual([
      'spec.group: Invalid value: "devices": should be a domain with at least one dot',
      'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    ]);
  });
});

describe('given fields the schema does not declare', () => {
  it('when a container has a bogus field, then its strict-decoding path is reported', () => {
    const object = pod({ containers: [container({ bogus: true })], extra: 1 });
    expect(unknownFields('v1', 'Pod', object)).toEqual(['.spec.containers[0].bogus', '.spec.extra']);
    expect(unknownFieldMessage('.spec.containers[0].bogus')).toBe('unknown field "spec.containers[0].bogus"');
  });

  it('when free-form fields (fieldsV1, JSONSchemaProps default) hold anything, then they are not descended into', () => {
    const withManagedFields = pod({}, { managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': { 'f:containers': {} } } }] });
    expect(unknownFields('v1', 'Pod', withManagedFields)).toEqual([]);
    const schema = { type: 'object', properties: { size: { type: 'integer', default: { any: 'thing' }, bogus: 1 } } };
    const crd = { metadata: { name: 'a.b.c' }, spec: { versions: [{ name: 'v1', schema: { openAPIV3Schema: schema } }] } };
    expect(unknownFields('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd)).toEqual(['.spec.versions[0].schema.openAPIV3Schema.properties.size.bogus']);
  });

  it('when a lease carries micro-time strings, then they are fields, not unknown objects', () => {
    expect(unknownFields('coordination.k8s.io/v1', 'Lease', { spec: { acquireTime: '2026-11-01T10:00:00.000000Z' } })).toEqual([]);
  });

  it('when the kind is not built in, then nothing is reported', () => {
    expect(unknownFields('devices.kubeedge.io/v1beta1', 'Device', { spec: { anything: 1 } })).toEqual([]);
    expect(validateBuiltin('devices.kubeedge.io/v1beta1', 'Device', { metadata: { name: 'Bad' } })).toEqual([]);
  });
});

describe('given the errors of one object', () => {
  it('when there is one error, then the Status message is unbracketed; several are bracketed; the group qualifies the kind', () => {
    const one = validateBuiltin('v1', 'Pod', pod({ containers: [] }));
    expect(invalidObjectMessage('', 'Pod', 'web', one)).toBe('Pod "web" is invalid: spec.containers: Required value');
    const two = validateBuiltin('apps/v1', 'Deployment', deployment({ replicas: -1, template: template({ app: 'x' }) }));
    expect(invalidObjectMessage('apps', 'Deployment', 'web', two)).toBe(
      'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`]',
    );
  });

  it('when a bad value has control characters, then it is quoted as Go\'s %q would', () => {
    expect(goQuote('a"b\\c\n\u0001\u007f')).toBe('"a\\"b\\\\c\\n\\x01\\x7f"');
  });
});
