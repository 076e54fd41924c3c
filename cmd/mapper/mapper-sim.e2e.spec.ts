// Method: the real CLI (`node bin/edgehive.js mapper sim …`) as a child process against an aedes
// broker in the spec's process, with an MQTT client playing the edge; it is stopped with SIGTERM as
// a service manager would, and everything waits on lines or messages, never on time.
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTopics } from '../../transport/index.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';
import { runCli } from '../replay/cli-harness.testing.js';
import { connectTestEdge, reportedActual, startTestBroker } from './mapper-edge.testing.js';

const device = { namespace: 'default', name: 'thermometer-1' };
const startupMs = 60_000; // tsx compiles the CLI's imports on a cold start, on two busy cores

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const killed = (cli: RunningCli) => async (): Promise<void> => {
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  await cli.exited();
};

describe('edgehive mapper sim', () => {
  it('when run against a broker, then it follows the target the edge names and, on SIGTERM, reports offline and exits 0', async () => {
    const broker = await startTestBroker();
    cleanups.push(() => broker.close());
    const edge = await connectTestEdge(broker.url, device);
    cleanups.push(() => edge.close());
    const url = `mqtt://mapper:s3cret@127.0.0.1:${broker.port}`;
    const cli = startEdgehive(['mapper', 'sim', '--mqtt-url', url, '--device', 'default/thermometer-1', '--interval-ms', '100', '--initial', '20']);
    cleanups.push(killed(cli));

    await cli.waitForLine(/^mapper: connected to mqtt:\/\/mapper:\*\*\*@127\.0\.0\.1:\d+ as default\/thermometer-1$/, startupMs);
    await edge.waitFor('the online state', (s) => s.topic === deviceTopics.stateUpdate(device) && s.body['state'] === 'online');
    const get = await edge.waitFor('a twin/get', (s) => s.topic === deviceTopics.twinGet(device));
    await edge.publish(deviceTopics.getResult(device), {
      event_id: get.body['event_id'],
      timestamp: Date.now(),
      twin: { 'target-temperature': { expected: { value: '21' }, optional: false, metadata: { type: 'float' } } },
    });
    await edge.waitFor('temperature 21', (s) => s.topic === deviceTopics.twinUpdate(device) && reportedActual(s, 'temperature') === '21');
    await cli.waitForLine(/^mapper: target target-temperature = 21$/);
    await cli.waitForLine(/^mapper: reported temperature = 21$/);

    cli.child.kill('SIGTERM');
    expect(await cli.exited()).toBe(0);
    await broker.waitFor('the offline state', (s) => s.topic === deviceTopics.stateUpdate(device) && s.body['state'] === 'offline');
    expect(cli.lines.filter((line) => line !== '').at(-1)).toBe('mapper: default/thermometer-1 offline; stopped');
    expect(`${cli.lines.join('\n')}\n${cli.stderr()}`).not.toContain('s3cret');
  });

  it('when the device is not <namespace>/<name>, then it says so and exits 2', async () => {
    const result = await runCli(['mapper', 'sim', '--mqtt-url', 'mqtt://127.0.0.1:1', '--device', 'thermometer-1'], startupMs);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mapper: --device "thermometer-1" is not <namespace>\/<name>/m);
  });
});
