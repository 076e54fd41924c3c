// `edgehive status` against the whole product on one machine. Method: `edgehive up --edges 2` runs as
// a child process on a temp data dir; kubectl waits until the thermometer's reading reaches the API;
// then `edgehive status` runs as its own process, polled (never slept on) until things settle, with
// its text and --json output asserted; finally the cloud process is SIGKILLed and status must still
// print the edges' facts and say the API is unreachable. Ctrl-C (SIGINT) stops `up`, and anything
// left is killed by its data dir.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { untilKubectlWith } from '../edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';
import { runCli, type CliResult } from '../replay/cli-harness.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-status-'));
const dataDir = join(root, 'data');
/** How long the status of a fresh `up` may take to settle (nodes linked, nothing pending either way). */
const SETTLE_TIMEOUT_MS = 120_000;
/** How long one `edgehive status` run may take (tsx start, journals, the API or its refusal). */
const STATUS_RUN_TIMEOUT_MS = 60_000;
let up: RunningCli | undefined;
let kubectl: KubectlRunner | undefined;

/** `ps` lines whose command line names the data dir: everything `up` started, pods included. */
const processesOfDataDir = (): string[] =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) && !line.includes(' ps -eo'));

const pidOf = (line: string): number => Number(line.trim().split(/\s+/)[0]);

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(async () => {
  kubectl?.killAll();
  if (up !== undefined && up.child.exitCode === null && up.child.signalCode === null) {
    up.child.kill('SIGINT');
    await up.exited();
  }
  for (const line of processesOfDataDir()) {
    const pid = pidOf(line);
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(root, { recursive: true, force: true });
}, 60_000);

interface StatusJson {
  readonly api: { readonly reachable: boolean; readonly error: string | null };
  readonly nodes: readonly {
    readonly name: string;
    readonly ready: string;
    readonly link: { readonly state: string };
    readonly up: { readonly count: number | null };
    readonly down: { readonly count: number | null };
    readonly outbox: { readonly count: number | null };
    readonly journal: { readonly fileBytes: number; readonly walBytes: number } | null;
  }[];
  readonly cloudJournal: { readonly fileBytes: number; readonly walBytes: number } | null;
  readonly devices: readonly {
    readonly name: string;
    readonly node: string | null;
    readonly edgeState: string | null;
    readonly properties: readonly { readonly name: string; readonly edge: { expected: string | null; actual: string | null } | null; readonly api: { desired: string | null; reported: string | null } | null }[];
  }[];
}

const status = (...args: string[]): Promise<CliResult> => runCli(['status', '--data-dir', dataDir, ...args], STATUS_RUN_TIMEOUT_MS);

const statusJson = async (): Promise<StatusJson> => {
  const run = await status('--json');
  if (run.code !== 0) throw new Error(`edgehive status --json exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as StatusJson;
};

/** Runs `status --json` until `accept` holds; fails with the last output after `timeoutMs`. */
async function untilStatus(accept: (json: StatusJson) => boolean, what: string, timeoutMs: number): Promise<StatusJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const json = await statusJson();
    if (accept(json)) return json;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(json)}`);
  }
}

const settled = (json: StatusJson): boolean =>
  json.api.reachable &&
  ['edge-1', 'edge-2'].every((name) => {
    const node = json.nodes.find((n) => n.name === name);
    return node?.ready === 'True' && node.link.state === 'linked' && node.up.count === 0 && node.down.count === 0;
  });

describe('edgehive status', () => {
  it('on a data dir with nothing in it, says so in one line and exits 1', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const run = await runCli(['status', '--data-dir', empty], STATUS_RUN_TIMEOUT_MS);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^edgehive status: no edgehive data in .*empty/)]);
  });

  it('under edgehive up: both nodes Ready and linked, nothing pending up or down once settled, journal sizes, the thermometer twin on both sides', async () => {
    up = startEdgehive(['up', '--data-dir', dataDir, '--edges', '2']);
    await up.waitForLine(/^Ctrl-C stops everything/, 240_000);
    const kubeconfig = (await up.waitForLine(/^export KUBECONFIG=\//)).slice('export KUBECONFIG='.length);
    kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
    await untilKubectlWith(kubectl, ['get', 'device', 'thermometer-1', '-o', 'jsonpath={.status.twins[?(@.propertyName=="temperature")].reported.value}'], (out) => out !== '', 'a reported temperature', 90_000);

    const json = await untilStatus(settled, 'both nodes Ready, linked, with nothing pending up or down', SETTLE_TIMEOUT_MS);
    for (const node of json.nodes.filter((n) => n.name === 'edge-1' || n.name === 'edge-2')) {
      expect(node.outbox.count).not.toBeNull();
      expect((node.journal?.fileBytes ?? 0) + (node.journal?.walBytes ?? 0)).toBeGreaterThan(0);
    }
    expect((json.cloudJournal?.fileBytes ?? 0) + (json.cloudJournal?.walBytes ?? 0)).toBeGreaterThan(0);
    const thermometer = json.devices.find((d) => d.name === 'thermometer-1');
    expect(thermometer).toMatchObject({ node: 'edge-1', edgeState: 'online' });
    const property = (name: string) => thermometer?.properties.find((p) => p.name === name);
    expect(property('temperature')?.edge?.actual).toMatch(/^\d+(\.\d+)?$/);
    expect(property('temperature')?.api?.reported).toMatch(/^\d+(\.\d+)?$/);
    expect(property('target-temperature')).toMatchObject({ edge: { expected: '21' }, api: { desired: '21' } });

    const text = await status();
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[1]).toMatch(/^API https:\/\/127\.0\.0\.1:\d+: reachable$/);
    expect(lines.find((l) => l.startsWith('edge-1 '))).toMatch(/^edge-1\s+True \d+[smhd]\s+linked( \d+[smhd])?\s+\d+\s+\d+\s+\d+\s+\d/);
    expect(lines.find((l) => l.startsWith('edge-2 '))).toMatch(/^edge-2\s+True \d+[smhd]\s+linked( \d+[smhd])?\s/);
    expect(lines.find((l) => l.startsWith('default/thermometer-1'))).toMatch(/edge-1\s+online\/online\s+target-temperature\s+21 \/ \S+\s+21 \/ \S+/);
    expect(lines.some((l) => /^\s+temperature\s+- \/ \d/.test(l))).toBe(true);
    expect(lines.some((l) => /^cloud journal: \d/.test(l))).toBe(true);
  }, 420_000);

  it('with the cloud process killed, still prints the edges\' facts and says the API is unreachable (exit 0)', async () => {
    const cloud = processesOfDataDir().filter((line) => line.includes(' cloud --data-dir '));
    expect(cloud).toHaveLength(1);
    const pid = pidOf(cloud[0] ?? '');
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAlive(pid)).toBe(false);

    const text = await status();
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[1]).toMatch(/^API https:\/\/127\.0\.0\.1:\d+: UNREACHABLE \(.*ECONNREFUSED.*\); showing what the journals say$/);
    expect(lines.find((l) => l.startsWith('edge-1 '))).toMatch(/^edge-1\s+\?\s+\? \(journal: linked\)\s+\?\s+\?\s+\d+\s+\d/);
    expect(lines.find((l) => l.startsWith('edge-2 '))).toMatch(/^edge-2\s+\?\s/);
    expect(lines.find((l) => l.startsWith('default/thermometer-1'))).toMatch(/edge-1\s+online\/-\s+target-temperature\s+21 \/ \S+\s+\?/);

    const json = await statusJson();
    expect(json.api.reachable).toBe(false);
    for (const name of ['edge-1', 'edge-2']) {
      const node = json.nodes.find((n) => n.name === name);
      expect(node).toMatchObject({ ready: '?', link: { state: 'unknown' }, up: { count: null } });
      expect(node?.outbox.count).toEqual(expect.any(Number));
      expect(node?.journal?.fileBytes).toBeGreaterThan(0);
    }
  }, 120_000);
});
