// `edgehive replay --follow` tails a journal another process is writing. Method: given a live
// journal and a following replay process, when events are appended, then each shows up as a
// timeline line, and Ctrl-C (SIGINT) ends the process cleanly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { startCli } from './cli-harness.testing.js';

let dir: string;
let store: SqliteEventStore;
const meta = (second: number) => ({ at: `2026-11-01T00:00:${String(second).padStart(2, '0')}.000Z`, origin: 'edge-1' });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-follow-'));
  const opened = openSqliteJournal(join(dir, 'edge.db'));
  if (!opened.ok) throw new Error(opened.error.kind);
  store = opened.value;
  await store.append('other-a', 0, [{ type: 'Seen.v1', data: { n: 1 }, meta: meta(1) }]);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('prints events appended after it started, and nothing twice', async () => {
  const cli = startCli(['replay', join(dir, 'edge.db'), '--follow']);
  try {
    await cli.waitForLine((l) => l.startsWith('following '));
    await store.append('other-a', 1, [{ type: 'Grew.v1', data: { n: 2 }, meta: meta(2) }]);
    await store.append('other-b', 0, [{ type: 'Appeared.v1', data: { secretData: 'hidden' }, meta: meta(3) }]);
    await cli.waitForLine((l) => l.includes('Appeared.v1'));
    const followed = cli.lines.slice(cli.lines.findIndex((l) => l.startsWith('following ')) + 1);
    expect(followed).toEqual(['2026-11-01T00:00:02.000Z  other-a  v2  Grew.v1  → -', '2026-11-01T00:00:03.000Z  other-b  v1  Appeared.v1  → -']);
  } finally {
    cli.child.kill('SIGINT');
  }
  const code = await new Promise<number | null>((resolve) => cli.child.on('close', resolve));
  expect(code).toBe(0);
});

it('follows one stream as JSON lines when asked', async () => {
  const cli = startCli(['replay', join(dir, 'edge.db'), '--stream', 'other-a', '--follow', '--json']);
  try {
    await cli.waitForLine((l) => l.startsWith('{"stream":"other-a","kind":null'));
    await store.append('other-b', 0, [{ type: 'Ignored.v1', data: {}, meta: meta(4) }]);
    await store.append('other-a', 1, [{ type: 'Grew.v1', data: { n: 2 }, meta: meta(5) }]);
    const line = await cli.waitForLine((l) => l.includes('Grew.v1'));
    expect(JSON.parse(line)).toMatchObject({ stream: 'other-a', version: 2, type: 'Grew.v1', data: { n: 2 }, status: '-' });
    expect(cli.lines.some((l) => l.includes('Ignored.v1'))).toBe(false);
  } finally {
    cli.child.kill('SIGINT');
  }
  expect(await new Promise((resolve) => cli.child.on('close', resolve))).toBe(0);
});
