// Method: the sample is read as `kubectl apply -f` sends it (one object per YAML document) and each
// object is checked against its bundled CRD's schema the way the server checks it (as in
// k8s/crds/device-crds.unit.spec.ts), then against what `edgehive mapper sim` expects by default.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { isJsonObject, type JsonObject, type JsonValue } from '../../kernel/index.js';
import { compileCrdSchema, formatFieldError, loadBundledCrds, type CrdSchema } from '../crds/crd-schema.js';

const sampleText = readFileSync(new URL('./thermometer.yaml', import.meta.url), 'utf8');

const asObject = (value: JsonValue | undefined): JsonObject => {
  if (!isJsonObject(value)) throw new Error('expected an object');
  return value as JsonObject;
};
const asList = (value: JsonValue | undefined): readonly JsonValue[] => {
  if (!Array.isArray(value)) throw new Error('expected a list');
  return value;
};

const documents = parseAllDocuments(sampleText).map((document) => {
  if (document.errors.length > 0) throw new Error(document.errors.map((error) => error.message).join('; '));
  return asObject(document.toJS() as JsonValue);
});
const objectOfKind = (kind: string): JsonObject => {
  const found = documents.filter((document) => document['kind'] === kind);
  if (found.length !== 1) throw new Error(`the sample holds ${found.length} ${kind} objects`);
  return found[0]!;
};

const schemaOf = (crdName: string): CrdSchema => {
  const crd = loadBundledCrds().find((candidate) => asObject(candidate['metadata'])['name'] === crdName);
  if (crd === undefined) throw new Error(`no bundled CRD ${crdName}`);
  const version = asObject(asList(asObject(crd['spec'])['versions'])[0]);
  const compiled = compileCrdSchema(asObject(version['schema'])['openAPIV3Schema'] ?? null);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.value;
};

const model = objectOfKind('DeviceModel');
const device = objectOfKind('Device');
const namesOf = (properties: JsonValue | undefined): JsonValue[] => asList(properties).map((property) => asObject(property)['name'] ?? null);

describe('the thermometer sample', () => {
  it('when read, then it holds one DeviceModel and one Device of devices.kubeedge.io/v1beta1 in namespace default, nothing else', () => {
    expect(documents.map((document) => [document['apiVersion'], document['kind'], asObject(document['metadata'])['namespace']])).toEqual([
      ['devices.kubeedge.io/v1beta1', 'DeviceModel', 'default'],
      ['devices.kubeedge.io/v1beta1', 'Device', 'default'],
    ]);
  });

  it('when the DeviceModel is checked against its CRD, then it is valid, fully known and unchanged by pruning and defaulting', () => {
    const schema = schemaOf('devicemodels.devices.kubeedge.io');
    expect(schema.validate(model).map(formatFieldError)).toEqual([]);
    expect(schema.unknownFields(model)).toEqual([]);
    expect(schema.prune(model)).toEqual(model);
    expect(schema.applyDefaults(model)).toEqual(model);
  });

  it('when the Device is checked against its CRD, then it is valid, fully known and unchanged by pruning and defaulting', () => {
    const schema = schemaOf('devices.devices.kubeedge.io');
    expect(schema.validate(device).map(formatFieldError)).toEqual([]);
    expect(schema.unknownFields(device)).toEqual([]);
    expect(schema.prune(device)).toEqual(device);
    expect(schema.applyDefaults(device)).toEqual(device);
  });

  it('when the model is read, then temperature is a read-only FLOAT and target-temperature a read-write FLOAT', () => {
    expect(asObject(model['metadata'])['name']).toBe('thermometer-model');
    const properties = asList(asObject(model['spec'])['properties']).map((property) => {
      const { name, type, accessMode } = asObject(property);
      return { name, type, accessMode };
    });
    expect(properties).toEqual(
      expect.arrayContaining([
        { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
        { name: 'target-temperature', type: 'FLOAT', accessMode: 'ReadWrite' },
      ]),
    );
  });

  it("when the device is read, then it is thermometer-1 on edge-1, speaks mqtt-sim, uses the model, and desires 21 for the target only", () => {
    expect(asObject(device['metadata'])['name']).toBe('thermometer-1');
    const spec = asObject(device['spec']);
    expect(spec['nodeName']).toBe('edge-1');
    expect(spec['deviceModelRef']).toEqual({ name: asObject(model['metadata'])['name'] });
    expect(asObject(spec['protocol'])['protocolName']).toBe('mqtt-sim');
    const desired = Object.fromEntries(asList(spec['properties']).map((property) => [asObject(property)['name'], asObject(property)['desired'] ?? null]));
    expect(desired).toEqual({ 'target-temperature': { value: '21', metadata: { type: 'float' } }, temperature: null });
  });

  it("when the device's properties are read, then the model declares each of them", () => {
    const modelNames = namesOf(asObject(model['spec'])['properties']);
    for (const name of namesOf(asObject(device['spec'])['properties'])) expect(modelNames).toContain(name);
  });
});
