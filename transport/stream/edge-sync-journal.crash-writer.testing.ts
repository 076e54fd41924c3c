// A child process that commits outbox entries with their journaled events until it is killed,
// printing the outbox head once each commit has resolved: edge-sync-journal.int.spec.ts SIGKILLs
// it at an arbitrary instant and checks that the outbox and the journal still agree.
import { openSqliteJournal } from '../../journal/index.js';
import { openEdgeSyncJournal } from './edge-sync-journal.sqlite.js';

const [path] = process.argv.slice(2);
const store = openSqliteJournal(path ?? 'crash.db');
if (!store.ok) throw new Error(store.error.kind);
const sync = openEdgeSyncJournal(store.value, { streamOf: (event) => `probe-${String((event.data as { seq: number }).seq % 5)}` });
if (!sync.ok) throw new Error(sync.error.kind);
const meta = { at: '2026-01-01T00:00:00.000Z', origin: 'crash-writer' };
const pad = 'p'.repeat(200);

let head = (await sync.value.loadSyncState()).outboxHead;
for (let commit = 1; ; commit++) {
  // One to three entries per commit, each with its journaled event; now and then the cloud "acks".
  const seqs = Array.from({ length: 1 + (commit % 3) }, (_, i) => head + 1 + i);
  const entries = seqs.map((seq) => ({ seq, event: { type: 'ValueReported.v1', data: { seq, pad } }, bytes: 240 }));
  const events = seqs.map((seq) => ({ type: 'ValueReported.v1', data: { seq, pad }, meta }));
  const committed = await sync.value.commitWithOutbox(events, { after: head, entries });
  if (!committed.ok) throw new Error(`unexpected ${committed.error.kind}`);
  head += seqs.length;
  if (commit % 7 === 0) await sync.value.compactOutbox(Math.max(0, head - 5));
  if (commit % 5 === 0) await sync.value.commitDesired([{ op: 'put', key: 'configmaps/default/c', uid: 'c1', resourceVersion: String(commit), contentHash: `h${commit}`, content: { pad } }], null);
  process.stdout.write(`committed ${head}\n`);
}
