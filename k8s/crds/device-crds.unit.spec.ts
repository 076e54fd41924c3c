// Method: the bundled Device and DeviceModel CRDs are read as the server reads them; a realistic
// Modbus thermostat (model and device, written as the YAML a user would apply) must pass, and
// each broken variant must fail with kube-apiserver's exact words. Examples are made up; field
// names and shapes are KubeEdge's (kubeedge-reference.md §5.1).
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { compileCrdSchema, formatFieldError, loadBundledCrds, unknownFieldMessage, type CrdSchema } from './crd-schema.js';

const asObject = (value: JsonValue | undefined): JsonObject => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
  return value as JsonObject;
};
const asList = (value: JsonValue | undefined): readonly JsonValue[] => {
  if (!Array.isArray(value)) throw new Error('expected a list');
  return value;
};

const crdNamed = (name: string): JsonObject => {
  const crd = loadBundledCrds().find((candidate) => asObject(candidate['metadata'])['name'] === name);
  if (crd === undefined) throw new Error(`no bundled CRD ${name}`);
  return crd;
};
const onlyVersionOf = (crd: JsonObject): JsonObject => asObject(asList(asObject(crd['spec'])['versions'])[0]);

const schemaOf = (crdName: string): CrdSchema => {
  const compiled = compileCrdSchema(asObject(onlyVersionOf(crdNamed(crdName))['schema'])['openAPIV3Schema'] ?? null);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.value;
};

const yamlObject = (text: string): JsonObject => asObject(parseYaml(text) as JsonValue);

const thermostatModel = yamlObject(`
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: thermostat-model
  namespace: default
spec:
  protocol: modbus
  properties:
    - name: temperature
      description: measured room temperature
      type: FLOAT
      accessMode: ReadOnly
      minimum: "-40"
      maximum: "85"
      unit: celsius
    - name: mode
      description: operating mode (heat, cool, off)
      type: STRING
      accessMode: ReadWrite
`);

const lobbyThermostat = yamlObject(`
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: thermostat-lobby
  namespace: default
  labels:
    site: hq
spec:
  deviceModelRef:
    name: thermostat-model
  nodeName: edge-node-1
  protocol:
    protocolName: modbus
    configData:
      slaveID: 1
      tcp:
        ip: 192.168.1.50
        port: 502
  properties:
    - name: temperature
      visitors:
        protocolName: modbus
        configData:
          register: HoldingRegister
          offset: 0
          limit: 1
          scale: 0.1
          isSwap: false
          isRegisterSwap: false
      reportCycle: 10000
      collectCycle: 5000
      reportToCloud: true
      pushMethod:
        mqtt:
          address: tcp://127.0.0.1:1883
          topic: hq/lobby/temperature
          qos: 1
          retained: false
    - name: mode
      desired:
        value: heat
        metadata:
          type: string
          timestamp: "1717000000000"
      visitors:
        protocolName: modbus
        configData:
          register: CoilRegister
          offset: 2
          limit: 1
      reportCycle: 10000
      collectCycle: 5000
  methods:
    - name: set-mode
      description: switch heating and cooling
      propertyNames: [mode]
status:
  state: online
  lastOnlineTime: "2024-05-29T16:26:40Z"
  twins:
    - propertyName: mode
      reported:
        value: heat
        metadata:
          timestamp: "1717000000400"
          type: string
      observedDesired:
        value: heat
        metadata:
          timestamp: "1717000000000"
          type: string
    - propertyName: temperature
      reported:
        value: "21.5"
`);

// A broken variant is the example with one edit made to a deep copy, so examples stay untouched.
type Editable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const changed = (object: JsonObject, change: (copy: Editable) => void): JsonObject => {
  const copy = JSON.parse(JSON.stringify(object)) as Editable;
  change(copy);
  return copy as JsonObject;
};

describe('loadBundledCrds', () => {
  it('when loaded, then it holds the Device and DeviceModel CRDs of devices.kubeedge.io, the NodeSync of edgehive.io and the Rule and RuleEndpoint of rules.kubeedge.io', () => {
    const crds = loadBundledCrds();
    expect(crds.map((crd) => asObject(crd['metadata'])['name'])).toEqual(['devices.devices.kubeedge.io', 'devicemodels.devices.kubeedge.io', 'nodesyncs.edgehive.io', 'rules.rules.kubeedge.io', 'ruleendpoints.rules.kubeedge.io']);
    expect(crds.every((crd) => crd['apiVersion'] === 'apiextensions.k8s.io/v1' && crd['kind'] === 'CustomResourceDefinition')).toBe(true);
  });

  it('when checked against the upstream CustomResourceDefinition model, then every manifest is valid', () => {
    // kubernetes-models validates plain JSON against Kubernetes' published OpenAPI for apiextensions.k8s.io/v1.
    type CrdModelInput = ConstructorParameters<typeof CustomResourceDefinition>[0];
    for (const crd of loadBundledCrds()) expect(() => new CustomResourceDefinition(crd as unknown as CrdModelInput).validate()).not.toThrow();
  });

  it('when loaded twice, then the same parsed manifests are returned', () => {
    expect(loadBundledCrds()).toBe(loadBundledCrds());
  });

  it.each([
    ['devices.devices.kubeedge.io', { kind: 'Device', listKind: 'DeviceList', plural: 'devices', singular: 'device' }],
    ['devicemodels.devices.kubeedge.io', { kind: 'DeviceModel', listKind: 'DeviceModelList', plural: 'devicemodels', singular: 'devicemodel' }],
  ])('when %s is read, then it is namespaced, named as upstream (no short names) and serves v1beta1 as storage', (name, names) => {
    const spec = asObject(crdNamed(name)['spec']);
    expect(spec['group']).toBe('devices.kubeedge.io');
    expect(spec['scope']).toBe('Namespaced');
    expect(spec['names']).toEqual(names);
    expect(asList(spec['versions'])).toHaveLength(1);
    expect(onlyVersionOf(crdNamed(name))).toMatchObject({ name: 'v1beta1', served: true, storage: true });
  });

  it('when the Device CRD is read, then status is a subresource and kubectl shows node, model, protocol and state', () => {
    const version = onlyVersionOf(crdNamed('devices.devices.kubeedge.io'));
    expect(version['subresources']).toEqual({ status: {} });
    const columns = asList(version['additionalPrinterColumns']).map((column) => {
      const { name, jsonPath, type } = asObject(column);
      return [name, jsonPath, type];
    });
    expect(columns).toEqual([
      ['Node', '.spec.nodeName', 'string'],
      ['Model', '.spec.deviceModelRef.name', 'string'],
      ['Protocol', '.spec.protocol.protocolName', 'string'],
      ['State', '.status.state', 'string'],
      ['Last Online', '.status.lastOnlineTime', 'string'],
      ['Age', '.metadata.creationTimestamp', 'date'],
    ]);
  });

  it('when the DeviceModel CRD is read, then it has no status subresource and shows the protocol', () => {
    const version = onlyVersionOf(crdNamed('devicemodels.devices.kubeedge.io'));
    expect(version['subresources']).toBeUndefined();
    expect(asList(version['additionalPrinterColumns']).map((column) => asObject(column)['jsonPath'])).toEqual(['.spec.protocol', '.metadata.creationTimestamp']);
  });
});

describe('given the DeviceModel schema', () => {
  const schema = schemaOf('devicemodels.devices.kubeedge.io');

  it('when the thermostat model is checked, then it is valid, fully known and unchanged by pruning and defaulting', () => {
    expect(schema.validate(thermostatModel)).toEqual([]);
    expect(schema.unknownFields(thermostatModel)).toEqual([]);
    expect(schema.prune(thermostatModel)).toEqual(thermostatModel);
    expect(schema.applyDefaults(thermostatModel)).toEqual(thermostatModel);
  });

  it('when a property type is not one KubeEdge knows, then the seven types are listed', () => {
    const broken = changed(thermostatModel, (model) => {
      model['spec'].properties[0].type = 'DECIMAL';
    });
    expect(schema.validate(broken).map(formatFieldError)).toEqual([
      'spec.properties[0].type: Unsupported value: "DECIMAL": supported values: "INT", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "BYTES", "STREAM"',
    ]);
  });

  it('when an access mode is wrong, then ReadWrite and ReadOnly are offered', () => {
    const broken = changed(thermostatModel, (model) => {
      model['spec'].properties[1].accessMode = 'WriteOnly';
    });
    expect(schema.validate(broken)).toEqual([
      { field: 'spec.properties[1].accessMode', type: 'FieldValueNotSupported', message: 'Unsupported value: "WriteOnly": supported values: "ReadWrite", "ReadOnly"' },
    ]);
  });

  it('when minimum is written as a number, then it must be a string as upstream declares it', () => {
    const broken = changed(thermostatModel, (model) => {
      model['spec'].properties[0].minimum = -40;
    });
    expect(schema.validate(broken).map(formatFieldError)).toEqual([
      'spec.properties[0].minimum: Invalid value: "integer": spec.properties[0].minimum in body must be of type string: "integer"',
    ]);
  });

  it('when the model carries protocolConfigData and property visitors, then both are kept as given', () => {
    const withConfig = changed(thermostatModel, (model) => {
      model['spec'].protocolConfigData = { baudRate: 9600, parity: 'none' };
      model['spec'].properties[0].visitors = { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 4 } };
    });
    expect(schema.validate(withConfig)).toEqual([]);
    expect(schema.unknownFields(withConfig)).toEqual([]);
    expect(schema.prune(withConfig)).toEqual(withConfig);
  });
});

describe('given the Device schema', () => {
  const schema = schemaOf('devices.devices.kubeedge.io');

  it('when the lobby thermostat is checked, then it is valid, fully known and unchanged by pruning and defaulting', () => {
    expect(schema.validate(lobbyThermostat)).toEqual([]);
    expect(schema.unknownFields(lobbyThermostat)).toEqual([]);
    expect(schema.prune(lobbyThermostat)).toEqual(lobbyThermostat);
    expect(schema.applyDefaults(lobbyThermostat)).toEqual(lobbyThermostat);
  });

  it('when a desired value is missing, then it is required', () => {
    const broken = changed(lobbyThermostat, (device) => {
      delete device['spec'].properties[1].desired.value;
    });
    expect(schema.validate(broken)).toEqual([{ field: 'spec.properties[1].desired.value', type: 'FieldValueRequired', message: 'Required value' }]);
  });

  it('when a reported twin value is missing, then it is required in status', () => {
    const broken = changed(lobbyThermostat, (device) => {
      device['status'].twins[1].reported = { metadata: { timestamp: '1717000000500' } };
    });
    expect(schema.validate(broken).map(formatFieldError)).toEqual(['status.twins[1].reported.value: Required value']);
  });

  it('when a report cycle is written as a duration string, then it must be an integer', () => {
    const broken = changed(lobbyThermostat, (device) => {
      device['spec'].properties[0].reportCycle = '10s';
    });
    expect(schema.validate(broken).map(formatFieldError)).toEqual([
      'spec.properties[0].reportCycle: Invalid value: "string": spec.properties[0].reportCycle in body must be of type integer: "string"',
    ]);
  });

  it('when twin metadata holds a number, then metadata is a map of strings', () => {
    const broken = changed(lobbyThermostat, (device) => {
      device['status'].twins[0].reported.metadata.timestamp = 1717000000400;
    });
    expect(schema.validate(broken).map(formatFieldError)).toEqual([
      'status.twins[0].reported.metadata.timestamp: Invalid value: "integer": status.twins[0].reported.metadata.timestamp in body must be of type string: "integer"',
    ]);
  });

  it('when a property has a field KubeEdge does not define, then it is unknown, refused under Strict and pruned otherwise', () => {
    const withColour = changed(lobbyThermostat, (device) => {
      device['spec'].properties[0].colour = 'red';
    });
    expect(schema.validate(withColour)).toEqual([]);
    expect(schema.unknownFields(withColour).map(unknownFieldMessage)).toEqual(['unknown field "spec.properties[0].colour"']);
    expect(schema.prune(withColour)).toEqual(lobbyThermostat);
  });

  it('when protocol and visitor config data hold vendor-specific keys, then they are preserved, as KubeEdge preserves them', () => {
    const vendor = changed(lobbyThermostat, (device) => {
      device['spec'].protocol.configData.vendorExtension = { firmware: '2.1', retries: [1, 2, 3] };
      device['spec'].properties[0].visitors.configData.dataType = 'float';
    });
    expect(schema.unknownFields(vendor)).toEqual([]);
    expect(schema.prune(vendor)).toEqual(vendor);
  });

  it('when the model reference has no name, then the name defaults to the empty string as upstream declares', () => {
    const unnamed = changed(lobbyThermostat, (device) => {
      device['spec'].deviceModelRef = {};
    });
    expect(asObject(asObject(schema.applyDefaults(unnamed))['spec'])['deviceModelRef']).toEqual({ name: '' });
  });

  it('when a device uses the v1.23 stateReport, then it validates', () => {
    const reporting = changed(lobbyThermostat, (device) => {
      device['spec'].stateReport = { reportToCloud: true, reportCycle: 30000 };
    });
    expect(schema.validate(reporting)).toEqual([]);
    expect(schema.unknownFields(reporting)).toEqual([]);
  });
});
