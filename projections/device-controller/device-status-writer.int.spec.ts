// DeviceStatusWriter against the embedded API server started in-process, through client-node.
// Method: given the Device and DeviceModel CRDs as the server bundles them, a DeviceModel and a
// Device bound to edge-1, when twin and state reports are performed as the cloud hub hands them out
// (with their edge positions), then `status.twins` read back through client-node (and `kubectl get
// -o yaml`) shows KubeEdge's mapping; many reports for one device are coalesced into far fewer
// writes with the last value winning; reports about a deleted or re-created device write nothing
// and still resolve. The server's status subresource itself is checked first: merge patch and PUT
// on /status write status only, and writes of the main resource never clobber it.
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import { findKubectl, kubectlRunner } from '../../k8s/api/kubectl.testing.js';
import type { EmbeddedApiServer } from '../../k8s/index.js';
import type { JsonObject } from '../../kernel/index.js';
import type { UpEvent } from '../../transport/index.js';
import { DEVICE_STATE_REPORTED, POD_STATUS_REPORTED, TWIN_REPORTED } from '../reports/edge-reports.js';
import { DEVICE_POSITION_KEY } from './device-status.plan.js';
import { DeviceStatusWriter } from './device-status-writer.js';

const fixture = new ApiServerFixture();
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fixture.teardown();
});

const namespace = 'default';
const group = 'devices.kubeedge.io';
const version = 'v1beta1';
const roomy = { perObject: { perSecond: 1000, burst: 1000 }, global: { perSecond: 1000, burst: 1000 }, objectsTrackedMax: 1000 };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Device = JsonObject & { metadata: { uid: string; resourceVersion: string; generation?: number }; spec: JsonObject; status?: JsonObject & { twins?: JsonObject[] } };

interface World {
  readonly server: EmbeddedApiServer;
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly warnings: string[];
  writer(): DeviceStatusWriter;
}

async function world(): Promise<World> {
  const server = await fixture.start();
  const kc = kubeConfigOf(server);
  const warnings: string[] = [];
  const log = { warn: (_fields: object, message: string) => void warnings.push(message) };
  return { server, kc, custom: kc.makeApiClient(CustomObjectsApi), warnings, writer: () => new DeviceStatusWriter(kc, log, { limits: roomy }) };
}

const thermostatModel = {
  apiVersion: `${group}/${version}`,
  kind: 'DeviceModel',
  metadata: { name: 'thermostat-model' },
  spec: { protocol: 'modbus', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }, { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' }] },
};
const thermostat = (name: string) => ({
  apiVersion: `${group}/${version}`,
  kind: 'Device',
  metadata: { name },
  spec: {
    deviceModelRef: { name: 'thermostat-model' },
    nodeName: 'edge-1',
    protocol: { protocolName: 'modbus' },
    properties: [
      { name: 'temperature', desired: { value: '' } },
      { name: 'mode', desired: { value: 'heat', metadata: { type: 'string' } } },
    ],
  },
});

const getDevice = async (w: World, name: string): Promise<Device> => (await w.custom.getNamespacedCustomObject({ group, version, namespace, plural: 'devices', name })) as Device;

async function givenAThermostat(w: World, name = 'lobby'): Promise<Device> {
  await w.custom.createNamespacedCustomObject({ group, version, namespace, plural: 'devicemodels', body: thermostatModel }).catch((error: unknown) => {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
  });
  return (await w.custom.createNamespacedCustomObject({ group, version, namespace, plural: 'devices', body: thermostat(name) })) as Device;
}

const twinReport = (name: string, uid: string, temperature: string, mode: { expected: string; actual: string } | null = { expected: 'heat', actual: 'off' }): UpEvent => ({
  type: TWIN_REPORTED,
  data: {
    resource: `device/${namespace}/${name}/twin/edge_updated`,
    UID: uid,
    event_id: `e-${temperature}`,
    timestamp: 1717000000999,
    twin: {
      temperature: { expected: null, actual: { value: temperature, metadata: { timestamp: 1717000000400 } }, optional: false, metadata: { type: 'float' }, actual_version: { cloud: 0, edge: 1 } },
      mode:
        mode === null
          ? null
          : { expected: { value: mode.expected, metadata: { timestamp: 1717000000000 } }, actual: { value: mode.actual, metadata: { timestamp: 1717000000400 } }, optional: true, metadata: { type: 'string' } },
    },
  },
});
const stateReport = (name: string, uid: string, state: string, lastOnlineTime?: string): UpEvent => ({
  type: DEVICE_STATE_REPORTED,
  data: { resource: `device/${namespace}/${name}/state/update`, UID: uid, event_id: 's', timestamp: 1717000001000, device: { name, state, ...(lastOnlineTime === undefined ? {} : { lastOnlineTime }) } },
});

const valuesOf = (device: Device): Record<string, string | undefined> =>
  Object.fromEntries((device.status?.twins ?? []).map((t) => [t['propertyName'] as string, ((t['reported'] as JsonObject | undefined)?.['value'] as string | undefined) ?? undefined]));

describe('the embedded API server serves the Device status subresource', () => {
  it('has the bundled Device and DeviceModel CRDs from its first start', async () => {
    const w = await world();
    const crds = (await w.custom.listClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' })) as { items: Array<{ metadata: { name: string } }> };
    expect(crds.items.map((c) => c.metadata.name)).toEqual(expect.arrayContaining(['devices.devices.kubeedge.io', 'devicemodels.devices.kubeedge.io']));
  });

  it('merge patch and PUT on /status write the status only; a main-resource update or patch never clobbers it', async () => {
    const w = await world();
    const created = await givenAThermostat(w);
    const twins = [{ propertyName: 'temperature', reported: { value: '20', metadata: { timestamp: '1', type: 'float' } } }];
    const patched = (await w.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: 'devices', name: 'lobby', body: { spec: { nodeName: 'elsewhere' }, status: { twins, state: 'online' } } },
      mergePatch,
    )) as Device;
    expect(patched.status).toEqual({ twins, state: 'online' });
    expect(patched.spec['nodeName']).toBe('edge-1');
    // A merge patch carrying a stale resourceVersion conflicts (the writer's read-compare-write rests on it).
    await expect(
      w.custom.patchNamespacedCustomObjectStatus({ group, version, namespace, plural: 'devices', name: 'lobby', body: { metadata: { resourceVersion: created.metadata.resourceVersion }, status: { state: 'unknown' } } }, mergePatch),
    ).rejects.toMatchObject({ code: 409 });

    // PUT /status with the resourceVersion read: status replaced, spec untouched.
    const put = (await w.custom.replaceNamespacedCustomObjectStatus({
      group, version, namespace, plural: 'devices', name: 'lobby',
      body: { ...patched, spec: { ...patched.spec, nodeName: 'elsewhere' }, status: { twins, state: 'offline' } },
    })) as Device;
    expect(put.status?.['state']).toBe('offline');
    expect(put.spec['nodeName']).toBe('edge-1');
    // A stale resourceVersion conflicts.
    await expect(w.custom.replaceNamespacedCustomObjectStatus({ group, version, namespace, plural: 'devices', name: 'lobby', body: { ...patched, status: { state: 'unknown' } } })).rejects.toMatchObject({ code: 409 });

    // The main resource: PUT without status, and a merge patch carrying status, keep the stored status.
    const current = await getDevice(w, 'lobby');
    const { status: _dropped, ...withoutStatus } = current;
    const replaced = (await w.custom.replaceNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby', body: { ...withoutStatus, spec: { ...current.spec, nodeName: 'edge-2' } } })) as Device;
    expect(replaced.spec['nodeName']).toBe('edge-2');
    expect(replaced.status).toEqual({ twins, state: 'offline' });
    const mainPatched = (await w.custom.patchNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby', body: { spec: { nodeName: 'edge-1' }, status: { state: 'clobbered' } } }, mergePatch)) as Device;
    expect(mainPatched.spec['nodeName']).toBe('edge-1');
    expect(mainPatched.status?.['state']).toBe('offline');
    // Status writes leave the generation alone; spec writes move it (the twin's cloud version, DESIGN.md).
    expect(put.metadata.generation).toBe(created.metadata.generation);
    expect(mainPatched.metadata.generation).toBeGreaterThan(created.metadata.generation ?? 0);
  });
});

describe('DeviceStatusWriter', () => {
  it('writes a twin report into status.twins (actual → reported, expected → observedDesired) and a state report into state and lastOnlineTime', async () => {
    const w = await world();
    const device = await givenAThermostat(w);
    const writer = w.writer();
    expect(writer.handles(TWIN_REPORTED) && writer.handles(DEVICE_STATE_REPORTED)).toBe(true);
    expect(writer.handles(POD_STATUS_REPORTED)).toBe(false);

    await writer.perform('edge-1', 'journal-a', 1, twinReport('lobby', device.metadata.uid, '23.5'));
    await writer.perform('edge-1', 'journal-a', 2, stateReport('lobby', device.metadata.uid, 'online', '2024-05-29T16:26:40Z'));

    const read = await getDevice(w, 'lobby');
    expect(read.status).toEqual({
      twins: [
        { propertyName: 'temperature', reported: { value: '23.5', metadata: { timestamp: '1717000000400', type: 'float', [DEVICE_POSITION_KEY]: 'journal-a/2' } } },
        {
          propertyName: 'mode',
          reported: { value: 'off', metadata: { timestamp: '1717000000400', type: 'string', [DEVICE_POSITION_KEY]: 'journal-a/2' } },
          observedDesired: { value: 'heat', metadata: { timestamp: '1717000000000', type: 'string', [DEVICE_POSITION_KEY]: 'journal-a/2' } },
        },
      ],
      state: 'online',
      lastOnlineTime: '2024-05-29T16:26:40Z',
    });
    expect(read.metadata.generation).toBe(device.metadata.generation);

    // A later report without mode: it leaves the list; an older position changes nothing.
    await writer.perform('edge-1', 'journal-a', 3, twinReport('lobby', device.metadata.uid, '24', null));
    await w.writer().perform('edge-1', 'journal-a', 2, twinReport('lobby', device.metadata.uid, '-1'));
    expect(valuesOf(await getDevice(w, 'lobby'))).toEqual({ temperature: '24' });
    expect((await getDevice(w, 'lobby')).status?.['state']).toBe('online');
  });

  it('shows the status in kubectl get device -o yaml and the state column in kubectl get devices', async () => {
    const w = await world();
    const device = await givenAThermostat(w);
    const writer = w.writer();
    await writer.perform('edge-1', 'journal-a', 1, twinReport('lobby', device.metadata.uid, '21'));
    await writer.perform('edge-1', 'journal-a', 2, stateReport('lobby', device.metadata.uid, 'online', '2024-05-29T16:26:40Z'));

    const minor = ['1.33', '1.32', '1.31', '1.30'].find((m) => findKubectl(m) !== undefined);
    if (minor === undefined) throw new Error('no kubectl 1.30–1.33 beside kubectl on this machine');
    const home = mkdtempSync(join(tmpdir(), 'edgehive-device-writer-kubectl-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const kubectl = kubectlRunner(findKubectl(minor)!, w.server.kubeconfigPath, home, join(home, 'cache'));
    cleanups.push(() => kubectl.killAll());
    const yaml = await kubectl.run(['get', 'device', 'lobby', '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    const shown = parseYaml(yaml.stdout) as Device;
    expect(shown.status?.['state']).toBe('online');
    expect(shown.status?.twins?.[0]).toMatchObject({ propertyName: 'temperature', reported: { value: '21', metadata: { type: 'float' } } });
    const table = await kubectl.run(['get', 'devices']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/lobby\s+edge-1\s+thermostat-model\s+modbus\s+online/);
  });

  it('coalesces 50 reports for one device into far fewer writes, and the last value wins', async () => {
    const w = await world();
    const device = await givenAThermostat(w);
    const writer = w.writer();
    const performed = Array.from({ length: 50 }, (_, i) => writer.perform('edge-1', 'journal-a', i + 1, twinReport('lobby', device.metadata.uid, String(i + 1))));
    await Promise.all(performed);
    expect(writer.writeCounts.requested).toBe(50);
    expect(writer.writeCounts.written).toBeLessThanOrEqual(5);
    const read = await getDevice(w, 'lobby');
    expect(valuesOf(read)).toEqual({ temperature: '50', mode: 'off' });
    expect(((read.status?.twins?.[0]?.['reported'] as JsonObject)['metadata'] as JsonObject)[DEVICE_POSITION_KEY]).toBe('journal-a/50');
  });

  it('writes nothing for a deleted device or its re-created successor, and still resolves', async () => {
    const w = await world();
    const first = await givenAThermostat(w);
    await w.custom.deleteNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby' });
    const writer = w.writer();
    await writer.perform('edge-1', 'journal-a', 1, twinReport('lobby', first.metadata.uid, '30'));
    await expect(w.custom.getNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby' })).rejects.toMatchObject({ code: 404 });

    const successor = await givenAThermostat(w);
    await writer.perform('edge-1', 'journal-a', 2, twinReport('lobby', first.metadata.uid, '31'));
    await writer.perform('edge-1', 'journal-a', 3, stateReport('lobby', first.metadata.uid, 'online'));
    const read = await getDevice(w, 'lobby');
    expect(read.metadata.uid).toBe(successor.metadata.uid);
    expect(read.metadata.resourceVersion).toBe(successor.metadata.resourceVersion);
    expect(read.status ?? {}).not.toHaveProperty('twins');
  });

  it('writes nothing for a device bound to another node, and applies malformed reports as nothing (logged)', async () => {
    const w = await world();
    const device = await givenAThermostat(w);
    const writer = w.writer();
    await writer.perform('edge-2', 'journal-b', 1, twinReport('lobby', device.metadata.uid, '99'));
    await writer.perform('edge-1', 'journal-a', 2, { type: TWIN_REPORTED, data: { resource: 'device/default/lobby/twin/edge_updated', UID: device.metadata.uid, twin: 'not a map' } });
    await writer.perform('edge-1', 'journal-a', 3, { type: DEVICE_STATE_REPORTED, data: null });
    const read = await getDevice(w, 'lobby');
    expect(read.metadata.resourceVersion).toBe(device.metadata.resourceVersion);
    expect(w.warnings).toEqual([
      'device status skipped: the device is bound to another node',
      'malformed device report; applied as nothing',
      'malformed device report; applied as nothing',
    ]);
  });

  it('a stale owner’s journal, retired in the node’s lineage, writes nothing over the new journal’s status', async () => {
    const w = await world();
    const device = await givenAThermostat(w);
    await w.kc.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: 'edge-1' } } });
    await w.writer().perform('edge-1', 'journal-old', 40, twinReport('lobby', device.metadata.uid, 'old'));
    // The edge is re-provisioned: its new journal starts low and is recorded as the node's newest.
    await w.writer().perform('edge-1', 'journal-new', 1, twinReport('lobby', device.metadata.uid, 'new'));
    // A paused owner of the old journal resumes with a later position of that journal.
    await w.writer().perform('edge-1', 'journal-old', 41, twinReport('lobby', device.metadata.uid, 'stale'));
    expect(valuesOf(await getDevice(w, 'lobby'))['temperature']).toBe('new');
  });
});
