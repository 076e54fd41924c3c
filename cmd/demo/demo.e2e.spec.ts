// `edgehive demo` (a sample life journaled, then replayed). Method: given an empty data dir, when the real
// CLI runs the demo twice, then each run writes a fresh sample journal and replays it: three
// streams listed, the pod's timeline printed, and the file replays on its own afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runCli } from '../replay/cli-harness.testing.js';
import { sampleStreams } from './sample-life.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-demo-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('writes a sample journal and replays it, the same on a second run', async () => {
  const dataDir = join(dir, 'data');
  const first = await runCli(['demo', '--data-dir', dataDir]);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const journal = join(dataDir, 'sample.db');
  expect(first.stdout).toContain(`wrote a sample journal: ${journal}`);
  expect(first.stdout).toContain(', 3 streams');
  for (const stream of Object.values(sampleStreams)) expect(first.stdout).toContain(`${stream}\t`);
  expect(first.stdout).toMatch(/ v1 {2}PodAdmitted\.v1 {2}→ pending$/m);

  const second = await runCli(['demo', '--data-dir', dataDir]);
  expect(second.code).toBe(0);
  // Times come from the demo's own clock, so a fresh journal replays to the same timeline.
  const timeline = (out: string) => out.split('\n').filter((l) => / v\d+ {2}/.test(l));
  expect(timeline(second.stdout)).toEqual(timeline(first.stdout));

  const replayed = await runCli(['replay', journal, '--stream', sampleStreams.twin, '--json']);
  expect(replayed.code).toBe(0);
  expect(JSON.parse(replayed.stdout).state.status).toBe('drifted');
});
