// Acceptance: what a newcomer's session does with `edgehive up`, driven only through the CLI,
// kubectl and an MQTT client, asserting on their output. Method: `edgehive up` runs as a child
// process on a temp data dir; every wait polls kubectl or waits for a printed line, with a timeout;
// Ctrl-C (SIGINT) must stop every process it started, and a second `up` resumes from the same data.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { kubectlOkWith, untilKubectlWith } from '../../cmd/edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../../cmd/edge/edge-cli.testing.js';
import { runCli } from '../../cmd/replay/cli-harness.testing.js';
import { mqttWatcher } from '../../cmd/edge/mqtt-e2e.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-up-'));
const dataDir = join(root, 'data');
const ups: RunningCli[] = [];
let kubectl: KubectlRunner | undefined;

/** Processes whose command line names the demo's data dir: everything `up` started, pods included. */
const processesOfDemo = (): string[] =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) && !line.includes(' ps -eo'));

afterAll(async () => {
  kubectl?.killAll();
  for (const up of ups) up.child.kill('SIGKILL');
  // Whatever a failed run left behind (the pods are detached on purpose): kill it by its data dir.
  for (const line of processesOfDemo()) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    if (Number.isInteger(pid) && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
});

const startUp = async (): Promise<RunningCli> => {
  const up = startEdgehive(['up', '--data-dir', dataDir, '--edges', '2']);
  ups.push(up);
  await up.waitForLine(/^Ctrl-C stops everything/, 240_000);
  return up;
};

describe('edgehive up', () => {
  it('brings up two Ready edge nodes, Running pods and the device, prints what to use, and stops everything on Ctrl-C', async () => {
    const up = await startUp();
    const kubeconfig = (await up.waitForLine(/^export KUBECONFIG=\//)).slice('export KUBECONFIG='.length);
    const mqttUrl = (await up.waitForLine(/^MQTT \(edge-1\): mqtt:\/\/127\.0\.0\.1:\d+$/)).split(' ').pop()!;
    expect(up.lines).toContain('  kubectl get nodes,pods,devices -o wide');
    const edgeJournal = (await up.waitForLine(/^  edge-1: \//)).trim().slice('edge-1: '.length);
    kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
    const runner = kubectl;
    const until = (args: readonly string[], accept: (out: string) => boolean, what: string): Promise<string> => untilKubectlWith(runner, args, accept, what, 90_000);

    await until(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}'], (out) => out.includes('edge-1=True') && out.includes('edge-2=True'), 'two Ready edge nodes');
    await until(['get', 'pods', '-l', 'app=hello-edge', '-o', 'jsonpath={range .items[*]}{.status.phase} {end}'], (out) => out.trim().split(' ').filter((p) => p === 'Running').length === 2, 'two Running hello-edge pods');
    const table = await kubectlOkWith(runner, ['get', 'nodes,pods,devices']);
    expect(table).toMatch(/node\/edge-1\s+Ready/);
    expect(table).toMatch(/node\/edge-2\s+Ready/);
    expect(table).toMatch(/device\.devices\.kubeedge\.io\/thermometer-1\s+edge-1/);
    // The simulated thermometer reports through edge-1's MQTT, and its readings reach the API.
    await until(['get', 'device', 'thermometer-1', '-o', 'jsonpath={.status.twins[?(@.propertyName=="temperature")].reported.value}'], (out) => out !== '', 'a reported temperature');
    const watcher = await mqttWatcher(mqttUrl);
    try {
      await watcher.subscribe('$hw/events/device/default/thermometer-1/twin/get/result');
      await watcher.publish('$hw/events/device/default/thermometer-1/twin/get', JSON.stringify({ event_id: 'acceptance' }));
      const got = await watcher.waitFor('$hw/events/device/default/thermometer-1/twin/get/result', (p) => p['event_id'] === 'acceptance', 'the twin');
      expect(Object.keys(got['twin'] as object)).toContain('target-temperature');
    } finally {
      await watcher.close();
    }
    // The edge journal written by up replays with the CLI: the twin's stream is in it.
    const replay = await runCli(['replay', edgeJournal]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^twin-default\.thermometer-1\.\S+\s+twin\s/m);

    up.child.kill('SIGINT');
    expect(await up.exited()).toBe(0);
    expect(up.lines).toContain('stopped; run `edgehive up` again to resume from the same data');
    expect(processesOfDemo()).toEqual([]);
  }, 420_000);

  it('run again, resumes from the same data: the edges come back without joining, with the same device and Deployment', async () => {
    const up = await startUp();
    expect(up.lines.some((line) => /first run/.test(line))).toBe(false);
    const runner = kubectl!;
    await untilKubectlWith(runner, ['get', 'pods', '-l', 'app=hello-edge', '-o', 'jsonpath={range .items[*]}{.status.phase} {end}'], (out) => out.trim().split(' ').filter((p) => p === 'Running').length === 2, 'the pods Running again', 90_000);
    expect(await kubectlOkWith(runner, ['get', 'deployment', 'hello-edge', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
    expect(await kubectlOkWith(runner, ['get', 'devices', '-o', 'name'])).toBe('device.devices.kubeedge.io/thermometer-1\n');
    up.child.kill('SIGTERM');
    expect(await up.exited()).toBe(0);
    expect(processesOfDemo()).toEqual([]);
  }, 420_000);
});
