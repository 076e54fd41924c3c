// `edgehive status`, the journal side: where a data dir keeps the cloud and the edges (the layout
// `edgehive up`, `cloud` and `edge` write), and what their journals say, opened read-only — a
// running edge or cloud holds them in WAL mode, and a status view never writes.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type Database from 'better-sqlite3';
import { linkKind, nodeKind, rebuildSnapshot, twinKind, type TwinState } from '../../actors/index.js';
import { describeJournalOpenError, openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import type { CloudJournalFacts, EdgeFacts, EdgeTwinFacts, JournalSize, LinkRecord } from './status.report.js';

/** Subdirectories of a data dir looked at for edges (`edgehive up` makes edge-1 … edge-20). */
const DATA_DIR_ENTRIES_MAX = 1_000;
/** Streams of one journal looked at (an edge holds one per pod and device, bounded by its limits). */
const STREAMS_READ_MAX = 20_000;

/** Where the cloud and the edges of a data dir keep their state. */
export interface DataDirLayout {
  /** The cloud's data dir (holding `kubeconfig` and `cloud/journal.db`), if any. */
  readonly cloudDir: string | undefined;
  /** Edge data dirs (each holding `edge/journal.db`), sorted. */
  readonly edgeDirs: readonly string[];
}

const edgeJournalOf = (edgeDir: string): string => join(edgeDir, 'edge', 'journal.db');
const isCloudDir = (dir: string): boolean => existsSync(join(dir, 'kubeconfig')) || existsSync(join(dir, 'cloud', 'journal.db'));

/** The cloud and edges in `dataDir`: itself (an `edgehive cloud` or `edge` data dir) or its subdirectories (`edgehive up`). */
export function discoverDataDir(dataDir: string): DataDirLayout {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) return { cloudDir: undefined, edgeDirs: [] };
  const subdirs = readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .slice(0, DATA_DIR_ENTRIES_MAX)
    .map((entry) => join(dataDir, entry.name))
    .sort();
  const cloudDir = [dataDir, join(dataDir, 'cloud')].find(isCloudDir);
  const edgeDirs = [dataDir, ...subdirs].filter((dir) => existsSync(edgeJournalOf(dir)));
  return { cloudDir, edgeDirs };
}

const bytesOf = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** A journal's size on disk (file + WAL), or undefined when it does not exist. */
export function journalSizeOf(path: string): JournalSize | undefined {
  if (!existsSync(path)) return undefined;
  return { path, fileBytes: bytesOf(path), walBytes: bytesOf(`${path}-wal`) };
}

async function streamsOf(store: SqliteEventStore, prefix: string): Promise<string[]> {
  const streams: string[] = [];
  for await (const summary of store.listStreams()) {
    if (summary.stream.startsWith(prefix)) streams.push(summary.stream);
    if (streams.length >= STREAMS_READ_MAX) break;
  }
  return streams;
}

/** The outbox and the desired objects (transport/stream/edge-sync-journal.sqlite.ts), read without its adapter, which needs a writable journal. */
function readSyncTables(db: Database.Database): { outbox: { head: number; floor: number } | undefined; held: Map<string, string> } {
  const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'sync_meta', 'desired_objects')").all().map((row) => row.name));
  const outbox = tables.has('outbox') && tables.has('sync_meta')
    ? db.prepare<[], { head: number; floor: number }>('SELECT outbox_floor AS floor, coalesce((SELECT max(seq) FROM outbox), outbox_floor) AS head FROM sync_meta WHERE id = 1').get()
    : undefined;
  const held = new Map<string, string>();
  if (tables.has('desired_objects')) for (const row of db.prepare<[], { uid: string; content_hash: string }>('SELECT uid, content_hash FROM desired_objects').iterate()) held.set(row.uid, row.content_hash);
  return { outbox, held };
}

const twinFactsOf = (state: TwinState): EdgeTwinFacts | undefined => {
  if (state.status !== 'synced' && state.status !== 'drifted') return undefined;
  const properties = Object.entries(state.twin)
    .filter(([, twin]) => twin.metadata.type !== 'deleted')
    .map(([name, twin]) => ({ name, expected: twin.expected?.value ?? null, actual: twin.actual?.value ?? null }));
  return { namespace: state.device.namespace, name: state.device.name, uid: state.device.uid, state: state.state, properties };
};

async function twinsOf(store: SqliteEventStore): Promise<EdgeTwinFacts[]> {
  const twins: EdgeTwinFacts[] = [];
  for (const stream of await streamsOf(store, twinKind.streamPrefix)) {
    const rebuilt = await rebuildSnapshot(store, twinKind, stream);
    if (!rebuilt.ok) continue;
    const facts = twinFactsOf(twinKind.stateOf(rebuilt.value.snapshot));
    if (facts !== undefined) twins.push(facts);
  }
  return twins;
}

/** What the edge journal in `edgeDir` says; its node is named by its node stream (else the directory). */
export async function readEdgeJournal(edgeDir: string): Promise<EdgeFacts> {
  const path = edgeJournalOf(edgeDir);
  const journal = journalSizeOf(path);
  const opened = openSqliteJournal(path, { readonly: true });
  if (!opened.ok) return { readable: false, dir: edgeDir, nodeName: basename(edgeDir), journal, error: describeJournalOpenError(opened.error) };
  const store = opened.value;
  try {
    const nodeStreams = await streamsOf(store, nodeKind.streamPrefix);
    const nodeName = nodeStreams.length === 1 && nodeStreams[0] !== undefined ? nodeStreams[0].slice(nodeKind.streamPrefix.length) : basename(edgeDir);
    const sync = store.readAlongside(readSyncTables);
    const twins = await twinsOf(store);
    return { readable: true, dir: edgeDir, nodeName, journal: journal ?? { path, fileBytes: 0, walBytes: 0 }, journalId: store.journalId, outbox: sync.outbox, held: sync.held, twins };
  } catch (error) {
    return { readable: false, dir: edgeDir, nodeName: basename(edgeDir), journal, error: (error as Error).message };
  } finally {
    await store.close();
  }
}

/** What the cloud journal in `cloudDir` (its default place, `cloud/journal.db`) records of each node's link. */
export async function readCloudJournal(cloudDir: string): Promise<CloudJournalFacts> {
  const path = join(cloudDir, 'cloud', 'journal.db');
  const journal = journalSizeOf(path);
  if (journal === undefined) return { journal, links: new Map(), error: undefined };
  const opened = openSqliteJournal(path, { readonly: true });
  if (!opened.ok) return { journal, links: new Map(), error: describeJournalOpenError(opened.error) };
  const store = opened.value;
  try {
    const links = new Map<string, LinkRecord>();
    for (const stream of await streamsOf(store, linkKind.streamPrefix)) {
      const rebuilt = await rebuildSnapshot(store, linkKind, stream);
      if (!rebuilt.ok) continue;
      const state = linkKind.stateOf(rebuilt.value.snapshot);
      links.set(stream.slice(linkKind.streamPrefix.length), { status: state.status, since: state.since, mode: state.mode, lastClose: state.lastClose });
    }
    return { journal, links, error: undefined };
  } catch (error) {
    return { journal, links: new Map(), error: (error as Error).message };
  } finally {
    await store.close();
  }
}
