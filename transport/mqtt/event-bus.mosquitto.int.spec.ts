// The EventBus against an external broker: Debian's mosquitto, run by the test from a temporary
// config on a free 127.0.0.1 port, with a mapper played by an mqtt client and by the real
// mosquitto_pub / mosquitto_sub binaries. Method: the same basic flow as against the embedded
// broker, then credentials from a password file carried in the url. Without mosquitto these fail
// with a message naming .ci/run, which installs it; they never skip.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopics } from './device-topics.js';
import { EventBus } from './event-bus.js';
import { Cleanups, connectClient, startTestBus, until } from './mqtt.testing.js';
import { requireMosquitto, startMosquitto, stopProcess, tempDir, writePasswordFile, type Mosquitto } from './mosquitto.testing.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function mosquitto(extraConfig: readonly string[], setUp?: (dir: string) => Promise<readonly string[]>): Promise<Mosquitto> {
  const temp = await tempDir();
  cleanups.add(() => temp.remove());
  const more = setUp === undefined ? [] : await setUp(temp.dir);
  const broker = await startMosquitto(temp.dir, [...extraConfig, ...more]);
  cleanups.add(() => broker.stop());
  return broker;
}

const anonymous = (): Promise<Mosquitto> => mosquitto(['allow_anonymous true']);
const thermo = { namespace: 'default', name: 'thermo-1' };
const TWIN_UPDATE = deviceTopics.twinUpdate(thermo);

describe('EventBus with mosquitto', () => {
  it('finds the mosquitto binaries (.ci/run installs them)', () => {
    expect(Object.keys(requireMosquitto())).toEqual(['mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'mosquitto_passwd']);
  });

  it('receives a mapper’s twin update, its own node’s membership get only, and a malformed payload as a value', async () => {
    const broker = await anonymous();
    const { bus, messages } = startTestBus(EventBus.start, { url: broker.url, nodeName: 'edge-1' }, cleanups);
    await until('the bus to connect to mosquitto', () => bus.connected);
    const mapper = await connectClient(broker.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '{"event_id":"e1","twin":{"t":{"actual":{"value":"20"}}}}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/node/edge-2/membership/get', '{}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/node/edge-1/membership/get', '{"event_id":"m"}', { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, 'not json', { qos: 1 });
    await until('three messages', () => messages.length === 3);
    expect(messages.map((m) => [m.topic, m.payload])).toEqual([
      [{ kind: 'twinUpdate', device: thermo }, { ok: true, value: { event_id: 'e1', twin: { t: { actual: { value: '20' } } } } }],
      [{ kind: 'membershipGet', node: 'edge-1' }, { ok: true, value: { event_id: 'm' } }],
      [{ kind: 'twinUpdate', device: thermo }, { ok: false, error: { kind: 'PayloadMalformed', reason: expect.stringContaining('not JSON') } }],
    ]);
  });

  it('publishes a result that a subscribed app receives, resolving ok on mosquitto’s acknowledgement', async () => {
    const broker = await anonymous();
    const { bus } = startTestBus(EventBus.start, { url: broker.url, nodeName: 'edge-1' }, cleanups);
    await until('the bus to connect to mosquitto', () => bus.connected);
    const app = await connectClient(broker.url, cleanups);
    await app.client.subscribeAsync(deviceTopics.updateResult(thermo), { qos: 1 });
    expect(await bus.publish(deviceTopics.updateResult(thermo), '{"event_id":"e1"}')).toEqual({ ok: true, value: undefined });
    await until('the result at the app', () => app.received.length === 1);
    expect(app.received[0]?.payload.toString()).toBe('{"event_id":"e1"}');
  });

  it('talks to the real mosquitto_pub and mosquitto_sub: a twin update in, a result out', async () => {
    const bins = requireMosquitto();
    const broker = await anonymous();
    const { bus, messages } = startTestBus(EventBus.start, { url: broker.url, nodeName: 'edge-1' }, cleanups);
    await until('the bus to connect to mosquitto', () => bus.connected);

    const pub = spawn(bins.mosquitto_pub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', TWIN_UPDATE, '-m', '{"event_id":"from-pub","twin":{}}']);
    cleanups.add(() => stopProcess(pub));
    const pubExit = await new Promise<number | null>((resolve) => pub.once('exit', resolve));
    expect(pubExit).toBe(0);
    await until('the mosquitto_pub update at the bus', () => messages.length === 1);
    expect(messages[0]).toEqual({ topic: { kind: 'twinUpdate', device: thermo }, rawTopic: TWIN_UPDATE, payload: { ok: true, value: { event_id: 'from-pub', twin: {} } } });

    const resultTopic = deviceTopics.updateResult(thermo);
    // mosquitto logs each subscription (its stderr is unbuffered, mosquitto_sub's piped stdout is not),
    // so the bus publishes only once mosquitto_sub is really subscribed.
    const sub = spawn(bins.mosquitto_sub, ['-h', '127.0.0.1', '-p', String(broker.port), '-i', 'edgehive-sub', '-q', '1', '-t', resultTopic, '-C', '1', '-W', '10', '-v']);
    cleanups.add(() => stopProcess(sub));
    let printed = '';
    sub.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const subExit = new Promise<number | null>((resolve) => sub.once('close', resolve)); // 'close': stdout fully read
    await until('mosquitto_sub to be subscribed', () => broker.output().includes(`edgehive-sub 1 ${resultTopic}`));
    expect(await bus.publish(resultTopic, '{"event_id":"from-pub","twin":{}}')).toEqual({ ok: true, value: undefined });
    expect(await subExit).toBe(0);
    expect(printed).toBe(`${resultTopic} {"event_id":"from-pub","twin":{}}\n`);
  });

  it('connects with user:pass@ in the url to a mosquitto with a password file, and is refused with a wrong password', async () => {
    const password = 'p@ss:w/rd';
    const broker = await mosquitto(['allow_anonymous false'], async (dir) => [`password_file ${await writePasswordFile(dir, 'edge', password)}`]);
    const wrong = startTestBus(EventBus.start, { url: `mqtt://edge:wrong@127.0.0.1:${broker.port}`, nodeName: 'edge-1', clientId: 'bus-wrong' }, cleanups);
    await until('two refused attempts', () => wrong.disconnects.length >= 2, 15_000);
    expect(wrong.disconnects[0]).toMatch(/not authori[sz]ed|bad user ?name or password/i);
    expect(wrong.connects()).toBe(0);

    const url = `mqtt://edge:${encodeURIComponent(password)}@127.0.0.1:${broker.port}`;
    const right = startTestBus(EventBus.start, { url, nodeName: 'edge-1', clientId: 'bus-right' }, cleanups);
    await until('the bus with the right password to connect', () => right.bus.connected);
    const mapper = await connectClient(broker.url, cleanups, { username: 'edge', password });
    await mapper.client.publishAsync(TWIN_UPDATE, '{"twin":{}}', { qos: 1 });
    await until('the update at the bus', () => right.messages.length === 1);
    expect(right.messages[0]?.payload).toEqual({ ok: true, value: { twin: {} } });
  });

  it('re-subscribes after mosquitto restarts, and a publish made while it was down is acknowledged after the reconnect', async () => {
    const temp = await tempDir();
    cleanups.add(() => temp.remove());
    const first = await startMosquitto(temp.dir, ['allow_anonymous true']);
    cleanups.add(() => first.stop());
    const { bus, messages, disconnects, connects } = startTestBus(EventBus.start, { url: first.url, nodeName: 'edge-1' }, cleanups);
    await until('the bus to connect', () => bus.connected);
    await first.stop();
    await until('the bus to see mosquitto go', () => !bus.connected && disconnects.length >= 1);
    const published = bus.publish('$hw/events/upload/while-down', '{"n":1}');
    const second = await startMosquittoOnPort(temp.dir, first.port);
    cleanups.add(() => second.stop());
    await until('the bus to reconnect', () => connects() === 2, 15_000);
    expect(await published).toEqual({ ok: true, value: undefined });
    const mapper = await connectClient(second.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '{"after":"restart"}', { qos: 1 });
    await until('the update after the restart', () => messages.some((m) => m.rawTopic === TWIN_UPDATE));
  });
});

/** mosquitto again on a port it just left (the bus' url names it). */
async function startMosquittoOnPort(dir: string, port: number): Promise<Mosquitto> {
  return startMosquitto(dir, ['allow_anonymous true'], port);
}
