// Crash specs with whole processes: a cloud process and an edge process (the peers beside this file)
// on real SQLite files and mTLS sockets. While 10,000 up events flow up and 1,000 objects change ten
// times (10,000 revisions) down, one of the processes is killed with SIGKILL and started again.
// Then, from the files alone: every up event was applied exactly once and in order, the edge holds
// exactly the newest revision of every object, and per object the applied revisions only increased.
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compareResourceVersions } from '../sync/index.js';
import { createJoinTokenInDataDir, joinCluster } from '../security/index.js';
import { until } from './stream.testing.js';

const cloudScript = fileURLToPath(new URL('./stream-cloud.peer.testing.ts', import.meta.url));
const edgeScript = fileURLToPath(new URL('./stream-edge.peer.testing.ts', import.meta.url));
const total = 10_000;
const objects = 1000;
const revisions = 10;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A peer process whose stdout JSON lines are folded into `latest` (last value per key). */
interface Peer {
  readonly child: ChildProcess;
  readonly latest: Record<string, unknown>;
  readonly exited: Promise<unknown>;
}

function startPeer(script: string, options: object): Peer {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const latest: Record<string, unknown> = {};
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) Object.assign(latest, JSON.parse(line) as object);
  });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, latest, exited };
}

async function kill(peer: Peer, signal: NodeJS.Signals): Promise<void> {
  peer.child.kill(signal);
  await peer.exited;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `edgehive-crash-${name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface World {
  readonly cloudDir: string;
  readonly edgeDir: string;
  readonly cloudOptions: object;
  readonly edgeOptions: object;
}

/** A cloud process up, and an edge joined with a token into its own folder (credentials on disk). */
async function world(): Promise<World & { cloud: Peer }> {
  const cloudDir = await tempDir('cloud');
  const edgeDir = await tempDir('edge');
  const streamPort = await freePort();
  const bootstrapPort = await freePort();
  const cloudOptions = { dataDir: cloudDir, streamPort, bootstrapPort, node: 'edge-crash', objects, revisions, roundIntervalMs: 150 };
  const cloud = startPeer(cloudScript, cloudOptions);
  await until(() => cloud.latest['ready'] === true, 'the cloud process ready', 30_000);
  const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!token.ok) throw new Error(token.error.message);
  const joined = await joinCluster({ cloudUrl: `https://127.0.0.1:${bootstrapPort}`, token: token.value.token, nodeName: 'edge-crash', dataDir: edgeDir });
  if (!joined.ok) throw new Error(joined.error.message);
  return { cloudDir, edgeDir, cloud, cloudOptions, edgeOptions: { dataDir: edgeDir, cloudUrl: `wss://127.0.0.1:${streamPort}`, total } };
}

const applied = (peer: Peer): number => (peer.latest['applied'] as number | undefined) ?? 0;
const round = (peer: Peer): number => (peer.latest['round'] as number | undefined) ?? 0;

/** Objects the edge journal holds at the final revision, read from the file while the edge runs. */
function edgeHoldsFinal(edgeDir: string): boolean {
  const path = join(edgeDir, 'journal.db');
  if (!existsSync(path)) return false;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM desired_objects WHERE json_extract(content, '$.data.round') = ?").get(String(revisions)) as { n: number };
    return row.n === objects;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** Reads both sides' files after the processes stopped and checks the stream's invariants. */
function checkInvariants(w: World): void {
  const cloudDb = new Database(join(w.cloudDir, 'cloud-state.db'), { readonly: true, fileMustExist: true });
  const rows = cloudDb.prepare('SELECT seq, n FROM applied WHERE node = ? ORDER BY id').all('edge-crash') as { seq: number; n: number }[];
  const desired = cloudDb.prepare('SELECT key, rv, hash FROM desired').all() as { key: string; rv: string; hash: string }[];
  cloudDb.close();
  // Up: exactly once, in order, each event where its seq says.
  expect(rows.length).toBe(total);
  expect(rows.every((row, i) => row.seq === i + 1 && row.n === i + 1)).toBe(true);
  // Down: the newest revision of every desired object, and nothing else.
  const edgeDb = new Database(join(w.edgeDir, 'journal.db'), { readonly: true, fileMustExist: true });
  const held = new Map((edgeDb.prepare('SELECT key, resource_version AS rv, content_hash AS hash FROM desired_objects').all() as { key: string; rv: string; hash: string }[]).map((r) => [r.key, r]));
  edgeDb.close();
  expect(held.size).toBe(objects);
  for (const object of desired) expect(held.get(object.key), object.key).toEqual(object);
  // Per object, the revisions the edge applied strictly increase, across both lives of a process.
  const seen = new Map<string, string>();
  for (const line of readFileSync(join(w.edgeDir, 'applied.log'), 'utf8').split('\n').filter(Boolean)) {
    const [key = '', rv = ''] = line.split(' ');
    const before = seen.get(key);
    if (before !== undefined) expect(compareResourceVersions(rv, before), `${key}: ${before} then ${rv}`).toBeGreaterThan(0);
    seen.set(key, rv);
  }
  expect(seen.size).toBe(objects);
}

describe('SIGKILL in the middle of a transfer', () => {
  it('of the edge process: restarted, it resumes after the cloud\'s upAcked and the cloud resends only what is pending', async () => {
    const w = await world();
    let edge = startPeer(edgeScript, w.edgeOptions);
    await until(() => applied(w.cloud) >= 3000 && round(w.cloud) >= 2, 'a third of the up events applied and revisions under way', 60_000);
    await kill(edge, 'SIGKILL');
    const appliedAtKill = applied(w.cloud);
    expect(appliedAtKill).toBeLessThan(total);
    edge = startPeer(edgeScript, w.edgeOptions);
    await until(() => edge.latest['linked'] === 'resume', 'the restarted edge resumes', 30_000);
    await until(() => applied(w.cloud) === total && round(w.cloud) === revisions && edgeHoldsFinal(w.edgeDir), 'everything applied both ways', 120_000);
    await kill(edge, 'SIGTERM');
    await kill(w.cloud, 'SIGTERM');
    checkInvariants(w);
  });

  it('of the cloud process: restarted on the same files, the edge reconnects and nothing is lost or doubled', async () => {
    const w = await world();
    const edge = startPeer(edgeScript, w.edgeOptions);
    await until(() => applied(w.cloud) >= 3000 && round(w.cloud) >= 2, 'a third of the up events applied and revisions under way', 60_000);
    await kill(w.cloud, 'SIGKILL');
    const cloud = startPeer(cloudScript, w.cloudOptions);
    await until(() => cloud.latest['ready'] === true, 'the cloud restarted', 30_000);
    await until(() => applied(cloud) === total && round(cloud) === revisions && edgeHoldsFinal(w.edgeDir), 'everything applied both ways', 120_000);
    await kill(edge, 'SIGTERM');
    await kill(cloud, 'SIGTERM');
    checkInvariants(w);
  });
});
