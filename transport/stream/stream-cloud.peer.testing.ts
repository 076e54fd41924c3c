// A cloud process for the crash specs: the stream and bootstrap servers on fixed ports, a CloudHub
// on the SQLite NodeSync store, a desired set of `objects` ConfigMaps for node `node` that changes
// `revisions` times (kept in SQLite, as the API server keeps objects), and effects that apply each
// up event to SQLite once, fenced by its position. Everything survives SIGKILL; a restart goes on.
// Usage: node --import tsx stream-cloud.peer.testing.ts <json options>; prints JSON lines.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ensureClusterPki } from '../../k8s/index.js';
import { contentHash, desiredContentOf } from '../frames/codec.js';
import {
  createNodeBootstrapHandler,
  fileJoinTokenStore,
  joinTokenAuthority,
  joinTokensPath,
  loadNodeCertificateSigner,
  startMtlsStreamServer,
  startNodeBootstrapServer,
} from '../security/index.js';
import type { DesiredObject, DesiredSet, UpEffects, UpEvent } from '../sync/index.js';
import { CloudHub } from './cloud-hub.js';
import { openNodeSyncStore } from './node-sync-store.sqlite.js';
import { allowEverything } from './stream.testing.js';
import { objectKeyOf } from './wire.js';

interface PeerOptions {
  readonly dataDir: string;
  readonly streamPort: number;
  readonly bootstrapPort: number;
  readonly node: string;
  readonly objects: number;
  readonly revisions: number;
  readonly roundIntervalMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as PeerOptions;
const say = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const fail = (what: string): never => {
  process.stderr.write(`cloud peer: ${what}\n`);
  process.exit(2);
};

const db = new Database(join(options.dataDir, 'cloud-state.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`
  CREATE TABLE IF NOT EXISTS applied (id INTEGER PRIMARY KEY, node TEXT, journal_id TEXT, seq INTEGER, n INTEGER);
  CREATE TABLE IF NOT EXISTS fence (node TEXT PRIMARY KEY, journal_id TEXT, through INTEGER);
  CREATE TABLE IF NOT EXISTS desired (uid TEXT PRIMARY KEY, key TEXT, rv TEXT, hash TEXT, content TEXT);
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);
  INSERT OR IGNORE INTO counters VALUES ('rv', 1000), ('round', 0), ('redelivered', 0);
`);
const counter = (name: string): number => (db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as { value: number }).value;
const setCounter = db.prepare('UPDATE counters SET value = ? WHERE name = ?');

/** Status writes carry the position they reflect and are skipped when the stored one is not older. */
const effects: UpEffects = {
  async perform(node: string, journalId: string, seq: number, event: UpEvent) {
    db.transaction(() => {
      const fence = db.prepare('SELECT journal_id, through FROM fence WHERE node = ?').get(node) as { journal_id: string; through: number } | undefined;
      if (fence !== undefined && fence.journal_id === journalId && fence.through >= seq) {
        setCounter.run(counter('redelivered') + 1, 'redelivered');
        return;
      }
      db.prepare('INSERT INTO applied (node, journal_id, seq, n) VALUES (?, ?, ?, ?)').run(node, journalId, seq, (event.data as { n: number }).n);
      db.prepare('INSERT INTO fence VALUES (?, ?, ?) ON CONFLICT (node) DO UPDATE SET journal_id = excluded.journal_id, through = excluded.through').run(node, journalId, seq);
    }).immediate();
  },
};

let desired = loadDesired();
function loadDesired(): DesiredSet {
  const rows = db.prepare('SELECT uid, key, rv, hash, content FROM desired').all() as { uid: string; key: string; rv: string; hash: string; content: string }[];
  const objects = new Map<string, DesiredObject>(rows.map((r) => [r.uid, { uid: r.uid, key: r.key, resourceVersion: r.rv, contentHash: r.hash, content: JSON.parse(r.content) }]));
  return { objects, resourceVersion: String(counter('rv')) };
}

/** One revision of every object, in one transaction, as a burst of API writes. */
function nextRound(round: number): void {
  db.transaction(() => {
    let rv = counter('rv');
    const upsert = db.prepare('INSERT INTO desired VALUES (?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET rv = excluded.rv, hash = excluded.hash, content = excluded.content');
    for (let i = 0; i < options.objects; i++) {
      rv += 1;
      const uid = `uid-${i}`;
      const content = desiredContentOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'default', uid }, data: { round: String(round), i: String(i) } });
      upsert.run(uid, objectKeyOf('configmap', 'default', `cm-${i}`), String(rv), contentHash(content), JSON.stringify(content));
    }
    setCounter.run(rv, 'rv');
    setCounter.run(round, 'round');
  }).immediate();
}

const pkiResult = await ensureClusterPki(join(options.dataDir, 'pki'), { hosts: ['127.0.0.1', 'localhost'] });
if (!pkiResult.ok) fail(pkiResult.error.message);
const pki = pkiResult.ok ? pkiResult.value : fail('pki');
const nodeSync = openNodeSyncStore(join(options.dataDir, 'nodesync.db'));
if (!nodeSync.ok) fail(JSON.stringify(nodeSync.error));
const hub = new CloudHub({
  clusterId: 'crash-cluster',
  nodeSync: nodeSync.ok ? nodeSync.value : fail('nodesync'),
  desired: { desiredSet: () => desired },
  effects,
  authorization: allowEverything,
});
const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(options.dataDir)), caCertPem: pki.caPem });
const signer = await loadNodeCertificateSigner({ caPem: pki.caPem, caKeyPath: pki.caKeyPath });
if (!signer.ok) fail('signer');
const bootstrap = await startNodeBootstrapServer({
  host: '127.0.0.1',
  port: options.bootstrapPort,
  servingCertPem: pki.serverCertPem,
  servingKeyPem: pki.serverKeyPem,
  caPem: pki.caPem,
  handler: createNodeBootstrapHandler({ tokens, signer: signer.ok ? signer.value : fail('signer') }),
});
if (!bootstrap.ok) fail(`bootstrap: ${JSON.stringify(bootstrap.error)}`);
const server = await startMtlsStreamServer({
  host: '127.0.0.1',
  port: options.streamPort,
  tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
  onConnection: (nodeName, socket) => hub.attach(nodeName, socket),
});
if (!server.ok) fail(`stream: ${JSON.stringify(server.error)}`);
say({ ready: true, round: counter('round') });

const appliedCount = db.prepare('SELECT count(*) AS n FROM applied WHERE node = ?').pluck();
setInterval(() => say({ applied: appliedCount.get(options.node), round: counter('round') }), 100).unref();

const rounds = setInterval(() => {
  const round = counter('round') + 1;
  if (round > options.revisions) return clearInterval(rounds);
  nextRound(round);
  desired = loadDesired();
  hub.desiredChanged(options.node);
}, options.roundIntervalMs);

process.on('SIGTERM', () => {
  void hub.close().then(() => process.exit(0));
});
