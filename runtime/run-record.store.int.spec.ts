// Run records on disk. Method: write records, reopen the store and load them back in start order;
// a corrupt file, a half-written temp and a record with a wrong field are skipped, never trusted;
// the shim's exit file is read only when it holds an exit code.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRunRecord, RunRecordStore, type RunRecord } from './run-record.store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-records-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (runId: string, seq: number): RunRecord => ({
  v: 1, pod: { namespace: 'default', name: 'p', uid: 'uid-1' }, container: 'app', runId, seq, pid: 4242, startTicks: 99, bootId: 'boot',
  startedAt: '2026-11-01T10:00:00.000Z', workingDir: '/', logPath: '/x.log', memoryBytesMax: null, cgroupDir: null, killReason: null, exit: null,
});

describe('RunRecordStore', () => {
  it('loads what it wrote, in start order, after a reopen; rewrites replace', () => {
    const store = new RunRecordStore(dir);
    store.write(record('b', 2));
    store.write(record('a', 1));
    store.write({ ...record('a', 1), killReason: 'Killed' });
    const loaded = new RunRecordStore(dir).loadAll(100);
    expect(loaded.map((r) => [r.runId, r.killReason])).toEqual([['a', 'Killed'], ['b', null]]);
    expect(readdirSync(join(dir, 'runtime/runs/uid-1')).sort()).toEqual(['a.json', 'b.json']);
  });

  it('skips corrupt files, temps and malformed records, and loads at most recordsMax', () => {
    const store = new RunRecordStore(dir);
    store.write(record('good', 1));
    store.write(record('other', 2));
    const podDir = join(dir, 'runtime/runs/uid-1');
    writeFileSync(join(podDir, 'torn.json'), '{"v":1,');
    writeFileSync(join(podDir, 'half.json.tmp'), JSON.stringify(record('half', 3)));
    writeFileSync(join(podDir, 'bad.json'), JSON.stringify({ ...record('bad', 4), pid: -1 }));
    expect(store.loadAll(100).map((r) => r.runId)).toEqual(['good', 'other']);
    expect(store.loadAll(1)).toHaveLength(1);
  });

  it('reads an exit file only when it holds an exit code', () => {
    const store = new RunRecordStore(dir);
    store.preparePod('uid-1');
    expect(store.readExitCode('uid-1', 'r')).toBeUndefined();
    writeFileSync(store.exitFilePath('uid-1', 'r'), '143\n');
    expect(store.readExitCode('uid-1', 'r')).toBe(143);
    writeFileSync(store.exitFilePath('uid-1', 'r'), '');
    expect(store.readExitCode('uid-1', 'r')).toBeUndefined();
    writeFileSync(store.exitFilePath('uid-1', 'r'), '999');
    expect(store.readExitCode('uid-1', 'r')).toBeUndefined();
  });
});

describe('decodeRunRecord', () => {
  it.each([
    ['not an object', 'x', 'version 1'],
    ['another version', { ...record('r', 1), v: 2 }, 'version 1'],
    ['a missing pod', { ...record('r', 1), pod: null }, 'pod'],
    ['a text pid', { ...record('r', 1), pid: '12' }, 'pid'],
    ['an unknown kill reason', { ...record('r', 1), killReason: 'Stopped' }, 'killReason'],
    ['an exit without a reason', { ...record('r', 1), exit: { exitCode: 1, message: '', at: '' } }, 'exit'],
  ])('refuses %s', (_, value, fragment) => {
    const decoded = decodeRunRecord(value);
    expect(decoded.ok === false && decoded.error).toContain(fragment);
  });
});
