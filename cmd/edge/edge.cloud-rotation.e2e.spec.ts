// An edge given several cloud addresses (`--cloud a,b`, `--bootstrap a,b`) moves round them, end to
// end. Method: one real `edgehive cloud` process stands for the cloud process that owns the node,
// and a loopback port where nothing listens stands for a dead one; each spec starts an `edgehive
// edge` with a fresh data dir and token and waits on its stdout lines (never on time). The last
// spec stops the cloud (it closes with 1001 "going away") and starts it again on the same ports and
// data dir. Every process started is killed afterwards; these edges run no pods.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';

let root: string;
let cloudDir: string;
let cloud: RunningCli;
let streamUrl: string;
let bootstrapUrl: string;
let apiPort: string;
let clusterId: string;
const children: RunningCli[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-cloud-rotation-'));
  cloudDir = join(root, 'cloud');
  cloud = startCloud([]);
  streamUrl = (await cloud.waitForLine(/^Stream: /, 40_000)).slice('Stream: '.length);
  bootstrapUrl = (await cloud.waitForLine(/^Join: /)).slice('Join: '.length);
  const apiLine = await cloud.waitForLine(/^Kubernetes API: /);
  apiPort = new URL(/https?:\/\/\S+/.exec(apiLine)?.[0] ?? 'invalid:').port;
  clusterId = /\(cluster (\S+)\)$/.exec(apiLine)?.[1] ?? '';
});
afterEach(() => {
  for (const child of children) if (child !== cloud) child.child.kill('SIGKILL');
});
afterAll(() => {
  for (const child of children) child.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function startCloud(ports: readonly string[]): RunningCli {
  const started = startEdgehive(['cloud', '--data-dir', cloudDir, ...ports]);
  children.push(started);
  return started;
}

function startEdge(name: string, cloudUrls: string, bootstrapUrls: string | undefined, token: string): RunningCli {
  const args = ['edge', '--mqtt-port', '0', '--cloud', cloudUrls, '--name', name, '--data-dir', join(root, name), '--meta-server-port', '0', '--token', token];
  const edge = startEdgehive([...args, ...(bootstrapUrls === undefined ? [] : ['--bootstrap', bootstrapUrls])]);
  children.push(edge);
  return edge;
}

async function freshToken(): Promise<string> {
  const created = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.token;
}

/** A loopback port where nothing listens (bound, then released): a connection to it is refused. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves once `condition` holds (checked every 100 ms); fails after `timeoutMs` with the edge's output. */
async function until(condition: () => boolean, cli: RunningCli, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; stdout:\n${cli.lines.join('\n')}\nstderr:\n${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The index of the first line matching `pattern`, -1 when none does. */
const lineIndex = (cli: RunningCli, pattern: RegExp): number => cli.lines.findIndex((line) => pattern.test(line));
const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

it('joins through the second bootstrap URL when the first is dead, and links through the second stream URL when the first refuses connections', async () => {
  const deadStream = `wss://127.0.0.1:${await deadPort()}`;
  const deadJoin = `https://127.0.0.1:${await deadPort()}`;
  const edge = startEdge('edge-r', `${deadStream},${streamUrl}`, `${deadJoin},${bootstrapUrl}`, await freshToken());

  expect(await edge.waitForLine(/^cannot join at /, 30_000)).toMatch(new RegExp(`^cannot join at ${escaped(deadJoin)}: .*ECONNREFUSED.*; trying ${escaped(bootstrapUrl)}$`));
  await edge.waitForLine(/^joined as system:node:edge-r \(certificate valid until \S+\)$/);
  expect(await edge.waitForLine(/^switching cloud: /)).toBe(`switching cloud: ${streamUrl} (${deadStream}: connection failed)`);
  expect(await edge.waitForLine(/^linked \(/, 30_000)).toBe(`linked (full) to cluster ${clusterId}`);
  // The refused connection came first and was reported; the switch came before the link.
  expect(lineIndex(edge, /^cannot connect: .*ECONNREFUSED/)).toBeGreaterThan(-1);
  expect(lineIndex(edge, /^cannot connect: /)).toBeLessThan(lineIndex(edge, /^switching cloud: /));
  expect(lineIndex(edge, /^switching cloud: /)).toBeLessThan(lineIndex(edge, /^linked \(/));
  await edge.waitForLine(/^up to date: the cloud applied up seq [1-9]/);
  expect(edge.lines.filter((line) => line.startsWith('switching cloud: '))).toHaveLength(1);
});

it('stays with the first URL while it works: no switch when the first stream URL links', async () => {
  const deadStream = `wss://127.0.0.1:${await deadPort()}`;
  const edge = startEdge('edge-s', `${streamUrl},${deadStream}`, undefined, await freshToken());

  expect(await edge.waitForLine(/^linked \(/, 30_000)).toBe(`linked (full) to cluster ${clusterId}`);
  await edge.waitForLine(/^up to date: /);
  expect(edge.lines.filter((line) => line.startsWith('switching cloud: ') || line.startsWith('cannot connect: '))).toEqual([]);
});

it('moves on when its cloud goes away (1001), round the list past a dead URL, and links again when that cloud returns', async () => {
  const deadStream = `wss://127.0.0.1:${await deadPort()}`;
  const edge = startEdge('edge-g', `${streamUrl},${deadStream}`, undefined, await freshToken());
  expect(await edge.waitForLine(/^linked \(/, 30_000)).toBe(`linked (full) to cluster ${clusterId}`);
  await edge.waitForLine(/^up to date: /);

  cloud.child.kill('SIGTERM');
  expect(await edge.waitForLine(/^switching cloud: /, 30_000)).toBe(`switching cloud: ${deadStream} (${streamUrl}: closed 1001 (going away): cloud stopping)`);
  // The dead URL refuses, so the next attempt goes round to the first again (the cloud may still be down then).
  expect(await edge.waitForLine(new RegExp(`^switching cloud: ${escaped(streamUrl)} `), 30_000)).toBe(`switching cloud: ${streamUrl} (${deadStream}: connection failed)`);
  await cloud.exited();

  cloud = startCloud(['--api-port', apiPort, '--stream-port', new URL(streamUrl).port, '--bootstrap-port', new URL(bootstrapUrl).port]);
  await cloud.waitForLine(/^Stream: /, 40_000);
  // The first link was full: a second "linked" line is the link through the returned cloud.
  // Back-off has grown while the cloud was away, and every other attempt goes to the dead URL: allow two rounds at the 30 s cap.
  await until(() => edge.lines.filter((line) => line.startsWith('linked (')).length >= 2, edge, 90_000);
  expect(edge.lines.filter((line) => line.startsWith('linked ('))).toEqual([`linked (full) to cluster ${clusterId}`, `linked (resume) to cluster ${clusterId}`]);
}, 180_000);
