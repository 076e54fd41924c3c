// An edge process for the crash specs: an EdgeHub on the edge's SQLite journal (outbox and desired
// objects in the journal file, synchronous=FULL), producing up events until its outbox holds
// `total`, resuming from its outbox head after a restart. Each applied desired revision is appended
// to applied.log after its commit, so the spec can check that revisions only ever increase.
// Usage: node --import tsx stream-edge.peer.testing.ts <json options>; prints JSON lines.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteJournal } from '../../journal/index.js';
import { connectMtlsStream, loadNodeCredentials } from '../security/index.js';
import { EdgeHub } from './edge-hub.js';
import { openEdgeSyncJournal } from './edge-sync-journal.sqlite.js';

interface PeerOptions {
  readonly dataDir: string;
  readonly cloudUrl: string;
  readonly total: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as PeerOptions;
const say = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const fail = (what: string): never => {
  process.stderr.write(`edge peer: ${what}\n`);
  process.exit(2);
};

const credentials = await loadNodeCredentials(options.dataDir);
if (!credentials.ok) fail(credentials.error.message);
const nodeName = credentials.ok ? credentials.value.nodeName : fail('credentials');
const store = openSqliteJournal(join(options.dataDir, 'journal.db'));
if (!store.ok) fail(JSON.stringify(store.error));
const journal = openEdgeSyncJournal(store.ok ? store.value : fail('journal'), { streamOf: () => `node-${nodeName}` });
if (!journal.ok) fail(JSON.stringify(journal.error));

const hub = await EdgeHub.open({
  nodeName,
  journal: journal.ok ? journal.value : fail('sync journal'),
  backoff: { delayMsMin: 20, delayMsMax: 200 },
  connect: async () => {
    const fresh = await loadNodeCredentials(options.dataDir);
    if (!fresh.ok) return { ok: false, error: { message: fresh.error.message } };
    return connectMtlsStream({ cloudUrl: options.cloudUrl, credentials: fresh.value });
  },
});
const log = join(options.dataDir, 'applied.log');
hub.on('desired', (changes) => {
  const lines = changes.filter((c) => c.op === 'put').map((c) => `${c.key} ${c.op === 'put' ? c.resourceVersion : ''}\n`);
  if (lines.length > 0) appendFileSync(log, lines.join(''));
});
hub.on('linked', (mode) => say({ linked: mode }));
hub.start();
say({ started: true, head: hub.status().outboxHead });
setInterval(() => say({ head: hub.status().outboxHead, acked: hub.status().upAcked }), 100).unref();

// Produce until the outbox holds `total` events; event n carries n, which must equal its seq.
for (;;) {
  const head = hub.status().outboxHead;
  if (head >= options.total) break;
  const count = Math.min(100, options.total - head);
  const events = Array.from({ length: count }, (_, k) => ({ type: 'ValueReported.v1', data: { n: head + 1 + k } }));
  const reported = await hub.report(events, [{ type: 'ValuesProduced.v1', data: { through: head + count }, meta: { at: new Date().toISOString(), origin: nodeName } }]);
  if (!reported.ok) fail(`report: ${JSON.stringify(reported.error)}`);
  // Let the link breathe between batches, as a real producer would.
  await new Promise((resolve) => setImmediate(resolve));
}
say({ produced: options.total });

process.on('SIGTERM', () => {
  void hub.stop().then(() => process.exit(0));
});
