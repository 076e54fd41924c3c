// `edgehive edge`: the edge side of the stream. It joins the cluster once with a token (later runs
// reuse the credentials in <dataDir>/edge-pki), opens its SQLite journal with the sync tables, and
// keeps an EdgeHub linked to the cloud, renewing its certificate before it runs out. Progress goes
// to stdout one greppable line at a time; structured logs go to stderr.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { describeJournalOpenError, openSqliteJournal, type SqliteEventStore } from '../../journal/index.js';
import { type Result, err, ok } from '../../kernel/index.js';
import {
  EdgeHub,
  connectMtlsStream,
  describeEdgeSyncJournalOpenError,
  joinCluster,
  loadNodeCredentials,
  openEdgeSyncJournal,
  renewNodeCertificate,
  type EdgeHubOptions,
  type NodeCredentials,
  type SqliteEdgeSyncJournal,
  type UpEvent,
} from '../../transport/index.js';
import { scheduleCertificateRotation, type RotationPorts } from './edge.rotation.js';
import { parseEdgeUrls, type EdgeUrls } from './edge.urls.js';

export interface EdgeOptions {
  /** The cloud's stream URL, `wss://<host>:<port>`. */
  readonly cloud: string;
  readonly name: string;
  /** Needed for the first join only. */
  readonly token?: string;
  /** The cloud's bootstrap URL; by default the stream's host at its port + 2. */
  readonly bootstrap?: string;
  readonly dataDir: string;
}

export interface EdgeIo {
  out(line: string): void;
  err(line: string): void;
}

/** How often the edge compacts acknowledged outbox entries and checks whether it is up to date. */
const PROGRESS_INTERVAL_MS = 500;
const AGENT_VERSION = '0.1.0';

/** The stream a node's own events join (DESIGN.md, Events). */
const nodeStream = (nodeName: string): string => `node-${nodeName}`;

/** Resolves to the exit code: 1 at once on a start-up error, 0 once `stop` fires. */
export async function runEdge(options: EdgeOptions, io: EdgeIo, stop: AbortSignal, log: Logger): Promise<number> {
  const urls = parseEdgeUrls(options.cloud, options.bootstrap);
  if (!urls.ok) return fail(io, urls.error);
  const dataDir = resolve(options.dataDir);
  const existing = await existingCredentials(dataDir, options, io);
  if (!existing.ok) return fail(io, existing.error);
  const journal = await openEdgeJournal(dataDir, options.name);
  if (!journal.ok) return fail(io, journal.error);
  const credentials = existing.value === undefined ? await joinOnce(urls.value, options, dataDir) : ok(existing.value);
  if (!credentials.ok) {
    await journal.value.store.close();
    return fail(io, credentials.error);
  }
  const until = new Date(credentials.value.notAfterMs).toISOString();
  io.out(existing.value === undefined ? `joined as system:node:${options.name} (certificate valid until ${until})` : `credentials of system:node:${options.name} (certificate valid until ${until})`);
  io.out(`journal ${journal.value.path}`);
  const link = await startLink({ nodeName: options.name, dataDir, urls: urls.value, credentials: credentials.value, journal: journal.value.sync, io, log });
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  await link.stop();
  await journal.value.store.close();
  return 0;
}

/**
 * The credentials already in the data dir; `ok(undefined)` when a join with the given token is
 * due. A data dir serves one node: credentials of another node are an error, token or not.
 */
async function existingCredentials(dataDir: string, options: EdgeOptions, io: EdgeIo): Promise<Result<NodeCredentials | undefined, string>> {
  const loaded = await loadNodeCredentials(dataDir);
  if (loaded.ok) {
    const holder = loaded.value.nodeName;
    if (holder !== options.name) {
      return err(`${dataDir} holds the credentials of node ${holder}, not ${options.name}: a node certificate names one node; use another --data-dir for ${options.name}`);
    }
    if (options.token !== undefined) io.out(`already joined as system:node:${holder}; --token is not needed and was not used`);
    return ok(loaded.value);
  }
  if (options.token !== undefined) return ok(undefined);
  if (loaded.error.kind === 'CredentialsMissing') {
    return err(`node ${options.name} has not joined yet: the first run needs --token (create one on the cloud with \`edgehive token create\`); ${loaded.error.message}`);
  }
  return err(`${loaded.error.message} (pass --token to join again)`);
}

async function joinOnce(urls: EdgeUrls, options: EdgeOptions, dataDir: string): Promise<Result<NodeCredentials, string>> {
  const joined = await joinCluster({ cloudUrl: urls.bootstrapUrl, token: options.token ?? '', nodeName: options.name, dataDir });
  if (!joined.ok) return err(`cannot join the cluster at ${urls.bootstrapUrl}: ${joined.error.message}`);
  const loaded = await loadNodeCredentials(dataDir);
  return loaded.ok ? ok(loaded.value) : err(loaded.error.message);
}

interface EdgeJournal {
  readonly path: string;
  readonly store: SqliteEventStore;
  readonly sync: SqliteEdgeSyncJournal;
}

/** The edge's journal, <dataDir>/edge/journal.db, with the outbox and desired tables in it. */
async function openEdgeJournal(dataDir: string, nodeName: string): Promise<Result<EdgeJournal, string>> {
  const dir = join(dataDir, 'edge');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return err(`cannot create ${dir}: ${(error as Error).message}`);
  }
  const path = join(dir, 'journal.db');
  const opened = openSqliteJournal(path);
  if (!opened.ok) return err(describeJournalOpenError(opened.error));
  const sync = openEdgeSyncJournal(opened.value, { streamOf: () => nodeStream(nodeName) });
  if (!sync.ok) {
    await opened.value.close();
    return err(`${path}: ${describeEdgeSyncJournalOpenError(sync.error)}`);
  }
  return ok({ path, store: opened.value, sync: sync.value });
}

interface LinkContext {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly urls: EdgeUrls;
  readonly credentials: NodeCredentials;
  readonly journal: SqliteEdgeSyncJournal;
  readonly io: EdgeIo;
  readonly log: Logger;
}

/** Starts the hub, its progress lines, outbox compaction and certificate rotation; `stop` ends all of them. */
async function startLink(context: LinkContext): Promise<{ stop(): Promise<void> }> {
  const { nodeName, dataDir, urls, io, log } = context;
  let stopping = false;
  let reporting = false;
  let upToDateShown = false;
  const hub = await EdgeHub.open({
    nodeName,
    connect: connectWithFreshCredentials(dataDir, urls.streamUrl, io),
    journal: context.journal,
    log,
  });
  hub.on('linked', (mode, clusterId) => {
    io.out(`linked (${mode}) to cluster ${clusterId}`);
    upToDateShown = false;
    if (mode !== 'full') return;
    // PROTOCOL.md: after a full resync the edge reports its current state, since the cloud may lack
    // history. The cloud applying it also gives its NodeSync this journal's first position, which is
    // what lets the next link resume. It is sent here rather than through EdgeHub's `stateReport`
    // hook (same moment, same effect) so that "up to date" waits for it.
    reporting = true;
    void hub.report([agentState(hub.status().heldObjects)]).then((reported) => {
      reporting = false;
      if (!reported.ok) log.warn({ error: reported.error }, 'state report not journaled');
    });
  });
  hub.on('unlinked', (end) => {
    if (!stopping) io.out(`disconnected: ${end.code} ${end.reason === '' ? '(no reason given)' : end.reason}; retrying`);
  });
  const progress = setInterval(() => {
    const status = hub.status();
    if (!upToDateShown && !reporting && status.phase === 'linked' && status.upAcked === status.outboxHead) {
      upToDateShown = true;
      io.out(`up to date: the cloud applied up seq ${status.outboxHead}`);
    }
    hub.compactOutbox().catch((error: Error) => log.warn({ error: error.message }, 'outbox compaction failed'));
  }, PROGRESS_INTERVAL_MS);
  const rotation = scheduleCertificateRotation(context.credentials, rotationPorts(dataDir, urls), {
    rotated: (next) => {
      io.out(`certificate rotated (valid until ${new Date(next.notAfterMs).toISOString()}); reconnecting with it`);
      // Nothing is lost by dropping the link: both directions resume from what was acknowledged.
      hub.dropConnection();
    },
    failed: (message, retryInMs) => io.out(`certificate rotation failed: ${message}; retrying in ${Math.round(retryInMs / 1000)} s`),
  });
  hub.start();
  return {
    stop: async () => {
      stopping = true;
      clearInterval(progress);
      rotation.stop();
      await hub.stop();
    },
  };
}

/** Each connect reads the credentials from disk again, so a rotated certificate is used from the next reconnect. */
function connectWithFreshCredentials(dataDir: string, streamUrl: string, io: EdgeIo): EdgeHubOptions['connect'] {
  let lastFailure = '';
  return async () => {
    const credentials = await loadNodeCredentials(dataDir);
    const opened = credentials.ok ? await connectMtlsStream({ cloudUrl: streamUrl, credentials: credentials.value }) : err({ message: credentials.error.message });
    if (opened.ok) lastFailure = '';
    else if (opened.error.message !== lastFailure) {
      // Printed once per distinct failure: back-off retries the same one for as long as the cloud is away.
      lastFailure = opened.error.message;
      io.out(`cannot connect: ${lastFailure}; retrying`);
    }
    return opened;
  };
}

function rotationPorts(dataDir: string, urls: EdgeUrls): RotationPorts {
  return {
    nowMs: () => Date.now(),
    random01: () => Math.random(),
    setTimer: (fire, delayMs) => {
      const timer = setTimeout(fire, delayMs);
      timer.unref();
      return () => clearTimeout(timer);
    },
    renew: async () => {
      const renewed = await renewNodeCertificate({ cloudUrl: urls.bootstrapUrl, dataDir });
      return renewed.ok ? ok(renewed.value) : err({ message: renewed.error.message });
    },
  };
}

/**
 * The edge's current state for the report after a full resync. Until the node actor runs here (a
 * later issue reports its NodeRegistered/NodeConditionsChanged state instead), that is the agent's
 * own: its version and how many desired objects it holds. It names no resource, so it goes up as
 * this node's status, the one thing a node may always write.
 */
function agentState(desiredObjectsHeld: number): UpEvent {
  return { type: 'NodeAgentReported.v1', data: { agent: 'edgehive', version: AGENT_VERSION, desiredObjectsHeld } };
}

function fail(io: EdgeIo, message: string): number {
  io.err(`edgehive edge: ${message}`);
  return 1;
}
