// `edgehive demo`: plays a sample life of a node, a pod
// and a device twin through live journaled actors into a fresh SQLite journal, then replays it.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeJournalOpenError, openSqliteJournal } from '../../journal/index.js';
import { runReplay, type ReplayIo } from '../replay/replay.js';
import { playSampleLife, sampleStreams } from './sample-life.js';

export interface DemoOptions {
  readonly dataDir: string;
}

/** Resolves to the process exit code. */
export async function runDemo(options: DemoOptions, io: ReplayIo): Promise<number> {
  const path = resolve(join(options.dataDir, 'sample.db'));
  try {
    mkdirSync(options.dataDir, { recursive: true });
    // A fresh journal each run: the sample life starts every actor from version 0.
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  } catch (cause) {
    io.err(`edgehive demo: cannot prepare ${path}: ${(cause as Error).message}`);
    return 1;
  }
  const opened = openSqliteJournal(path);
  if (!opened.ok) {
    io.err(`edgehive demo: ${describeJournalOpenError(opened.error)}`);
    return 1;
  }
  try {
    await playSampleLife(opened.value);
  } finally {
    await opened.value.close();
  }
  io.out(`wrote a sample journal: ${path}`);
  io.out('');
  const listed = await runReplay({ path, json: false, follow: false }, io);
  if (listed !== 0) return listed;
  io.out('');
  const timeline = await runReplay({ path, stream: sampleStreams.pod, json: false, follow: false }, io);
  if (timeline !== 0) return timeline;
  io.out('');
  io.out('try:');
  io.out(`  npx edgehive replay ${path} --stream ${sampleStreams.node}`);
  io.out(`  npx edgehive replay ${path} --stream ${sampleStreams.twin} --json`);
  io.out(`  npx edgehive replay ${path} --stream ${sampleStreams.pod} --until 4`);
  return 0;
}
