// The cloud–edge stream (transport/stream) next to plain `ws` over the same mTLS in the same run:
// one-way throughput of 1 KiB messages both ways, the up ack round trip with an ack per frame, and
// the server's memory per connection with 1,000 edges linked to one cloud process. The hubs use the
// in-memory ports of stream.testing.ts (MemoryEdgeJournal, MemoryNodeSync, StandInDesired and
// counting effects), so the figures are the stream's own cost: framing, the sync cores, the
// window and the acks, with no disk write on either end. Both sides of a transfer share one
// process, and each raw baseline is measured the same way, with the same certificates.
import { KeyObject } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { x509 } from '../k8s/index.js';
import { EdgeHub, checkNodeCsr, connectMtlsStream, createNodeCsr, generateNodeKeys, loadNodeCertificateSigner, type NodeCredentials, type UpEffects } from '../transport/index.js';
import { MemoryEdgeJournal, StandInDesired, openTestEdge, startStreamCloud, until, type StreamCloud } from '../transport/stream/stream.testing.js';
import type { Figure } from './journal.bench.js';
import type { ChildMessage, ParentMessage } from './stream-connections.child.js';

/** A stream figure; `ratio` is value / baseline (throughput: higher is better; latency and memory: lower is). */
export interface StreamFigure extends Figure {
  readonly detail?: Readonly<Record<string, number>>;
}

export interface StreamBenchOptions {
  /** 1 KiB events per one-way transfer, each direction. */
  readonly messages: number;
  /** Up events reported per EdgeHub.report call (and raw messages sent between yields). */
  readonly batch: number;
  /** Round trips timed for the ack latency, after a warm-up. */
  readonly roundTrips: number;
  /** Concurrent connections for the memory figure. */
  readonly connections: number;
  /** Throughput rounds per direction, alternating with the baseline; the figure is the median. */
  readonly rounds: number;
}

export const STREAM_BENCH_DEFAULTS: StreamBenchOptions = { messages: 20_000, batch: 100, roundTrips: 3_000, connections: 1_000, rounds: 5 };

/** The goal for one-way up throughput against raw wss; printed as met or NOT MET, it does not fail the run. */
const UP_THROUGHPUT_BAR = 0.5;
const WARMUP_MESSAGES = 10_000;
const WARMUP_ROUND_TRIPS = 300;
/** Raw senders pause above this much buffered, as the stream's window bounds its bytes in flight (8 MiB). */
const RAW_BUFFERED_BYTES_MAX = 8 * 1024 * 1024;
/** Handshakes in flight while opening the connections of the memory figure. */
const OPENING_CONCURRENCY = 50;
const PHASE_TIMEOUT_MS = 120_000;
const PAD = 'x'.repeat(1000);
const IN_MEMORY_MODE = 'in-memory ports (MemoryEdgeJournal, MemoryNodeSync, counting effects; nothing durable), mTLS wss on 127.0.0.1';

const upEvent = (n: number) => ({ type: 'Bench.v1', data: { n, pad: PAD } });
const configMapData = (n: number): Record<string, string> => ({ n: String(n), pad: PAD });
const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
/**
 * The median of each round's rate over the raw round measured right after it. The machine's speed
 * drifts by a third between rounds (a shared VM), and adjacent rounds drift together, so this is
 * steadier than the ratio of the two medians.
 */
const pairedRatio = (ours: readonly number[], raw: readonly number[]): number => median(ours.map((v, i) => v / (raw[i] ?? Number.NaN)));

/** Counts applied up events; nothing else, so the effects port costs next to nothing. */
class CountingEffects implements UpEffects {
  applied = 0;
  async perform(): Promise<void> {
    this.applied += 1;
  }
}

/**
 * The printed line of a figure: "stream up one-way: X msg/s (raw wss Y msg/s, ratio Z×)", the bar
 * verdict when it has one, and the mode on the next line.
 */
export function streamFigureLines(f: StreamFigure): string {
  const show = (n: number): string => (f.unit === 'ms' ? n.toFixed(3) : fmt(n));
  const verdict = f.bar === undefined ? '' : f.ratio >= f.bar ? `  (bar ≥ ${f.bar}×: met)` : `  (bar ≥ ${f.bar}×: NOT MET)`;
  return `${f.name}: ${show(f.value)} ${f.unit} (raw wss ${show(f.baseline)} ${f.unit}, ratio ${f.ratio.toFixed(2)}×)${verdict}\n  mode: ${f.mode}`;
}

/** Runs every stream figure in turn: under two minutes on two cores (the memory part about 35 s). */
export async function streamFigures(options: StreamBenchOptions = STREAM_BENCH_DEFAULTS): Promise<StreamFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-bench-stream-'));
  try {
    return [...(await throughputFigures(dir, options)), ...(await roundTripFigures(dir, options)), ...(await memoryFigures(options.connections))];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function linkedEdge(cloud: StreamCloud, nodeName: string, dataDir: string): Promise<{ edge: EdgeHub; journal: MemoryEdgeJournal; credentials: NodeCredentials }> {
  const credentials = await cloud.join(nodeName, dataDir);
  const journal = new MemoryEdgeJournal(`journal-${nodeName}`);
  const edge = await openTestEdge(cloud.server.url, credentials, journal);
  edge.start();
  await until(() => edge.status().phase === 'linked', `${nodeName} linked`);
  return { edge, journal, credentials };
}

async function throughputFigures(dir: string, options: StreamBenchOptions): Promise<StreamFigure[]> {
  const effects = new CountingEffects();
  const desired = new StandInDesired();
  const cloud = await startStreamCloud({ effects, desired });
  const up = await linkedEdge(cloud, 'bench-up', join(dir, 'up'));
  const raw = await startRawServer(cloud, up.credentials);
  try {
    const rounds = { up: [] as number[], rawUp: [] as number[], down: [] as number[], rawDown: [] as number[] };
    await streamUp(up.edge, effects, WARMUP_MESSAGES, options.batch, 0);
    await raw.upOneWay(WARMUP_MESSAGES, options.batch);
    // Rounds alternate with the baseline, so a noisy neighbour slows both rather than one.
    for (let round = 0; round < options.rounds; round++) {
      rounds.up.push(await streamUp(up.edge, effects, options.messages, options.batch, WARMUP_MESSAGES + round * options.messages));
      rounds.rawUp.push(await raw.upOneWay(options.messages, options.batch));
    }
    // Each down round goes to a fresh node that holds nothing, so rounds compare alike (the down
    // planner's cost grows with what a node already holds).
    await streamDown(cloud, desired, dir, 'bench-down-warm', WARMUP_MESSAGES);
    await raw.downOneWay(WARMUP_MESSAGES, options.batch);
    for (let round = 0; round < options.rounds; round++) {
      rounds.down.push(await streamDown(cloud, desired, dir, `bench-down-${round}`, options.messages));
      rounds.rawDown.push(await raw.downOneWay(options.messages, options.batch));
    }
    const [upRate, rawUpRate, downRate, rawDownRate] = [median(rounds.up), median(rounds.rawUp), median(rounds.down), median(rounds.rawDown)];
    const roundsOf = (ours: readonly number[], base: readonly number[]) => Object.fromEntries([...ours.map((v, i) => [`round${i + 1}`, v]), ...base.map((v, i) => [`rawRound${i + 1}`, v])]);
    return [
      {
        name: 'stream up one-way',
        unit: 'msg/s',
        value: upRate,
        baseline: rawUpRate,
        ratio: pairedRatio(rounds.up, rounds.rawUp),
        bar: UP_THROUGHPUT_BAR,
        mode: `${IN_MEMORY_MODE}; median of ${options.rounds} rounds of ${options.messages} events of 1 KiB (ratio: median of each round over the raw round right after it), ${options.batch} per report, counted once applied at the cloud and acked at the edge; raw: the same JSON, one ws message each, counted at the server`,
        detail: roundsOf(rounds.up, rounds.rawUp),
      },
      {
        name: 'stream down one-way',
        unit: 'msg/s',
        value: downRate,
        baseline: rawDownRate,
        ratio: pairedRatio(rounds.down, rounds.rawDown),
        mode: `${IN_MEMORY_MODE}; median of ${options.rounds} rounds of ${options.messages} ConfigMaps (ratio: median of each round over the raw round right after it) with 1 KiB of data to an edge holding none, one desiredChanged, counted once held in the edge journal; raw: the same objects as JSON from server to client, counted at the client`,
        detail: roundsOf(rounds.down, rounds.rawDown),
      },
    ];
  } finally {
    await raw.close();
    await up.edge.stop();
    await cloud.close();
  }
}

/** Reports `count` events in batches, yielding to I/O between batches; msg/s until applied at the cloud and acked at the edge. */
async function streamUp(edge: EdgeHub, effects: CountingEffects, count: number, batch: number, before: number): Promise<number> {
  const target = before + count;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += batch) {
    const events = Array.from({ length: Math.min(batch, count - i) }, (_, k) => upEvent(before + i + k));
    const reported = await edge.report(events);
    if (!reported.ok) throw new Error(`report failed: ${JSON.stringify(reported.error)}`);
    await yieldToIo();
  }
  await until(() => effects.applied >= target && edge.status().upAcked === target, `${count} up events applied and acked`, PHASE_TIMEOUT_MS);
  const rate = count / seconds(start);
  await edge.compactOutbox();
  return rate;
}

/**
 * Links a fresh edge `nodeName`, puts `count` ConfigMaps into its desired set, and returns msg/s
 * from desiredChanged until its journal holds them all.
 */
async function streamDown(cloud: StreamCloud, desired: StandInDesired, dir: string, nodeName: string, count: number): Promise<number> {
  const { edge, journal } = await linkedEdge(cloud, nodeName, join(dir, nodeName));
  try {
    for (let i = 0; i < count; i++) desired.putConfigMap(nodeName, `cm-${i}`, configMapData(i));
    const start = process.hrtime.bigint();
    cloud.hub.desiredChanged(nodeName);
    await until(() => journal.objects.size === count, `${count} desired objects held at ${nodeName}`, PHASE_TIMEOUT_MS);
    return count / seconds(start);
  } finally {
    await edge.stop();
  }
}

async function roundTripFigures(dir: string, options: StreamBenchOptions): Promise<StreamFigure[]> {
  const cloud = await startStreamCloud({ effects: new CountingEffects(), ackPolicy: { ackEveryFrames: 1, ackDelayMs: 100, applyQueueFramesMax: 1024 } });
  const { edge, credentials } = await linkedEdge(cloud, 'bench-rtt', join(dir, 'rtt'));
  const raw = await startRawServer(cloud, credentials);
  try {
    await streamRoundTrips(edge, WARMUP_ROUND_TRIPS, 0);
    const ours = await streamRoundTrips(edge, options.roundTrips, WARMUP_ROUND_TRIPS);
    await raw.roundTrips(WARMUP_ROUND_TRIPS);
    const base = await raw.roundTrips(options.roundTrips);
    const mode = `${IN_MEMORY_MODE}; ackEveryFrames=1, one 1 KiB up event at a time until the edge's upAcked reaches it (polled on setImmediate); raw: the same JSON, the server answers each with a small ack message`;
    return [50, 99].map((p) => {
      const value = percentile(ours, p);
      const baseline = percentile(base, p);
      return { name: `stream up ack round trip p${p} (${options.roundTrips} events)`, unit: 'ms', value, baseline, ratio: value / baseline, mode };
    });
  } finally {
    await raw.close();
    await edge.stop();
    await cloud.close();
  }
}

/** Sorted latencies (ms) of `count` single-event reports, each until the cloud's ack of it reached the edge. */
async function streamRoundTrips(edge: EdgeHub, count: number, before: number): Promise<number[]> {
  const latencies: number[] = [];
  const deadline = performance.now() + PHASE_TIMEOUT_MS;
  for (let i = 1; i <= count; i++) {
    const seq = before + i;
    const start = process.hrtime.bigint();
    const reported = await edge.report([upEvent(seq)]);
    if (!reported.ok) throw new Error(`report failed: ${JSON.stringify(reported.error)}`);
    while ((edge.status().upAcked ?? 0) < seq) {
      if (performance.now() > deadline) throw new Error(`ack of ${seq} never arrived`);
      await yieldToIo();
    }
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await edge.compactOutbox();
  return latencies.sort((a, b) => a - b);
}

interface RawServer {
  /** msg/s of `count` messages from a client to the server, counted (and parsed) at the server. */
  upOneWay(count: number, batch: number): Promise<number>;
  /** msg/s of `count` messages from the server to a client, counted (and parsed) at the client. */
  downOneWay(count: number, batch: number): Promise<number>;
  /** Sorted round-trip latencies (ms): one message out, a small ack back. */
  roundTrips(count: number): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * A plain `ws` server on HTTPS with the cloud's serving certificate, asking for a client
 * certificate from the cluster CA as the stream server does; clients present the edge's node
 * certificate. Each measure opens a fresh connection.
 */
async function startRawServer(cloud: StreamCloud, credentials: NodeCredentials): Promise<RawServer> {
  const server: Server = createServer({ cert: cloud.pki.serverCertPem, key: cloud.pki.serverKeyPem, ca: cloud.pki.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  const wss = new WebSocketServer({ server, maxPayload: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `wss://127.0.0.1:${address.port}/`;
  const connect = async (): Promise<{ client: WebSocket; peer: WebSocket }> => {
    const peer = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(url, { ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, maxPayload: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    return { client, peer: await peer };
  };
  const done = (client: WebSocket): Promise<void> =>
    new Promise((resolve) => {
      client.once('close', () => resolve());
      client.close(1000, 'done');
    });
  return {
    upOneWay: async (count, batch) => {
      const { client, peer } = await connect();
      const received = counted(peer, count);
      const start = process.hrtime.bigint();
      await sendPaced(client, count, batch, (n) => JSON.stringify({ seq: n + 1, ...upEvent(n) }));
      await received;
      const rate = count / seconds(start);
      await done(client);
      return rate;
    },
    downOneWay: async (count, batch) => {
      const { client, peer } = await connect();
      const received = counted(client, count);
      const start = process.hrtime.bigint();
      await sendPaced(peer, count, batch, (n) =>
        JSON.stringify({ seq: n + 1, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `raw-${n}`, namespace: 'default', uid: `uid-raw-${n}` }, data: configMapData(n) } }),
      );
      await received;
      const rate = count / seconds(start);
      await done(client);
      return rate;
    },
    roundTrips: async (count) => {
      const { client, peer } = await connect();
      peer.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as { seq: number };
        peer.send(JSON.stringify({ ack: message.seq }));
      });
      const latencies: number[] = [];
      for (let seq = 1; seq <= count; seq++) {
        const start = process.hrtime.bigint();
        const acked = new Promise<void>((resolve) => client.once('message', () => resolve()));
        client.send(JSON.stringify({ seq, ...upEvent(seq) }));
        await acked;
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      await done(client);
      return latencies.sort((a, b) => a - b);
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves once `count` messages arrived on `socket`, each parsed as the receiver of a real protocol must. */
function counted(socket: WebSocket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onMessage = (data: Buffer): void => {
      JSON.parse(data.toString('utf8'));
      seen += 1;
      if (seen < count) return;
      socket.off('message', onMessage);
      resolve();
    };
    socket.on('message', onMessage);
  });
}

/** Sends `count` messages, `batch` between yields to I/O, pausing while more than the stream's window is buffered. */
async function sendPaced(socket: WebSocket, count: number, batch: number, message: (n: number) => string): Promise<void> {
  for (let n = 0; n < count; n++) {
    socket.send(message(n));
    if ((n + 1) % batch !== 0) continue;
    await yieldToIo();
    while (socket.bufferedAmount > RAW_BUFFERED_BYTES_MAX) await yieldToIo();
  }
}

interface ChildMeasure {
  readonly rss: number;
  readonly heapUsed: number;
}

async function memoryFigures(connections: number): Promise<StreamFigure[]> {
  const stream = await connectionMemory('stream', connections);
  const raw = await connectionMemory('raw', connections);
  const per = (m: { before: ChildMeasure; after: ChildMeasure }, key: keyof ChildMeasure): number => (m.after[key] - m.before[key]) / connections;
  const figure = (name: string, key: keyof ChildMeasure): StreamFigure => {
    const value = per(stream, key);
    const baseline = per(raw, key);
    return {
      name: `${name} per connection (${connections} edges on one cloud process)`,
      unit: 'bytes',
      value,
      baseline,
      ratio: value / baseline,
      mode: `cloud in a child process (${key} after global.gc, after minus before all linked); in-memory ports; each edge completed the hello; raw: a plain ws server with the same mTLS, each client exchanged one message`,
      detail: { before: stream.before[key], after: stream.after[key], rawBefore: raw.before[key], rawAfter: raw.after[key] },
    };
  };
  return [figure('cloud rss', 'rss'), figure('cloud heap', 'heapUsed')];
}

/** A child process as the IPC channel sees it: its messages in order, and the questions we ask. */
class ChildLink {
  readonly #queue: ChildMessage[] = [];
  #waiting: ((message: ChildMessage) => void) | undefined;
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting === undefined) this.#queue.push(message);
      else waiting(message);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
  next(): Promise<ChildMessage> {
    const ready = this.#queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return withTimeout(
      Promise.race([
        new Promise<ChildMessage>((resolve) => (this.#waiting = resolve)),
        this.exited.then((code): never => {
          throw new Error(`bench child exited with ${String(code)}`);
        }),
      ]),
      'a message from the bench child',
    );
  }
  ask(message: ParentMessage): void {
    this.child.send(message);
  }
}

/** Memory of the child's server before and after `connections` clients linked to it. */
async function connectionMemory(mode: 'stream' | 'raw', connections: number): Promise<{ before: ChildMeasure; after: ChildMeasure }> {
  const childPath = fileURLToPath(new URL('./stream-connections.child.ts', import.meta.url));
  const link = new ChildLink(fork(childPath, [mode], { execArgv: ['--expose-gc', '--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    const listening = await link.next();
    if (listening.kind !== 'listening') throw new Error(`expected listening, got ${listening.kind}`);
    const certificates = await nodeCertificates(listening.caPem, listening.caKeyPath, connections);
    const before = await measure(link, 'before');
    const close = mode === 'stream' ? await openEdges(listening.url, certificates) : await openRawClients(listening.url, certificates);
    const after = await measure(link, 'after');
    if (after.connections !== connections || after.linked !== connections) {
      throw new Error(`${mode}: the child counts ${after.connections} connections and ${after.linked} linked, expected ${connections}`);
    }
    await close();
    link.ask({ kind: 'stop' });
    await withTimeout(link.exited, 'the bench child to exit');
    return { before, after };
  } finally {
    if (link.child.exitCode === null) link.child.kill();
  }
}

async function measure(link: ChildLink, label: string): Promise<ChildMessage & { kind: 'measured' }> {
  link.ask({ kind: 'measure', label });
  const answer = await link.next();
  if (answer.kind !== 'measured' || answer.label !== label) throw new Error(`expected the ${label} measure, got ${JSON.stringify(answer)}`);
  return answer;
}

type Credentials = { readonly nodeName: string; readonly caPem: string; readonly certPem: string; readonly keyPem: string };

/**
 * Node certificates for `bench-0` … signed straight by the CA, as the bootstrap would sign them,
 * all for one key pair: joining a thousand nodes one by one measures the bootstrap, not the stream.
 */
async function nodeCertificates(caPem: string, caKeyPath: string, count: number): Promise<Credentials[]> {
  const signer = await loadNodeCertificateSigner({ caPem, caKeyPath });
  if (!signer.ok) throw new Error(signer.error.message);
  const keys = await generateNodeKeys();
  const checked = await checkNodeCsr(await createNodeCsr('bench-0', keys), 'bench-0');
  if (!checked.ok) throw new Error(checked.error.message);
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey: x509.PublicKey = checked.value.publicKey;
  const out: Credentials[] = [];
  for (let i = 0; i < count; i++) {
    const nodeName = `bench-${i}`;
    const signed = await signer.value.sign({ nodeName, publicKey });
    out.push({ nodeName, caPem, certPem: signed.certPem, keyPem });
  }
  return out;
}

/** Runs `open` over the items with at most OPENING_CONCURRENCY in flight. */
async function openAll<T>(items: readonly T[], open: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: OPENING_CONCURRENCY }, async () => {
      while (next < items.length) await open(items[next++]!);
    }),
  );
}

/** One EdgeHub per certificate, each until its hello completed; resolves with a function that stops them all. */
async function openEdges(url: string, certificates: readonly Credentials[]): Promise<() => Promise<void>> {
  const edges: EdgeHub[] = [];
  await withTimeout(
    openAll(certificates, async (credentials) => {
      const edge = await EdgeHub.open({
        nodeName: credentials.nodeName,
        connect: () => connectMtlsStream({ cloudUrl: url, credentials }),
        journal: new MemoryEdgeJournal(`journal-${credentials.nodeName}`),
        backoff: { delayMsMin: 50, delayMsMax: 1000 },
      });
      edges.push(edge);
      const linked = new Promise<void>((resolve) => edge.once('linked', () => resolve()));
      edge.start();
      await linked;
    }),
    `${certificates.length} edges linked`,
  );
  return async () => {
    await Promise.all(edges.map((edge) => edge.stop()));
  };
}

/** One plain ws client per certificate, each until the server answered its first message. */
async function openRawClients(url: string, certificates: readonly Credentials[]): Promise<() => Promise<void>> {
  const clients: WebSocket[] = [];
  await withTimeout(
    openAll(certificates, async (credentials) => {
      const client = new WebSocket(`${url}/`, { ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('error', reject);
        client.once('open', () => client.send(JSON.stringify({ seq: 1, kind: 'hello', nodeName: credentials.nodeName })));
        client.once('message', () => resolve());
      });
    }),
    `${certificates.length} raw clients linked`,
  );
  return async () => {
    for (const client of clients) client.terminate();
  };
}

async function withTimeout<T>(work: Promise<T>, what: string, timeoutMs = PHASE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
