// Device translation, given/when/then: given a Device (and maybe its DeviceModel), when it is read
// for the twin, then the AddDevice properties and the cloud sync say what the cloud declares.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { addDeviceCommand, cloudSyncCommand, declarationSignature, declaredProperties, DEVICE_PROPERTIES_MAX, modelPropertyTypes, readDevice, type HeldDevice } from './device-translation.js';

const t0 = 1_790_000_000_000;

const deviceOf = (properties: readonly JsonObject[], extra: { generation?: number; nodeName?: string; uid?: string } = {}): JsonObject => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'thermostat', namespace: 'plant', uid: extra.uid ?? 'u1', generation: extra.generation ?? 2, annotations: { description: 'hall thermostat' } },
  spec: { deviceModelRef: { name: 'thermo-model' }, nodeName: extra.nodeName ?? 'edge-1', properties },
});

const modelOf = (properties: readonly JsonObject[]): JsonObject => ({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'thermo-model', namespace: 'plant' }, spec: { properties } });

const held = (object: JsonObject): HeldDevice => {
  const read = readDevice(object);
  if (!read.ok) throw new Error(read.error);
  return read.value;
};

describe('reading a Device', () => {
  it('takes its ref, generation, model, node, description and desired values', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '25', metadata: { type: 'float' } } }, { name: 'mode' }]));
    expect(device).toEqual({
      ref: { namespace: 'plant', name: 'thermostat', uid: 'u1' },
      generation: 2,
      modelName: 'thermo-model',
      nodeName: 'edge-1',
      description: 'hall thermostat',
      properties: [
        { name: 'temperature', desired: '25', desiredType: 'float' },
        { name: 'mode', desired: null, desiredType: undefined },
      ],
    });
  });

  it('refuses a Device without a uid', () => {
    expect(readDevice({ metadata: { name: 'x', namespace: 'plant' } })).toEqual({ ok: false, error: 'a Device needs metadata.name and metadata.uid' });
  });

  it('reads a missing or malformed generation as 0', () => {
    expect(held({ metadata: { name: 'x', uid: 'u', generation: -3 } }).generation).toBe(0);
    expect(held({ metadata: { name: 'x', uid: 'u' } }).generation).toBe(0);
  });

  it('refuses more properties than the bound', () => {
    const many = Array.from({ length: DEVICE_PROPERTIES_MAX + 1 }, (_, i) => ({ name: `p${i}` }));
    expect(readDevice(deviceOf(many)).ok).toBe(false);
  });
});

describe('property types', () => {
  it('come from the model, lowercased, unknown ones as string', () => {
    const model = modelOf(['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOLEAN', 'BYTES', 'STREAM'].map((type) => ({ name: type.toLowerCase(), type, accessMode: 'ReadWrite' })));
    expect(Object.fromEntries(modelPropertyTypes(model))).toEqual({ int: 'int', float: 'float', double: 'double', string: 'string', boolean: 'boolean', bytes: 'bytes', stream: 'string' });
  });

  it('fall back to desired.metadata.type, then string, while the model is not held', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '25', metadata: { type: 'FLOAT' } } }, { name: 'mode', desired: { value: 'eco' } }, { name: 'odd', desired: { value: 'x', metadata: { type: 'matrix' } } }]));
    expect(declaredProperties(device, undefined)).toEqual([
      { name: 'temperature', type: 'float', desired: '25' },
      { name: 'mode', type: 'string', desired: 'eco' },
      { name: 'odd', type: 'string', desired: 'x' },
    ]);
  });

  it('prefer the model over desired.metadata.type', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '25', metadata: { type: 'string' } } }]));
    expect(declaredProperties(device, modelOf([{ name: 'temperature', type: 'INT' }]))).toEqual([{ name: 'temperature', type: 'int', desired: '25' }]);
  });
});

describe('given a Device new to this node', () => {
  it('AddDevice carries its properties at its generation', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '25' } }], { generation: 4 }));
    expect(addDeviceCommand(device, modelOf([{ name: 'temperature', type: 'FLOAT' }]), t0)).toEqual({
      type: 'AddDevice',
      data: { device: device.ref, generation: 4, properties: [{ name: 'temperature', type: 'float', desired: '25' }], at: t0 },
    });
  });
});

describe('given a twin that exists', () => {
  const declaredTwin = { expected: { value: '25', metadata: { timestamp: t0 } }, actual: null, optional: false, metadata: { type: 'float' }, expected_version: { cloud: 2, edge: 0 }, actual_version: null };
  const mqttAdded = { expected: null, actual: { value: 'on', metadata: { timestamp: t0 } }, optional: true, metadata: { type: 'string' }, expected_version: null, actual_version: { cloud: 0, edge: 1 } };

  it('a sync carries every declared property at the new generation', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '30' } }, { name: 'mode', desired: { value: '' } }], { generation: 3 }));
    const sync = cloudSyncCommand(device, modelOf([{ name: 'temperature', type: 'FLOAT' }]), { temperature: declaredTwin }, t0 + 1);
    expect(sync).toEqual({
      type: 'SyncFromCloud',
      data: {
        twin: {
          temperature: { expected: { value: '30' }, metadata: { type: 'float' }, expected_version: { cloud: 3, edge: 0 } },
          mode: { expected: null, metadata: { type: 'string' }, expected_version: { cloud: 3, edge: 0 } },
        },
        at: t0 + 1,
      },
    });
  });

  it('a generation below the twin’s (an API server restored from a backup) rebases the versions instead of being refused as older', () => {
    const device = held(deviceOf([{ name: 'temperature', desired: { value: '21' } }], { generation: 1 }));
    const sync = cloudSyncCommand(device, modelOf([{ name: 'temperature', type: 'FLOAT' }]), { temperature: declaredTwin }, t0 + 1);
    expect(sync.data).toMatchObject({ rebase: true, twin: { temperature: { expected: { value: '21' }, expected_version: { cloud: 1, edge: 0 } } } });
    expect(cloudSyncCommand(held(deviceOf([{ name: 'temperature', desired: { value: '21' } }], { generation: 2 })), undefined, { temperature: declaredTwin }, t0).data).not.toHaveProperty('rebase');
  });

  it('a property dropped from the spec syncs as null, one a mapper added does not', () => {
    const device = held(deviceOf([], { generation: 3 }));
    const sync = cloudSyncCommand(device, undefined, { temperature: declaredTwin, light: mqttAdded }, t0 + 1);
    expect(sync.data.twin).toEqual({ temperature: null });
  });

  it('an already deleted property is not deleted again', () => {
    const device = held(deviceOf([], { generation: 3 }));
    const deleted = { ...declaredTwin, expected: null, metadata: { type: 'deleted' } };
    expect(cloudSyncCommand(device, undefined, { temperature: deleted }, t0).data.twin).toEqual({});
  });
});

describe('the declaration signature', () => {
  const device = held(deviceOf([{ name: 'temperature', desired: { value: '25' } }]));

  it('is the same for the same declaration', () => {
    expect(declarationSignature(device, undefined)).toBe(declarationSignature(held(deviceOf([{ name: 'temperature', desired: { value: '25' } }])), undefined));
  });

  it('changes when the model arrives with another type', () => {
    expect(declarationSignature(device, modelOf([{ name: 'temperature', type: 'FLOAT' }]))).not.toBe(declarationSignature(device, undefined));
  });

  it('changes with the generation', () => {
    expect(declarationSignature(held(deviceOf([{ name: 'temperature', desired: { value: '25' } }], { generation: 9 })), undefined)).not.toBe(declarationSignature(device, undefined));
  });
});
