// `edgehive replay` against the live journals of a running `edgehive up`. Method: `up --edges 1` runs
// as a child on a temp data dir; once the thermometer reports, the Device's desired target is patched
// from 21 to 25 with kubectl; then the real CLI, reading the journals the running hosts hold open,
// must answer by name (--twin, --pod, --node) what each looked like before and after the patch and
// which event (with its cause) made it so. Every wait polls kubectl or replay, with a timeout; SIGINT
// stops `up`, and whatever a failed run left is killed by its data dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { kubectlOkWith, untilKubectlWith } from '../edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';
import { runCli, type CliResult } from './cli-harness.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-replay-up-'));
const dataDir = join(root, 'data');
let up: RunningCli | undefined;
let kubectl: KubectlRunner | undefined;

const replayPollMs = 300;
const waitMs = 90_000;

/** Processes whose command line names this data dir: everything `up` started, pods included. */
const processesOfRun = (): string[] =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) && !line.includes(' ps -eo'));

afterAll(() => {
  kubectl?.killAll();
  up?.child.kill('SIGKILL');
  for (const line of processesOfRun()) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(root, { recursive: true, force: true });
});

interface Fact {
  readonly version: number;
  readonly at: string;
  readonly type: string;
  readonly summary: string;
  readonly origin: string;
  readonly causationId: string | null;
}
interface ReplayJson {
  readonly stream: string;
  readonly version: number;
  readonly state: { readonly status: string; readonly twin?: Record<string, { readonly expected: { readonly value: string } | null }> };
  readonly events: readonly { readonly version: number; readonly at: string; readonly type: string }[];
  readonly incarnations: readonly { readonly stream: string; readonly uid: string | null }[];
  readonly madeSoBy: Fact | null;
  readonly then: Fact | null;
}

const ok = (result: CliResult): string => {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
};
const replayJson = async (journal: string, ...args: string[]): Promise<ReplayJson> => JSON.parse(ok(await runCli(['replay', journal, ...args, '--json']))) as ReplayJson;
const targetOf = (replayed: ReplayJson): string | undefined => replayed.state.twin?.['target-temperature']?.expected?.value;

/** Replays until `accept` holds (the live journal catches up), failing with the last answer after `waitMs`. */
async function untilReplay(journal: string, args: readonly string[], accept: (r: ReplayJson) => boolean, what: string): Promise<ReplayJson> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await runCli(['replay', journal, ...args, '--json']);
    const replayed = result.code === 0 ? (JSON.parse(result.stdout) as ReplayJson) : undefined;
    if (replayed !== undefined && accept(replayed)) return replayed;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last replay: ${result.stdout}${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, replayPollMs));
  }
}

it('answers, by name and from live journals, what the twin, a pod and the node looked like at a time and which event made it so', async () => {
  up = startEdgehive(['up', '--data-dir', dataDir, '--edges', '1']);
  await up.waitForLine(/^Ctrl-C stops everything/, 240_000);
  const kubeconfig = (await up.waitForLine(/^export KUBECONFIG=\//)).slice('export KUBECONFIG='.length);
  const edgeJournal = (await up.waitForLine(/^ {2}edge-1: \//)).trim().slice('edge-1: '.length);
  const cloudJournal = (await up.waitForLine(/^ {2}cloud: \//)).trim().slice('cloud: '.length);
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
  const runner = kubectl;
  await untilKubectlWith(runner, ['get', 'device', 'thermometer-1', '-o', 'jsonpath={.status.twins[?(@.propertyName=="temperature")].reported.value}'], (out) => out !== '', 'a reported temperature', waitMs);
  await untilReplay(edgeJournal, ['--twin', 'default/thermometer-1'], (r) => targetOf(r) === '21', 'the twin expecting 21');

  const beforePatch = new Date().toISOString();
  await kubectlOkWith(runner, ['patch', 'device', 'thermometer-1', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]']);
  const [deviceUid, generation] = (await kubectlOkWith(runner, ['get', 'device', 'thermometer-1', '-o', 'jsonpath={.metadata.uid} {.metadata.generation}'])).split(' ');
  await untilReplay(edgeJournal, ['--twin', 'default/thermometer-1'], (r) => targetOf(r) === '25', 'the patched target in the edge journal');
  const afterPatch = new Date().toISOString();

  // After the patch: 25, made so by the last event up to then, as the whole timeline has it.
  const whole = await replayJson(edgeJournal, '--twin', 'default/thermometer-1');
  expect(whole.stream).toBe(`twin-default.thermometer-1.${deviceUid}`);
  expect(whole.incarnations).toEqual([{ stream: whole.stream, uid: deviceUid, version: expect.any(Number), status: expect.any(String) }]);
  const after = await replayJson(edgeJournal, '--twin', 'default/thermometer-1', '--until', afterPatch);
  expect(targetOf(after)).toBe('25');
  const lastByThen = whole.events.filter((e) => Date.parse(e.at) <= Date.parse(afterPatch)).at(-1);
  expect(after.madeSoBy).toMatchObject({ version: lastByThen?.version, at: lastByThen?.at, type: lastByThen?.type, origin: 'edge-1' });

  // The event that set 25 is the cloud sync, caused by the Device at its new generation.
  const sync = whole.events.find((e) => Date.parse(e.at) >= Date.parse(beforePatch) && e.type === 'TwinExpectedSynced.v1');
  if (sync === undefined) throw new Error(`no TwinExpectedSynced after the patch in ${JSON.stringify(whole.events)}`);
  const atSync = await replayJson(edgeJournal, '--twin', 'default/thermometer-1', '--until', String(sync.version));
  expect(targetOf(atSync)).toBe('25');
  expect(atSync.madeSoBy).toMatchObject({ version: sync.version, type: 'TwinExpectedSynced.v1', summary: 'target-temperature expected 25', causationId: `device:${deviceUid}@${generation}` });
  const text = ok(await runCli(['replay', edgeJournal, '--twin', 'default/thermometer-1', '--until', String(sync.version)]));
  expect(text).toMatch(new RegExp(`^made so by: v${sync.version} {2}${sync.at} {2}TwinExpectedSynced\\.v1 {2}target-temperature expected 25 {2}\\(origin edge-1, cause device:${deviceUid}@${generation}, correlation \\S+\\)$`, 'm'));

  // Before the patch: still 21, and the text says what came next.
  const beforeText = ok(await runCli(['replay', edgeJournal, '--twin', 'default/thermometer-1', '--until', beforePatch]));
  const before = await replayJson(edgeJournal, '--twin', 'default/thermometer-1', '--until', beforePatch);
  expect(targetOf(before)).toBe('21');
  expect(Date.parse(before.madeSoBy?.at ?? '')).toBeLessThanOrEqual(Date.parse(beforePatch));
  expect(Date.parse(before.then?.at ?? '')).toBeGreaterThan(Date.parse(beforePatch));
  expect(beforeText).toMatch(/^state at v\d+: .*"target-temperature":\{"expected":\{"value":"21"/m);
  expect(beforeText).toMatch(new RegExp(`^then: v${before.then?.version} {2}`, 'm'));

  // A pod of the sample Deployment, by name: running, admitted because of its desired Pod.
  const [podName, podUid] = (await untilKubectlWith(runner, ['get', 'pods', '-l', 'app=hello-edge', '--field-selector', 'status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].metadata.uid}'], (out) => /^\S+ \S+$/.test(out), 'a Running hello-edge pod', waitMs)).split(' ');
  const pod = await untilReplay(edgeJournal, ['--pod', `default/${podName}`], (r) => r.state.status === 'running', 'the pod running in the edge journal');
  expect(pod.stream).toBe(`pod-default.${podName}.${podUid}`);
  const admitted = await replayJson(edgeJournal, '--pod', `default/${podName}`, '--until', '1');
  expect(admitted.madeSoBy?.type).toBe('PodAdmitted.v1');
  // Desired content reaches the edge without a resourceVersion (PROTOCOL.md), so the cause is the Pod's uid.
  expect(admitted.madeSoBy?.causationId).toBe(`pod:${podUid}`);

  // The node, by name, at the edge and in the cloud (its link).
  expect((await replayJson(edgeJournal, '--node', 'edge-1')).state.status).toBe('ready');
  expect((await replayJson(cloudJournal, '--node', 'edge-1')).stream).toBe('link-edge-1');
  const missing = await runCli(['replay', edgeJournal, '--twin', 'default/no-such-device']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`no twin default/no-such-device in ${edgeJournal}; its twin streams: twin-default.thermometer-1.${deviceUid}`);

  up.child.kill('SIGINT');
  expect(await up.exited()).toBe(0);
  expect(processesOfRun()).toEqual([]);
}, 480_000);
