// fast-check generators of device twin command sequences, valid and invalid mixed, drawing names
// and values from small pools so updates often meet expectations, with time moving forward.
import fc from 'fast-check';
import type { CloudTwinMessage, DeviceProperty, EdgeTwinMessage, TwinCommand } from './twin.decider.js';

const startMs = Date.UTC(2026, 10, 1);
const keys = ['temperature', 'power', 'mode', 'bad key'] as const;
const values = ['21', '25', '23.5', 'true', 'on', ''] as const;
const types = [undefined, '', 'int', 'float', 'boolean', 'string', 'colour'] as const;

const key = fc.oneof({ arbitrary: fc.constantFrom('temperature', 'power', 'mode'), weight: 9 }, { arbitrary: fc.constant(keys[3]), weight: 1 });
const value = fc.constantFrom(...values);
const type = fc.constantFrom(...types);

const propertyArbitrary: fc.Arbitrary<DeviceProperty> = fc
  .record({ name: key, type, desired: fc.option(value, { nil: null }) })
  .map(({ name, type: t, desired }) => ({ name, desired, ...(t === undefined ? {} : { type: t }) }));

/** Properties a Device would really declare: distinct names, values of their type. */
const validPropertiesArbitrary: fc.Arbitrary<DeviceProperty[]> = fc.uniqueArray(
  fc.oneof(
    fc.record({ name: fc.constantFrom('temperature', 'power', 'mode'), type: fc.constant('float'), desired: fc.option(fc.constantFrom('21', '25', '23.5'), { nil: null }) }),
    fc.record({ name: fc.constantFrom('temperature', 'power', 'mode'), desired: fc.option(value, { nil: null }) }),
  ),
  { minLength: 1, maxLength: 3, selector: (p) => p.name },
);

const cloudTwinArbitrary: fc.Arbitrary<CloudTwinMessage | null> = fc.option(
  fc
    .record({ expected: fc.option(value.map((v) => ({ value: v })), { nil: null }), type, cloud: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), edge: fc.constantFrom(0, 0, 1) })
    .map(({ expected, type: t, cloud, edge }) => ({
      expected,
      ...(t === undefined ? {} : { metadata: { type: t } }),
      ...(cloud === undefined ? {} : { expected_version: { cloud, edge } }),
    })),
  { nil: null, freq: 6 },
);

const edgeTwinArbitrary: fc.Arbitrary<EdgeTwinMessage | null> = fc.option(
  fc
    .record({ actual: fc.option(value, { nil: undefined }), optional: fc.option(fc.boolean(), { nil: undefined }), type, setsExpected: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) })
    .map(({ actual, optional, type: t, setsExpected }) => ({
      ...(actual === undefined ? {} : { actual: { value: actual } }),
      ...(optional === undefined ? {} : { optional }),
      ...(t === undefined ? {} : { metadata: { type: t } }),
      ...(setsExpected ? { expected: { value: '30' } } : {}),
    })),
  { nil: null, freq: 5 },
);

const twinMapOf = <T>(item: fc.Arbitrary<T>): fc.Arbitrary<{ [key: string]: T }> =>
  fc.uniqueArray(fc.tuple(key, item), { maxLength: 3, selector: ([k]) => k }).map((entries) => Object.fromEntries(entries));

/** A command whose `at` is filled in once the sequence's clock is known. */
type Step = (atMs: number) => TwinCommand;

const device = { namespace: 'default', name: 'thermostat', uid: 'd1' };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ generation: fc.integer({ min: 0, max: 3 }), properties: fc.array(propertyArbitrary, { maxLength: 3 }) }).map((d): Step => (at) => ({ type: 'AddDevice', data: { device, ...d, at } })), weight: 2 },
  { arbitrary: twinMapOf(cloudTwinArbitrary).map((twin): Step => (at) => ({ type: 'SyncFromCloud', data: { twin, at } })), weight: 12 },
  { arbitrary: fc.tuple(fc.constantFrom('e1', 'e2'), twinMapOf(edgeTwinArbitrary)).map(([event_id, twin]): Step => (at) => ({ type: 'UpdateTwinFromEdge', data: { event_id, twin, at } })), weight: 18 },
  { arbitrary: fc.constantFrom('online', 'ONLINE', 'offline', 'ok', 'unknown', 'unhealthy', 'sleepy').map((state): Step => (at) => ({ type: 'ReportDeviceState', data: { state, at } })), weight: 6 },
  { arbitrary: fc.constant<Step>((at) => ({ type: 'RemoveDevice', data: { at } })), weight: 1 },
  { arbitrary: fc.constant<Step>(() => ({ type: 'ReportDeviceState', data: { state: 'online', at: -1 } })), weight: 2 },
);

/** Random twin command sequences; the device is added first most of the time. */
export const twinCommandsArbitrary: fc.Arbitrary<TwinCommand[]> = fc
  .tuple(fc.option(validPropertiesArbitrary, { nil: undefined, freq: 5 }), fc.array(fc.tuple(stepArbitrary, fc.integer({ min: 0, max: 60_000 })), { maxLength: 30, size: 'medium' }))
  .map(([properties, steps]) => {
    let at = startMs;
    const commands = steps.map(([step, gapMs]) => {
      at += gapMs;
      return step(at);
    });
    return properties === undefined ? commands : [{ type: 'AddDevice', data: { device, generation: 1, properties, at: startMs } }, ...commands];
  });
