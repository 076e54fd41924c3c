// Method: a real aedes broker on a loopback port, the mapper running in-process against it, and an
// MQTT client playing the edge's EventBus: it answers twin/get and sends deltas as KubeEdge's edge
// does (kubeedge-reference.md §5.3) and records what the mapper publishes. Waits are on conditions.
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopics } from '../../transport/index.js';
import { connectTestEdge, freePort, reportedActual, startTestBroker, type Seen, type TestBroker, type TestEdge } from './mapper-edge.testing.js';
import { mapperSimDepsDefault, runMapperSim, type MapperSimOptions } from './mapper-sim.js';

const device = { namespace: 'default', name: 'thermometer-1' };
const topics = {
  twinUpdate: deviceTopics.twinUpdate(device),
  twinGet: deviceTopics.twinGet(device),
  state: deviceTopics.stateUpdate(device),
  getResult: deviceTopics.getResult(device),
  delta: deviceTopics.delta(device),
  updateResult: deviceTopics.updateResult(device),
};
const fastRetries = { ...mapperSimDepsDefault, retryDelayMsMin: 50, retryDelayMsMax: 400 };

interface RunningMapper {
  readonly out: string[];
  readonly err: string[];
  readonly exit: Promise<number>;
  stop(): Promise<number>;
  waitForLine(stream: 'out' | 'err', pattern: RegExp, timeoutMs?: number): Promise<string>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startMapper(mqttUrl: string, overrides: Partial<MapperSimOptions> = {}): RunningMapper {
  const lines = { out: [] as string[], err: [] as string[] };
  const controller = new AbortController();
  const options: MapperSimOptions = { mqttUrl, device: 'default/thermometer-1', intervalMs: 40, property: 'temperature', targetProperty: 'target-temperature', initial: 19, ...overrides };
  const exit = runMapperSim(options, { out: (line) => lines.out.push(line), err: (line) => lines.err.push(line) }, controller.signal, fastRetries);
  const stop = (): Promise<number> => {
    controller.abort();
    return exit;
  };
  cleanups.push(stop);
  const waitForLine = async (stream: 'out' | 'err', pattern: RegExp, timeoutMs = 10_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines[stream].find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${stream} line matching ${pattern} within ${timeoutMs} ms; out:\n${lines.out.join('\n')}\nerr:\n${lines.err.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { ...lines, exit, stop, waitForLine };
}

async function startBrokerAndEdge(): Promise<{ broker: TestBroker; edge: TestEdge }> {
  const broker = await startTestBroker();
  cleanups.push(() => broker.close());
  const edge = await connectTestEdge(broker.url, device);
  cleanups.push(() => edge.close());
  return { broker, edge };
}

const isUpdate = (seen: Seen): boolean => seen.topic === topics.twinUpdate;
const temperatures = (seen: readonly Seen[]): string[] => seen.filter(isUpdate).flatMap((s) => reportedActual(s, 'temperature') ?? []);

/** The mapper announced itself and asked for the twin; the edge answers with expected `target`. */
async function answerGet(edge: TestEdge, target: string): Promise<void> {
  const get = await edge.waitFor('a twin/get', (s) => s.topic === topics.twinGet);
  await edge.publish(topics.getResult, {
    event_id: get.body['event_id'],
    timestamp: Date.now(),
    twin: {
      'target-temperature': { expected: { value: target, metadata: { timestamp: Date.now() } }, optional: false, metadata: { type: 'float' } },
      temperature: { optional: false, metadata: { type: 'float' } },
    },
  });
}

describe('given a broker and an edge', () => {
  it('when the mapper connects, then it reports online, asks for the twin, adopts the expected target and its readings climb to it by half degrees', async () => {
    const { broker, edge } = await startBrokerAndEdge();
    const mapper = startMapper(broker.url, { initial: 19 });
    const online = await edge.waitFor('the online state', (s) => s.topic === topics.state && s.body['state'] === 'online');
    expect(online.body).toEqual({ event_id: expect.any(String), timestamp: expect.any(Number), state: 'online' });
    const get = await edge.waitFor('a twin/get', (s) => s.topic === topics.twinGet);
    expect(get.body['event_id']).toEqual(expect.any(String));

    await answerGet(edge, '21');
    await edge.waitFor('the target actual 21', (s) => isUpdate(s) && reportedActual(s, 'target-temperature') === '21');
    await edge.waitFor('temperature 21', (s) => isUpdate(s) && reportedActual(s, 'temperature') === '21');

    const readings = temperatures(edge.seen).map(Number);
    expect(readings).toEqual([...readings].sort((a, b) => a - b));
    expect(new Set(readings)).toEqual(new Set([19, 19.5, 20, 20.5, 21]));
    const update = edge.seen.find((s) => isUpdate(s) && reportedActual(s, 'temperature') !== undefined)!;
    expect(update.body).toEqual({ event_id: expect.any(String), timestamp: expect.any(Number), twin: { temperature: { actual: { value: expect.any(String) }, metadata: { type: 'float' } } } });
    expect(mapper.out).toContain('mapper: target target-temperature = 21');
    expect(mapper.out).toContain('mapper: reported temperature = 21');
  });

  it('when a delta names a new target after a malformed one, then the malformed one is ignored and the mapper follows the new target down', async () => {
    const { broker, edge } = await startBrokerAndEdge();
    const mapper = startMapper(broker.url, { initial: 21 });
    await answerGet(edge, '21');
    await edge.waitFor('the target actual 21', (s) => isUpdate(s) && reportedActual(s, 'target-temperature') === '21');

    await edge.publish(topics.delta, '{"delta":');
    await edge.publish(topics.delta, { event_id: 'd-0', timestamp: Date.now(), twin: {}, delta: { 'target-temperature': 19 } });
    await mapper.waitForLine('err', /^mapper: ignored a delta message: delta\.target-temperature is not a string$/);
    const seenBefore = edge.seen.length;
    await edge.publish(topics.delta, {
      event_id: 'd-1',
      timestamp: Date.now(),
      twin: { 'target-temperature': { expected: { value: '19.5' }, actual: { value: '21' }, optional: false, metadata: { type: 'float' } } },
      delta: { 'target-temperature': '19.5' },
    });
    await edge.waitFor('the target actual 19.5', (s) => isUpdate(s) && reportedActual(s, 'target-temperature') === '19.5');
    await edge.waitFor('temperature 19.5', (s) => isUpdate(s) && reportedActual(s, 'temperature') === '19.5');

    expect(mapper.err.filter((line) => line.startsWith('mapper: ignored a delta message'))).toEqual([
      'mapper: ignored a delta message: payload is not JSON',
      'mapper: ignored a delta message: delta.target-temperature is not a string',
    ]);
    const after = temperatures(edge.seen.slice(seenBefore)).map(Number);
    expect(after).toEqual([...after].sort((a, b) => b - a));
    expect(after).toEqual(expect.arrayContaining([20.5, 20, 19.5]));
    expect(mapper.out).toContain('mapper: target target-temperature = 19.5');
  });

  it('when the edge refuses an update with a code, then the mapper prints the code and reason and keeps reporting', async () => {
    const { broker, edge } = await startBrokerAndEdge();
    const mapper = startMapper(broker.url);
    await edge.waitFor('a first reading', isUpdate);
    await edge.publish(topics.updateResult, { event_id: 'u-1', timestamp: Date.now(), code: 400, reason: 'the value is not float' });
    await mapper.waitForLine('err', /^mapper: update refused: 400 the value is not float$/);
    const count = edge.seen.filter(isUpdate).length;
    await edge.waitFor('a later reading', (s) => isUpdate(s) && edge.seen.filter(isUpdate).indexOf(s) >= count);
  });

  it('when the mapper is stopped, then it reports offline, prints that it stopped and resolves 0', async () => {
    const { broker, edge } = await startBrokerAndEdge();
    const mapper = startMapper(broker.url);
    await edge.waitFor('the online state', (s) => s.topic === topics.state && s.body['state'] === 'online');
    expect(await mapper.stop()).toBe(0);
    await edge.waitFor('the offline state', (s) => s.topic === topics.state && s.body['state'] === 'offline');
    expect(mapper.out.at(-1)).toBe('mapper: default/thermometer-1 offline; stopped');
  });
});

describe('given no broker yet', () => {
  it('when the broker comes up after the mapper, then the mapper says once that it cannot connect, then connects and reports online', async () => {
    const port = await freePort();
    const url = `mqtt://mapper:s3cret@127.0.0.1:${port}`;
    const mapper = startMapper(url);
    await mapper.waitForLine('err', /^mapper: cannot connect to mqtt:\/\/mapper:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED.*; retrying$/);
    // Asserting an absence needs a window: 300 ms spans several attempts (the back-off starts at
    // 50 ms), all refused alike, and one line says so.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mapper.err.filter((line) => line.startsWith('mapper: cannot connect'))).toHaveLength(1);

    const broker = await startTestBroker(port);
    cleanups.push(() => broker.close());
    await broker.waitFor('the online state', (s) => s.topic === topics.state && s.body['state'] === 'online');
    await mapper.waitForLine('out', /^mapper: connected to mqtt:\/\/mapper:\*\*\*@127\.0\.0\.1:\d+ as default\/thermometer-1$/);
    expect([...mapper.out, ...mapper.err].join('\n')).not.toContain('s3cret');
    // Stopped while this broker still runs (cleanups run last-in first-out, and the broker came last).
    expect(await mapper.stop()).toBe(0);
    await broker.waitFor('the offline state', (s) => s.topic === topics.state && s.body['state'] === 'offline');
  });
});

describe('given a broker that requires credentials', () => {
  it('when the URL carries the right user:pass, then the mapper is let in; with a wrong password, it says once that it is refused and keeps trying', async () => {
    const broker = await startTestBroker(0, { username: 'mapper', password: 's3cret' });
    cleanups.push(() => broker.close());
    const refused = startMapper(`mqtt://mapper:wrong@127.0.0.1:${broker.port}`);
    await refused.waitForLine('err', /^mapper: cannot connect to mqtt:\/\/mapper:\*\*\*@127\.0\.0\.1:\d+: Connection refused: Bad username or password; retrying$/);
    const admitted = startMapper(`mqtt://mapper:s3cret@127.0.0.1:${broker.port}`);
    await broker.waitFor('the online state', (s) => s.topic === topics.state && s.body['state'] === 'online');
    await admitted.waitForLine('out', /^mapper: connected to /);
    expect(refused.out.filter((line) => line.startsWith('mapper: connected'))).toEqual([]);
    expect(refused.err.filter((line) => line.startsWith('mapper: cannot connect'))).toHaveLength(1);
    expect([...refused.err, ...admitted.out, ...admitted.err].join('\n')).not.toMatch(/s3cret|wrong/);
  });
});

describe('given a broker that goes away while the mapper is linked', () => {
  it('when a broker comes back on the same port, then the mapper says once that it cannot connect, reconnects, reports online and asks for the twin again', async () => {
    const first = await startTestBroker();
    const mapper = startMapper(first.url);
    await first.waitFor('the online state', (s) => s.topic === topics.state && s.body['state'] === 'online');
    await first.close();
    await mapper.waitForLine('err', /^mapper: cannot connect to .*ECONNREFUSED.*; retrying$/);

    const second = await startTestBroker(first.port);
    cleanups.push(() => second.close());
    await second.waitFor('the online state again', (s) => s.topic === topics.state && s.body['state'] === 'online');
    await second.waitFor('a twin/get again', (s) => s.topic === topics.twinGet);
    await second.waitFor('readings again', (s) => s.topic === topics.twinUpdate && reportedActual(s, 'temperature') === '19');
    expect(mapper.out.filter((line) => line.startsWith('mapper: connected to'))).toHaveLength(2);
    expect(mapper.err.filter((line) => line.startsWith('mapper: cannot connect'))).toHaveLength(1);
    expect(await mapper.stop()).toBe(0);
  });
});

describe('given bad options', () => {
  it('when the device is not <namespace>/<name>, then it prints why and returns 2 without connecting', async () => {
    const err: string[] = [];
    const code = await runMapperSim(
      { mqttUrl: 'mqtt://127.0.0.1:1', device: 'thermometer-1', intervalMs: 1000, property: 'temperature', targetProperty: 'target-temperature', initial: 18 },
      { out: () => undefined, err: (line) => err.push(line) },
      new AbortController().signal,
    );
    expect(code).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^mapper: --device "thermometer-1" is not <namespace>\/<name>/)]);
  });
});
