// runEdge's start-up refusals, in process (the e2e spec covers the ones that need a cloud). Method:
// given a data dir in a state, when runEdge starts, then it resolves 1 at once with one line on
// stderr that says what is wrong and what to do, and prints nothing on stdout.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runEdge, type EdgeOptions } from './edge.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-edge-int-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A token of the right shape that no cloud issued. */
const wellFormedToken = `abc123.${'a'.repeat(32)}.${'0'.repeat(64)}`;

async function run(options: Partial<EdgeOptions>): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  const code = await runEdge(
    { cloud: 'wss://127.0.0.1:1', name: 'edge-1', dataDir: join(dir, 'data'), ...options },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    stop.signal,
    pino({ level: 'silent' }),
  );
  stop.abort();
  return { code, out, err };
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('refuses a --cloud that is not a wss:// base URL, and a --bootstrap that is not https://', async () => {
  expect(await run({ cloud: 'https://127.0.0.1:10000' })).toEqual({
    code: 1,
    out: [],
    err: ['edgehive edge: --cloud takes wss://<host>:<port> (the "Stream:" line of edgehive cloud), not https://'],
  });
  expect((await run({ cloud: 'cloud.example:10000' })).err[0]).toContain('--cloud takes wss://<host>:<port>');
  expect((await run({ cloud: 'wss://127.0.0.1:10000/e632/edge-1/events' })).err[0]).toContain('without a path, query or credentials');
  expect((await run({ bootstrap: 'wss://127.0.0.1:10002' })).err[0]).toContain('--bootstrap takes https://<host>:<port>');
});

it('asks for --token on the first join', async () => {
  const result = await run({});
  expect(result.code).toBe(1);
  expect(result.out).toEqual([]);
  expect(result.err[0]).toMatch(/^edgehive edge: node edge-1 has not joined yet: the first run needs --token \(create one on the cloud with `edgehive token create`\)/);
});

it('refuses a journal file that is not an edgehive journal, before contacting the cloud', async () => {
  mkdirSync(join(dir, 'data', 'edge'), { recursive: true });
  writeFileSync(join(dir, 'data', 'edge', 'journal.db'), Buffer.alloc(8192, 0x5a));
  const result = await run({ token: wellFormedToken });
  expect(result.code).toBe(1);
  expect(result.err[0]).toBe(`edgehive edge: ${join(dir, 'data', 'edge', 'journal.db')} is not an edgehive journal: not an SQLite database (file is not a database)`);
});

it('says which bootstrap URL it could not reach on the first join', async () => {
  const port = await closedPort();
  const result = await run({ cloud: `wss://127.0.0.1:${port - 2}`, token: wellFormedToken });
  expect(result.code).toBe(1);
  expect(result.err[0]).toContain(`edgehive edge: cannot join the cluster at https://127.0.0.1:${port}: `);
  expect(result.err[0]).toContain('ECONNREFUSED');
});
