// The embedded API server under kubectl-shaped load, each figure next to raw better-sqlite3 doing
// the same storage work in the same run: create latency (p50/p99 over 1,000 pods, one POST each
// over HTTPS with keep-alive, vs one durable INSERT each), list throughput (10,000 pods paged with
// limit=500 as kubectl does, as JSON and as Table, vs a SELECT of the same rows) and watch
// throughput (a watch from resourceVersion=0 delivering 10,000 pods as ADDED events).
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startEmbeddedApiServer } from '../k8s/index.js';

export interface ApiFigure {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly baseline: number;
  /** value / baseline: for latencies lower is better, for throughput higher is. */
  readonly ratio: number;
  readonly mode: string;
}

const podBody = (i: number): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${String(i).padStart(5, '0')}`, labels: { app: 'bench', shard: String(i % 10) } },
    spec: { nodeName: `edge-${i % 50}`, containers: [{ name: 'app', image: 'registry.local/app:1.0', command: ['/bin/app', '--port', '8080'], ports: [{ containerPort: 8080 }] }] },
  });

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

interface Client {
  call(method: string, path: string, body?: string, accept?: string): Promise<{ status: number; body: string }>;
  /** Opens a watch and resolves once `events` lines arrived. */
  watchUntil(path: string, events: number): Promise<number>;
}

function httpsClient(url: string, token: string, ca: string): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 4, ca });
  const base = new URL(url);
  const options = (method: string, path: string, accept: string, body?: string) => ({
    agent,
    host: base.hostname,
    port: base.port,
    method,
    path,
    headers: { Authorization: `Bearer ${token}`, Accept: accept, 'Content-Type': 'application/json', 'User-Agent': 'edgehive-bench', 'Content-Length': String(body === undefined ? 0 : Buffer.byteLength(body)) },
  });
  return {
    call: (method, path, body, accept = 'application/json') =>
      new Promise((resolve, reject) => {
        const req = request(options(method, path, accept, body), (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
      }),
    watchUntil: (path, events) =>
      new Promise((resolve, reject) => {
        let seen = 0;
        const req = request(options('GET', path, 'application/json'), (res) => {
          res.on('data', (c: Buffer) => {
            for (const byte of c) if (byte === 10) seen += 1;
            if (seen >= events) {
              req.destroy();
              resolve(seen);
            }
          });
        });
        req.on('error', (error) => (seen >= events ? undefined : reject(error)));
        req.end();
      }),
  };
}

export async function apiServerFigures(podsForList = 10_000, podsForLatency = 1_000): Promise<ApiFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehive-bench-api-'));
  try {
    const started = await startEmbeddedApiServer({ dataDir: join(dir, 'data'), listPageMax: 500 });
    if (!started.ok) throw new Error(started.error);
    const server = started.value;
    const client = httpsClient(server.url, server.token, server.caPem ?? '');
    const figures: ApiFigure[] = [];
    try {
      // Create latency, one POST at a time, as `kubectl create` does.
      const latencies: number[] = [];
      for (let i = 0; i < podsForLatency; i++) {
        const t0 = process.hrtime.bigint();
        const res = await client.call('POST', '/api/v1/namespaces/default/pods', podBody(i));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.body}`);
      }
      const raw = rawInsertLatencies(join(dir, 'raw.db'), podsForLatency);
      latencies.sort((a, b) => a - b);
      for (const p of [50, 99]) {
        const value = percentile(latencies, p);
        const baseline = percentile(raw, p);
        figures.push({ name: `pod create latency p${p} (${podsForLatency} pods, HTTPS)`, unit: 'ms', value, baseline, ratio: value / baseline, mode: 'WAL, synchronous=FULL, one write per request' });
      }
      // Fill up to the list size concurrently (4 connections).
      let next = podsForLatency;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < podsForList) {
            const i = next++;
            const res = await client.call('POST', '/api/v1/namespaces/default/pods', podBody(i));
            if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
          }
        }),
      );
      const rawScan = rawScanPerSecond(join(dir, 'data', 'apiserver.db'));
      for (const [label, accept] of [
        ['JSON', 'application/json'],
        ['Table', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'],
      ] as const) {
        const t0 = process.hrtime.bigint();
        let count = 0;
        let token = '';
        do {
          const res = await client.call('GET', `/api/v1/namespaces/default/pods?limit=500${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`, undefined, accept);
          const page = JSON.parse(res.body) as { items?: unknown[]; rows?: unknown[]; metadata: { continue?: string } };
          count += (page.items ?? page.rows ?? []).length;
          token = page.metadata.continue ?? '';
        } while (token !== '');
        if (count !== podsForList) throw new Error(`listed ${count} of ${podsForList}`);
        const perSecond = count / (Number(process.hrtime.bigint() - t0) / 1e9);
        figures.push({ name: `list ${podsForList} pods as ${label}, limit=500 pages`, unit: 'objects/s', value: perSecond, baseline: rawScan, ratio: perSecond / rawScan, mode: 'HTTPS keep-alive vs SELECT of the same rows' });
      }
      const t0 = process.hrtime.bigint();
      const seen = await client.watchUntil('/api/v1/namespaces/default/pods?watch=true&resourceVersion=0', podsForList);
      const watchPerSecond = seen / (Number(process.hrtime.bigint() - t0) / 1e9);
      figures.push({ name: `watch from resourceVersion=0, ${podsForList} ADDED events`, unit: 'objects/s', value: watchPerSecond, baseline: rawScan, ratio: watchPerSecond / rawScan, mode: 'HTTPS chunked vs SELECT of the same rows' });
    } finally {
      await server.close();
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One durable INSERT of a pod-sized JSON row per transaction, timed each. */
function rawInsertLatencies(path: string, count: number): number[] {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE objects (k TEXT PRIMARY KEY, rv INTEGER, object TEXT) WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO objects VALUES (?, ?, ?)');
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    insert.run(`pod-${i}`, i, podBody(i));
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  db.close();
  return out.sort((a, b) => a - b);
}

/** Rows/s of reading every stored pod back with one SELECT and JSON.parse, as the server must. */
function rawScanPerSecond(path: string): number {
  const db = new Database(path, { readonly: true });
  const t0 = process.hrtime.bigint();
  const rows = db.prepare("SELECT object FROM objects WHERE api_group = '' AND resource = 'pods'").all() as { object: string }[];
  for (const row of rows) JSON.parse(row.object);
  const perSecond = rows.length / (Number(process.hrtime.bigint() - t0) / 1e9);
  db.close();
  return perSecond;
}
