// `edgehive edge` against a real `edgehive cloud`, both as child processes. Method: one cloud for the
// file; each spec gives its edges fresh data dirs, waits on their stdout lines (never on time), and
// kills them afterwards. Join tokens come from `edgehive token create` where that is the point, and
// from the same library call in-process elsewhere, to keep the file fast.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createJoinTokenInDataDir, joinCluster } from '../../transport/index.js';
import { runCli } from '../replay/cli-harness.testing.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';

let root: string;
let cloudDir: string;
let cloud: RunningCli;
let streamUrl: string;
let bootstrapUrl: string;
let clusterId: string;
const edges: RunningCli[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-edge-'));
  cloudDir = join(root, 'cloud');
  cloud = startEdgehive(['cloud', '--data-dir', cloudDir]);
  streamUrl = (await cloud.waitForLine(/^Stream: /, 40_000)).slice('Stream: '.length);
  bootstrapUrl = (await cloud.waitForLine(/^Join: /)).slice('Join: '.length);
  clusterId = /\(cluster (\S+)\)$/.exec(await cloud.waitForLine(/^Kubernetes API: /))?.[1] ?? '';
});
afterEach(() => {
  for (const edge of edges) edge.child.kill('SIGKILL');
  edges.length = 0;
});
afterAll(() => {
  cloud?.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function startEdge(name: string, dataDir: string, token?: string): RunningCli {
  const edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', name, '--data-dir', dataDir, '--meta-server-port', '0', ...(token === undefined ? [] : ['--token', token])]);
  edges.push(edge);
  return edge;
}

async function freshToken(ttlMs?: number): Promise<{ token: string; id: string }> {
  const created = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now(), ...(ttlMs === undefined ? {} : { ttlMs }) });
  if (!created.ok) throw new Error(created.error.message);
  return created.value;
}

it('joins with a token from `token create`, links, and after a restart without the token links again with resume', async () => {
  expect(streamUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
  expect(Number(new URL(bootstrapUrl).port)).toBe(Number(new URL(streamUrl).port) + 2);
  const created = await runCli(['token', 'create', '--data-dir', cloudDir]);
  expect(created.code).toBe(0);
  const token = created.stdout.trim().split('\n').at(-1) ?? '';
  const dataDir = join(root, 'edge-a');

  const first = startEdge('edge-a', dataDir, token);
  await first.waitForLine(/^joined as system:node:edge-a \(certificate valid until \S+\)$/);
  expect(await first.waitForLine(/^linked \(/)).toBe(`linked (full) to cluster ${clusterId}`);
  // The state report after a full link is applied and acknowledged: the cloud now follows this journal.
  await first.waitForLine(/^up to date: the cloud applied up seq [1-9]/);
  first.child.kill('SIGTERM');
  expect(await first.exited()).toBe(0);

  const again = startEdge('edge-a', dataDir);
  await again.waitForLine(/^credentials of system:node:edge-a /);
  expect(await again.waitForLine(/^linked \(/)).toBe(`linked (resume) to cluster ${clusterId}`);
  expect(again.lines.some((line) => line.startsWith('joined as'))).toBe(false);
});

it('exits 1 with the reason on a garbage token (the parser\'s), an expired one (the cloud\'s) and another node\'s data dir', async () => {
  const expired = await freshToken(60_000);
  // Expiry is the cloud's verdict at the time of the join; rewinding the record is the fast way to get there.
  const tokensPath = join(cloudDir, 'join-tokens.json');
  const file = JSON.parse(readFileSync(tokensPath, 'utf8')) as { tokens: { id: string; createdAtMs: number; expiresAtMs: number }[] };
  for (const record of file.tokens) if (record.id === expired.id) record.expiresAtMs = record.createdAtMs + 1;
  writeFileSync(tokensPath, JSON.stringify(file));
  // A data dir that joined as edge-o: its certificate names edge-o, so it cannot serve as edge-x.
  const otherDir = join(root, 'edge-o');
  expect((await joinCluster({ cloudUrl: bootstrapUrl, token: (await freshToken()).token, nodeName: 'edge-o', dataDir: otherDir })).ok).toBe(true);
  const fresh = (await freshToken()).token;

  const edge = (name: string, dataDir: string, token: string) => runCli(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', name, '--data-dir', dataDir, '--token', token]);
  const [garbage, late, impostor] = await Promise.all([
    edge('edge-g', join(root, 'edge-g'), 'not-a-token'),
    edge('edge-e', join(root, 'edge-e'), expired.token),
    edge('edge-x', otherDir, fresh),
  ]);
  expect(garbage.code).toBe(1);
  expect(garbage.stderr).toContain('edgehive edge: cannot join the cluster at');
  expect(garbage.stderr).toContain('a join token looks like <6 chars a-z0-9>.<32 chars a-z0-9>.<64 hex chars CA hash>');
  expect(late.code).toBe(1);
  expect(late.stderr).toContain(`the cloud refused (401 TokenExpired): join token ${expired.id} expired at`);
  expect(late.stdout).not.toContain('linked');
  expect(impostor.code).toBe(1);
  expect(impostor.stderr).toContain(`edgehive edge: ${otherDir} holds the credentials of node edge-o, not edge-x`);
});

it('lets a re-provisioned edge (new data dir, fresh token) join under a name that already joined', async () => {
  const joined = await joinCluster({ cloudUrl: bootstrapUrl, token: (await freshToken()).token, nodeName: 'edge-d', dataDir: join(root, 'edge-d-old') });
  expect(joined.ok).toBe(true);
  const replacement = startEdge('edge-d', join(root, 'edge-d-new'), (await freshToken()).token);
  await replacement.waitForLine(/^joined as system:node:edge-d /);
  // Its journal is new to the cloud, so the link starts with a full resync.
  expect(await replacement.waitForLine(/^linked \(/)).toBe(`linked (full) to cluster ${clusterId}`);
});
