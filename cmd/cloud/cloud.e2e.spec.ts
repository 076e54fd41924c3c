// `edgehive cloud` as a user runs it. Method: given an empty data dir, when the real CLI starts,
// then it prints `export KUBECONFIG=<path>` and the API URL, real kubectl works with that file over
// HTTPS, a request without the token gets 401, data survives a restart (same cluster id), and
// Ctrl-C ends it with exit 0. It also prints the edges' stream and join URLs, two ports apart, and
// the join URL hands out the CA the kubeconfig pins.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { findKubectl, kubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { runCli, startCli } from '../replay/cli-harness.testing.js';

let dir: string;
const children: ReturnType<typeof startCli>[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-cloud-'));
});
afterEach(() => {
  for (const c of children) c.child.kill('SIGKILL');
  children.length = 0;
  rmSync(dir, { recursive: true, force: true });
});

const exitOf = (cli: ReturnType<typeof startCli>): Promise<number | null> =>
  new Promise((resolve) => (cli.child.exitCode !== null ? resolve(cli.child.exitCode) : cli.child.once('exit', (code) => resolve(code))));

async function startCloud(): Promise<{ cli: ReturnType<typeof startCli>; kubeconfig: string; cluster: string; url: string; stream: string; join: string }> {
  const cli = startCli(['cloud', '--data-dir', join(dir, 'data')]);
  children.push(cli);
  const exportLine = await cli.waitForLine((l) => l.startsWith('export KUBECONFIG='));
  const apiLine = await cli.waitForLine((l) => l.startsWith('Kubernetes API: '));
  const [, url = '', cluster = ''] = /^Kubernetes API: (\S+) \(cluster (\S+)\)$/.exec(apiLine) ?? [];
  const stream = (await cli.waitForLine((l) => l.startsWith('Stream: '))).slice('Stream: '.length);
  const joinUrl = (await cli.waitForLine((l) => l.startsWith('Join: '))).slice('Join: '.length);
  return { cli, kubeconfig: exportLine.slice('export KUBECONFIG='.length), cluster, url, stream, join: joinUrl };
}

/** GET over HTTPS trusting `ca`. */
function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('serves kubectl over HTTPS with the kubeconfig it prints, refuses strangers, keeps data across restarts', async () => {
  const first = await startCloud();
  expect(first.kubeconfig).toBe(join(dir, 'data', 'kubeconfig'));
  expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const binary = findKubectl('1.32');
  if (binary === undefined) throw new Error('kubectl.1.32 is not installed beside kubectl');
  const kubectl = kubectlRunner(binary, first.kubeconfig, dir, join(dir, 'cache'));
  expect((await kubectl.run(['create', 'namespace', 'edge-apps'])).stdout).toContain('namespace/edge-apps created');

  const config = parseYaml(readFileSync(first.kubeconfig, 'utf8')) as { clusters: { cluster: { 'certificate-authority-data': string } }[] };
  const ca = Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8');
  const anonymous = await get(`${first.url}/api/v1/namespaces`, ca);
  expect(anonymous.status).toBe(401);
  expect(JSON.parse(anonymous.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });

  // The edges' way in: the stream on P, the join endpoint on P+2 (KubeEdge's 10000/10002), one CA.
  expect(first.stream).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
  expect(first.join).toBe(`https://127.0.0.1:${Number(new URL(first.stream).port) + 2}`);
  const joinCa = await get(`${first.join}/edgehive/v1/ca.crt`, ca);
  expect(joinCa.status).toBe(200);
  expect(joinCa.body).toBe(ca);

  first.cli.child.kill('SIGINT');
  expect(await exitOf(first.cli)).toBe(0);

  const second = await startCloud();
  expect(second.cluster).toBe(first.cluster);
  const again = kubectlRunner(binary, second.kubeconfig, dir, join(dir, 'cache2'));
  expect((await again.run(['get', 'namespace', 'edge-apps', '-o', 'name'])).stdout.trim()).toBe('namespace/edge-apps');
  second.cli.child.kill('SIGINT');
  expect(await exitOf(second.cli)).toBe(0);
});

it('refuses a bad port, grace period, stream lease or journal with a clear message and exit 1', async () => {
  const [api, stream, grace, lease, journal] = await Promise.all([
    runCli(['cloud', '--data-dir', join(dir, 'data'), '--api-port', 'eighty']),
    runCli(['cloud', '--data-dir', join(dir, 'data2'), '--stream-port', '70000']),
    runCli(['cloud', '--data-dir', join(dir, 'data3'), '--node-monitor-grace-period', '5']),
    runCli(['cloud', '--data-dir', join(dir, 'data4'), '--stream-lease-seconds', '2']),
    runCli(['cloud', '--data-dir', join(dir, 'data5'), '--journal', 'postgres://db']),
  ]);
  expect(lease.code).toBe(1);
  expect(lease.stderr).toContain("edgehive cloud: --stream-lease-seconds must be whole seconds, at least 6, got '2'");
  expect(journal.code).toBe(1);
  expect(journal.stderr).toContain("edgehive cloud: --journal takes sqlite:FILE or esdb://HOST:PORT?…, got 'postgres://db'");
  expect(grace.code).toBe(1);
  expect(grace.stderr).toContain("edgehive cloud: --node-monitor-grace-period must be whole seconds, at least 15 (edges renew their Lease every 10 s), got '5'");
  expect(api.code).toBe(1);
  expect(api.stderr).toContain("edgehive cloud: --api-port must be a port number, got 'eighty'");
  expect(stream.code).toBe(1);
  expect(stream.stderr).toContain("edgehive cloud: --stream-port must be a port number, got '70000'");
});
