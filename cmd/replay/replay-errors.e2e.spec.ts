// `edgehive replay` on bad input, through the real CLI process. Method: given a missing, foreign or
// corrupt file, an unknown stream or a malformed flag, when replay runs, then it prints one precise
// line on stderr and exits non-zero.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteJournal } from '../../journal/index.js';
import { runCli } from './cli-harness.testing.js';

let dir: string;
let journal: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-replay-err-'));
  journal = join(dir, 'edge.db');
  const opened = openSqliteJournal(journal);
  if (!opened.ok) throw new Error(opened.error.kind);
  await opened.value.append('lamp-x', 0, [{ type: 'LampSwitchedOn.v1', data: { by: 'a' }, meta: { at: '2026-11-01T00:00:00.000Z', origin: 't' } }]);
  await opened.value.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edgehive replay given bad input', () => {
  it('a missing file', async () => {
    const r = await runCli(['replay', join(dir, 'nope.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`edgehive replay: journal ${join(dir, 'nope.db')} does not exist`);
  });

  it('a file that is not a database', async () => {
    const path = join(dir, 'text.db');
    writeFileSync(path, 'not sqlite at all\n'.repeat(50));
    const r = await runCli(['replay', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path} is not an edgehive journal: not an SQLite database`);
  });

  it("another program's SQLite file", async () => {
    const path = join(dir, 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const r = await runCli(['replay', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not an edgehive journal: SQLite application_id is 0');
  });

  it('an unknown stream', async () => {
    const r = await runCli(['replay', journal, '--stream', 'pod-default.ghost.u0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no stream 'pod-default.ghost.u0'");
  });

  it('a malformed --until', async () => {
    const r = await runCli(['replay', journal, '--stream', 'lamp-x', '--until', 'yesterday']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--until takes a stream version');
  });

  it('an unknown option is refused by the parser with usage help', async () => {
    const r = await runCli(['replay', journal, '--bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});
