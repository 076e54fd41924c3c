// How `edgehive status` prints a report. Method: small hand-made reports, asserting on the lines a
// person (or grep) reads and on the JSON a script parses.
import { describe, expect, it } from 'vitest';
import { DEVICES_SHOWN_MAX, alignColumns, formatBytes, formatStatusJson, formatStatusText } from './status.format.js';
import type { DeviceReport, NodeReport, StatusReport } from './status.report.js';

const node = (overrides: Partial<NodeReport> = {}): NodeReport => ({
  name: 'edge-1',
  ready: 'True',
  readyForMs: 180_000,
  link: { state: 'linked', summary: 'linked 3m', detail: 'stream Lease held by cloud-a' },
  up: { count: 0, note: '' },
  down: { count: 2, note: '' },
  edgeDiffers: { count: 0, note: '' },
  outbox: { count: 1, note: '' },
  journal: { path: '/d/edge-1/edge/journal.db', fileBytes: 4096, walBytes: 1_048_576 },
  edgeDir: '/d/edge-1',
  problems: [],
  ...overrides,
});

const device = (overrides: Partial<DeviceReport> = {}): DeviceReport => ({
  namespace: 'default',
  name: 'thermometer-1',
  uid: 'u1',
  node: 'edge-1',
  edgeState: 'online',
  apiState: 'online',
  properties: [
    { name: 'target-temperature', edge: { expected: '21', actual: '21' }, api: { desired: '21', reported: '21' }, differs: [] },
    { name: 'temperature', edge: { expected: null, actual: '19.5' }, api: { desired: null, reported: '19' }, differs: ['actual≠reported'] },
  ],
  note: '',
  ...overrides,
});

const report = (overrides: Partial<StatusReport> = {}): StatusReport => ({
  dataDir: '/d',
  api: { reachable: true, server: 'https://127.0.0.1:6443', error: undefined, problems: [] },
  nodes: [node()],
  cloudJournal: { path: '/d/cloud/cloud/journal.db', fileBytes: 2048, walBytes: 0 },
  cloudJournalError: undefined,
  devices: [device()],
  ...overrides,
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1_572_864, '1.5 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('%i bytes read %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('alignColumns', () => {
  it('pads every column but the last to its widest cell, two spaces apart', () => {
    expect(alignColumns([['A', 'BB', 'C'], ['aaa', 'b', '']])).toEqual(['A    BB  C', 'aaa  b']);
  });
});

describe('formatStatusText', () => {
  it('prints one aligned row per node: Ready with its age, link, pending counts and journal size', () => {
    const lines = formatStatusText(report());
    expect(lines).toContain('API https://127.0.0.1:6443: reachable');
    const header = lines.findIndex((l) => l.startsWith('NODE'));
    expect(lines[header]).toMatch(/^NODE\s+READY\s+LINK\s+UP\s+DOWN\s+OUTBOX\s+JOURNAL$/);
    expect(lines[header + 1]).toMatch(/^edge-1\s+True 3m\s+linked 3m\s+0\s+2\s+1\s+1\.0 MiB \(wal 1\.0 MiB\)$/);
    expect(lines).toContain('cloud journal: 2.0 KiB  /d/cloud/cloud/journal.db');
  });

  it('prints each device property with both sides and marks the difference', () => {
    const lines = formatStatusText(report());
    expect(lines.find((l) => l.startsWith('default/thermometer-1'))).toMatch(/edge-1\s+online\/online\s+target-temperature\s+21 \/ 21\s+21 \/ 21$/);
    expect(lines.find((l) => l.includes(' temperature '))).toMatch(/temperature\s+- \/ 19\.5\s+- \/ 19\s+actual≠reported$/);
  });

  it('says the API is unreachable once, with its error, and explains only what else is unknown', () => {
    const unknownNode = node({
      ready: '?',
      link: { state: 'unknown', summary: '? (journal: linked)', detail: 'API unreachable; cloud journal: linked 3m ago' },
      up: { count: null, note: 'API unreachable' },
      down: { count: null, note: 'API unreachable' },
    });
    const lines = formatStatusText(report({ api: { reachable: false, server: 'https://127.0.0.1:6443', error: 'connect ECONNREFUSED', problems: [] }, nodes: [unknownNode] }));
    expect(lines[1]).toBe('API https://127.0.0.1:6443: UNREACHABLE (connect ECONNREFUSED); showing what the journals say');
    expect(lines.find((l) => l.startsWith('edge-1'))).toMatch(/^edge-1\s+\?\s+\? \(journal: linked\)\s+\?\s+\?\s+1\s/);
    expect(lines.filter((l) => l.includes('edge-1 up:') || l.includes('edge-1 down:'))).toEqual([]);
    expect(lines).toContain('  edge-1 link: API unreachable; cloud journal: linked 3m ago');
  });

  it('notes why a count is unknown, and an edge holding other revisions than the API', () => {
    const lines = formatStatusText(report({ nodes: [node({ up: { count: null, note: 'no NodeSync yet (never linked)' }, edgeDiffers: { count: 1, note: '' } })] }));
    expect(lines).toContain('  edge-1 up: no NodeSync yet (never linked)');
    expect(lines.some((l) => l.startsWith('  edge-1 the edge journal holds 1 desired object'))).toBe(true);
  });

  it('stays on one screen with many devices, pointing to --json for the rest', () => {
    const devices = Array.from({ length: DEVICES_SHOWN_MAX + 5 }, (_, i) => device({ name: `d${i}`, uid: `u${i}`, properties: [] }));
    const lines = formatStatusText(report({ devices }));
    expect(lines.filter((l) => l.startsWith('default/d'))).toHaveLength(DEVICES_SHOWN_MAX);
    expect(lines).toContain('… and 5 more devices (--json lists all)');
  });
});

describe('formatStatusJson', () => {
  it('is one JSON document with every key present, absent values as null', () => {
    const parsed = JSON.parse(formatStatusJson(report({ nodes: [node({ journal: undefined, edgeDir: undefined })] }))) as { api: Record<string, unknown>; nodes: Record<string, unknown>[] };
    expect(parsed.api).toEqual({ reachable: true, server: 'https://127.0.0.1:6443', error: null, problems: [] });
    expect(parsed.nodes[0]).toMatchObject({ name: 'edge-1', journal: null, edgeDir: null, down: { count: 2, note: '' } });
  });
});
