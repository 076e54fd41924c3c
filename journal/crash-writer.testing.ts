// A child process that appends batches until it is killed, printing each batch once its append
// has resolved: the crash test kills it at an arbitrary instant and checks what survived.
import { openSqliteJournal } from './sqlite.event-store.js';

const [path, batchSizeArg] = process.argv.slice(2);
const batchSize = Number(batchSizeArg ?? '5');
const opened = openSqliteJournal(path ?? 'crash.db');
if (!opened.ok) throw new Error(opened.error.kind);
const store = opened.value;
const versions = new Map<string, number>();

for (let batch = 0; ; batch++) {
  const stream = `crash-${batch % 7}`;
  const expected = versions.get(stream) ?? 0;
  const events = Array.from({ length: batchSize }, (_, index) => ({
    type: 'CrashProbe.v1',
    data: { batch, index, pad: 'p'.repeat(200) },
    meta: { at: '2026-01-01T00:00:00.000Z', origin: 'crash-writer' },
  }));
  const result = await store.append(stream, expected, events);
  if (!result.ok) throw new Error(`unexpected ${result.error.kind}`);
  versions.set(stream, result.value.nextVersion);
  process.stdout.write(`committed ${batch}\n`);
}
