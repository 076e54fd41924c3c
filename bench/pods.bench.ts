// Pods on a real edge, each figure next to a bare Node.js baseline measured in the same run: pod
// start latency (API create → Running on a watch) p50/p99 over 100 pods against child_process.spawn
// of the same program, and the edge agent's resident memory, idle and with 50 pods running, against
// a bare `node -e "setInterval(()=>{},1000)"`. `edgehive cloud` and `edgehive edge` run as child
// processes as in cmd/edge/edge.pods.e2e.spec.ts, and every process either side started is killed
// at the end, including the pod processes the edge detaches on purpose.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { startEdgehive, type RunningCli } from '../cmd/edge/edge-cli.testing.js';
import { openProcessRuntime } from '../runtime/index.js';
import { createJoinTokenInDataDir } from '../transport/index.js';
import type { Figure } from './journal.bench.js';

/** A pod figure; `ratio` is value / baseline, and for both latency and memory lower is better. */
export interface PodFigure extends Figure {
  readonly detail?: Readonly<Record<string, number>>;
}

export interface PodBenchOptions {
  /** Pods started one after another and timed (the 100). */
  readonly pods: number;
  /** Pods running on the edge when its memory is sampled (the 50), the warm-up pod among them; 2 to `pods`. */
  readonly podsForRss: number;
}

export const POD_BENCH_DEFAULTS: PodBenchOptions = { pods: 100, podsForRss: 50 };

const NODE_NAME = 'edge-1';
const NAMESPACE = 'default';
/** The program both sides run: it says `ready`, leaves at once on SIGTERM and otherwise idles. */
const POD_SCRIPT = "process.on('SIGTERM', () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000)";
const POD_COMMAND: readonly string[] = [process.execPath, '-e', POD_SCRIPT];
const BARE_NODE_ARGS: readonly string[] = ['-e', 'setInterval(()=>{},1000)'];
const CLI_START_TIMEOUT_MS = 40_000;
const NODE_READY_TIMEOUT_MS = 30_000;
const POD_RUNNING_TIMEOUT_MS = 30_000;
/** All timed pod starts together; past it the run fails rather than hangs. */
const POD_PHASE_TIMEOUT_MS = 120_000;
const SPAWN_TIMEOUT_MS = 10_000;
const DELETE_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 5_000;
const DELETE_CONCURRENCY = 10;
const WATCH_RESTARTS_MAX = 5;
/** Memory settles for this long before it is sampled (GC, lazy module loads, status reports). */
const RSS_SETTLE_MS = 2_000;
const RSS_SAMPLES = 10;
const RSS_SAMPLE_GAP_MS = 500;
const POLL_MS = 100;

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const sortedOf = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]): number => percentile(sortedOf(values), 50);
const mib = (kib: number): number => kib / 1024;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The printed lines of a figure: "pod start p50: X ms (bare spawn Y ms, ratio Z×)", then the mode.
 * Memory figures name their baseline "bare node".
 */
export function podFigureLines(f: PodFigure): string {
  const baseline = f.unit === 'ms' ? 'bare spawn' : 'bare node';
  const show = (n: number): string => n.toFixed(f.unit === 'ms' ? 2 : 1);
  return `${f.name}: ${show(f.value)} ${f.unit} (${baseline} ${show(f.baseline)} ${f.unit}, ratio ${f.ratio.toFixed(2)}×)\n  mode: ${f.mode}`;
}

/**
 * Starts a cloud and one edge, measures, and tears everything down: about 70 s on two cores.
 *
 * @example
 * const figures = await podFigures();
 * figures.forEach((f) => console.log(podFigureLines(f)));
 */
export async function podFigures(options: PodBenchOptions = POD_BENCH_DEFAULTS): Promise<PodFigure[]> {
  if (!(options.podsForRss >= 2 && options.podsForRss <= options.pods)) throw new Error('podsForRss must be between 2 and pods');
  const root = await mkdtemp(join(tmpdir(), 'edgehive-bench-pods-'));
  const edgeDir = join(root, NODE_NAME);
  const clis: RunningCli[] = [];
  try {
    const cluster = await startCluster(root, edgeDir, clis);
    const agentPid = cluster.edge.child.pid;
    if (agentPid === undefined) throw new Error('the edge agent has no pid');
    await untilNodeReady(cluster.api);
    await sleep(RSS_SETTLE_MS);
    const idle = await sampleAgentRss(agentPid);
    const bareRssKiB = await bareNodeRss();
    const bare = await bareSpawnLatencies(options.pods);
    const watch = await PodWatch.open(cluster.kc);
    try {
      const started = await podStartLatencies(cluster.api, watch, agentPid, options);
      const deletion = await deletePods(cluster.api, watch, started.names);
      return toFigures({ options, idle, bareRssKiB, bare, started, deletion, watchRestarts: watch.restarts });
    } finally {
      watch.stop();
    }
  } finally {
    await tearDown(clis, edgeDir);
    await rm(root, { recursive: true, force: true });
  }
}

interface Cluster {
  readonly edge: RunningCli;
  readonly kc: KubeConfig;
  readonly api: CoreV1Api;
}

/** `edgehive cloud`, a join token from its data dir, then `edgehive edge` until it prints `linked`. */
async function startCluster(root: string, edgeDir: string, clis: RunningCli[]): Promise<Cluster> {
  const cloudDir = join(root, 'cloud');
  const cloud = startEdgehive(['cloud', '--data-dir', cloudDir]);
  clis.push(cloud);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, CLI_START_TIMEOUT_MS)).slice('export KUBECONFIG='.length);
  const streamUrl = (await cloud.waitForLine(/^Stream: /, CLI_START_TIMEOUT_MS)).slice('Stream: '.length);
  const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!token.ok) throw new Error(`join token: ${token.error.message}`);
  const edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', NODE_NAME, '--data-dir', edgeDir, '--token', token.value.token, '--meta-server-port', '0']);
  clis.push(edge);
  await edge.waitForLine(/^linked \(/, CLI_START_TIMEOUT_MS);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { edge, kc, api: kc.makeApiClient(CoreV1Api) };
}

async function untilNodeReady(api: CoreV1Api): Promise<void> {
  const deadline = performance.now() + NODE_READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const node = await api.readNode({ name: NODE_NAME }).catch(() => undefined);
    if (node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true) return;
    await sleep(POLL_MS);
  }
  throw new Error(`node ${NODE_NAME} not Ready within ${NODE_READY_TIMEOUT_MS} ms`);
}

/**
 * Resident memory of the edge agent's process tree, split three ways: the agent process itself,
 * its helpers (other children, such as the esbuild service tsx starts when it runs from source),
 * and its pods (each container's `/bin/sh` shim and what runs under it, found by the shim's name).
 */
interface AgentRss {
  readonly agentKiB: number;
  readonly helpersKiB: number;
  readonly shimsKiB: number;
  readonly podProcessesKiB: number;
}

function vmRssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // the process ended between listing and reading
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((s) => s !== '').map(Number));
  } catch {
    return [];
  }
}

const descendantsOf = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendantsOf(child)]);
const isShim = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('edgehive-shim');
  } catch {
    return false;
  }
};

function agentRss(agentPid: number): AgentRss {
  let helpersKiB = 0;
  let shimsKiB = 0;
  let podProcessesKiB = 0;
  for (const child of childrenOf(agentPid)) {
    if (isShim(child)) {
      shimsKiB += vmRssKiB(child);
      podProcessesKiB += descendantsOf(child).reduce((sum, pid) => sum + vmRssKiB(pid), 0);
    } else {
      helpersKiB += [child, ...descendantsOf(child)].reduce((sum, pid) => sum + vmRssKiB(pid), 0);
    }
  }
  return { agentKiB: vmRssKiB(agentPid), helpersKiB, shimsKiB, podProcessesKiB };
}

/** Samples of the agent's memory: the median of each part, and the spread of agent plus helpers. */
interface SampledRss {
  readonly median: AgentRss;
  readonly minKiB: number;
  readonly maxKiB: number;
}

/** Samples `RSS_SAMPLES` times, `RSS_SAMPLE_GAP_MS` apart: V8 returns memory in steps, whenever its GC decides to. */
async function sampleAgentRss(agentPid: number): Promise<SampledRss> {
  const samples: AgentRss[] = [];
  for (let i = 0; i < RSS_SAMPLES; i++) {
    samples.push(agentRss(agentPid));
    await sleep(RSS_SAMPLE_GAP_MS);
  }
  const totals = samples.map((s) => s.agentKiB + s.helpersKiB);
  return {
    median: {
      agentKiB: median(samples.map((s) => s.agentKiB)),
      helpersKiB: median(samples.map((s) => s.helpersKiB)),
      shimsKiB: median(samples.map((s) => s.shimsKiB)),
      podProcessesKiB: median(samples.map((s) => s.podProcessesKiB)),
    },
    minKiB: Math.min(...totals),
    maxKiB: Math.max(...totals),
  };
}

/** Kills a child this bench spawned and waits (bounded) for it to be gone. */
async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(EXIT_TIMEOUT_MS)]);
}

/** VmRSS of a bare `node -e "setInterval(()=>{},1000)"`, sampled as the agent is. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, [...BARE_NODE_ARGS], { stdio: 'ignore' });
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error('bare node did not start');
    await sleep(RSS_SETTLE_MS);
    const samples: number[] = [];
    for (let i = 0; i < RSS_SAMPLES; i++) {
      samples.push(vmRssKiB(pid));
      await sleep(RSS_SAMPLE_GAP_MS);
    }
    return median(samples);
  } finally {
    await killed(child);
  }
}

interface BareSpawn {
  /** spawn() call → the child's 'spawn' event (libuv reports it once exec has succeeded). */
  readonly toSpawnMs: number[];
  /** spawn() call → the child's `ready` line on its stdout (Node.js has booted and run the script). */
  readonly toReadyMs: number[];
}

/** Spawns the pod's program and times it to 'spawn' and to its `ready` line. */
function timedSpawn(): Promise<{ child: ChildProcess; toSpawnMs: number; toReadyMs: number }> {
  const [file, ...args] = POD_COMMAND;
  const start = performance.now();
  const child = spawn(file ?? process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let toSpawnMs = Number.NaN;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bare spawn not ready within ${SPAWN_TIMEOUT_MS} ms`)), SPAWN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('spawn', () => (toSpawnMs = performance.now() - start));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('ready\n')) return;
      clearTimeout(timer);
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve({ child, toSpawnMs, toReadyMs: performance.now() - start });
    });
  });
}

/**
 * The baseline: the same program spawned `count` times one after another after one warm-up, each
 * left running until all are timed (as the pods stay), then all killed.
 */
async function bareSpawnLatencies(count: number): Promise<BareSpawn> {
  const children: ChildProcess[] = [];
  const timings: BareSpawn = { toSpawnMs: [], toReadyMs: [] };
  try {
    const warmUp = await timedSpawn();
    children.push(warmUp.child);
    for (let i = 0; i < count; i++) {
      const run = await timedSpawn();
      children.push(run.child);
      timings.toSpawnMs.push(run.toSpawnMs);
      timings.toReadyMs.push(run.toReadyMs);
    }
    return timings;
  } finally {
    await Promise.all(children.map(killed));
  }
}

/**
 * One watch on the namespace's pods, noting when each pod is first seen Running and when it is
 * deleted. It restarts (bounded) if the server ends it; a restart lists anew, so a pod that became
 * Running meanwhile is still seen, only later.
 */
class PodWatch {
  readonly runningAt = new Map<string, number>();
  readonly deleted = new Set<string>();
  restarts = 0;
  private controller: AbortController | undefined;
  private stopped = false;

  private constructor(private readonly kc: KubeConfig) {}

  static async open(kc: KubeConfig): Promise<PodWatch> {
    const watch = new PodWatch(kc);
    await watch.start();
    return watch;
  }

  private async start(): Promise<void> {
    this.controller = await new Watch(this.kc).watch(
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      {},
      (type: string, object: unknown) => this.seen(type, object, performance.now()),
      () => {
        if (this.stopped || this.restarts >= WATCH_RESTARTS_MAX) return;
        this.restarts += 1;
        void this.start().catch(() => undefined);
      },
    );
  }

  private seen(type: string, object: unknown, at: number): void {
    const metadata = isRecord(object) ? object['metadata'] : undefined;
    const status = isRecord(object) ? object['status'] : undefined;
    const name = isRecord(metadata) ? metadata['name'] : undefined;
    if (typeof name !== 'string') return;
    if (type === 'DELETED') this.deleted.add(name);
    else if (isRecord(status) && status['phase'] === 'Running' && !this.runningAt.has(name)) this.runningAt.set(name, at);
  }

  /** Resolves with when `name` was first seen Running; fails after `timeoutMs`. */
  async running(name: string, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = this.runningAt.get(name);
      if (at !== undefined) return at;
      if (performance.now() > deadline) throw new Error(`pod ${name} not Running within ${timeoutMs} ms`);
      await sleep(1);
    }
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }
}

const podBody = (name: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench-pods' } },
  spec: { nodeName: NODE_NAME, terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'node:20', command: [...POD_COMMAND] }] },
});

interface PodStarts {
  readonly names: string[];
  readonly coldStartMs: number;
  readonly latenciesMs: number[];
  /** The agent's memory with `podsForRss` pods running (the warm-up pod among them). */
  readonly rssWithPods: SampledRss;
  /** The agent's memory with every pod running, at the end. */
  readonly rssAllPods: SampledRss;
}

/** Creates one pod and times it from the create call to the watch showing it Running. */
async function timedPodStart(api: CoreV1Api, watch: PodWatch, name: string, deadline: number): Promise<number> {
  const start = performance.now();
  await api.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name) });
  return (await watch.running(name, Math.max(0, Math.min(POD_RUNNING_TIMEOUT_MS, deadline - performance.now())))) - start;
}

/**
 * The kubelet node density test's "create a sequence of pods": each pod is created and awaited
 * Running before the next, and all stay running. A warm-up pod goes first and is not counted (its
 * start loads code the agent has not needed yet); the memory with pods is sampled once
 * `podsForRss` timed pods run, before the sequence goes on.
 */
async function podStartLatencies(api: CoreV1Api, watch: PodWatch, agentPid: number, options: PodBenchOptions): Promise<PodStarts> {
  const deadline = performance.now() + POD_PHASE_TIMEOUT_MS;
  const names = ['bench-warm-up'];
  const coldStartMs = await timedPodStart(api, watch, 'bench-warm-up', deadline);
  const latenciesMs: number[] = [];
  let rssWithPods: SampledRss | undefined;
  for (let i = 0; i < options.pods; i++) {
    const name = `bench-${String(i).padStart(3, '0')}`;
    names.push(name);
    latenciesMs.push(await timedPodStart(api, watch, name, deadline));
    // The warm-up pod counts among the pods running when memory is sampled.
    if (i + 2 === options.podsForRss) {
      await sleep(RSS_SETTLE_MS);
      rssWithPods = await sampleAgentRss(agentPid);
    }
  }
  if (rssWithPods === undefined) throw new Error('memory with pods was never sampled');
  await sleep(RSS_SETTLE_MS);
  return { names, coldStartMs, latenciesMs, rssWithPods, rssAllPods: await sampleAgentRss(agentPid) };
}

/** How the clean-up's deletes went: how long until every pod left the API (or the bound ran out), and how many did. */
interface Deletion {
  readonly ms: number;
  readonly gone: number;
}

/** Deletes the pods, `DELETE_CONCURRENCY` calls at a time, and waits (at most `DELETE_TIMEOUT_MS`) for each to leave the API. */
async function deletePods(api: CoreV1Api, watch: PodWatch, names: readonly string[]): Promise<Deletion> {
  const start = performance.now();
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      await api.deleteNamespacedPod({ name, namespace: NAMESPACE }).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: DELETE_CONCURRENCY }, worker));
  const gone = (): number => names.filter((name) => watch.deleted.has(name)).length;
  while (gone() < names.length && performance.now() - start < DELETE_TIMEOUT_MS) await sleep(POLL_MS);
  return { ms: performance.now() - start, gone: gone() };
}

/** SIGKILLs the edge and the cloud, then kills every pod process the edge's runtime records. */
async function tearDown(clis: readonly RunningCli[], edgeDir: string): Promise<void> {
  for (const cli of [...clis].reverse()) {
    cli.child.kill('SIGKILL');
    await Promise.race([cli.exited(), sleep(EXIT_TIMEOUT_MS)]);
  }
  // Pod processes are detached on purpose (they outlive the agent): kill whatever the edge left.
  const runtime = openProcessRuntime({ dataDir: join(edgeDir, 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) return;
  await runtime.value.scan();
  await runtime.value.killOrphans(() => false);
  await runtime.value.close();
}

interface Measured {
  readonly options: PodBenchOptions;
  readonly idle: SampledRss;
  readonly bareRssKiB: number;
  readonly bare: BareSpawn;
  readonly started: PodStarts;
  readonly deletion: Deletion;
  readonly watchRestarts: number;
}

const rssDetail = ({ median: r, minKiB, maxKiB }: SampledRss): Record<string, number> => ({
  agentMiB: mib(r.agentKiB),
  helpersMiB: mib(r.helpersKiB),
  minMiB: mib(minKiB),
  maxMiB: mib(maxKiB),
  shimsMiB: mib(r.shimsKiB),
  podProcessesMiB: mib(r.podProcessesKiB),
});

function toFigures(m: Measured): PodFigure[] {
  const ours = sortedOf(m.started.latenciesMs);
  const toSpawn = sortedOf(m.bare.toSpawnMs);
  const toReady = sortedOf(m.bare.toReadyMs);
  const latencyMode =
    `sequence, as the kubelet's node density test "create a sequence of pods": ${m.options.pods} pods, each created (client-node createNamespacedPod, bound by spec.nodeName) and awaited Running before the next, all left running, after one warm-up pod not counted; ` +
    `latency: create call → the first watch event (client-node Watch on /api/v1/namespaces/${NAMESPACE}/pods) with status.phase Running, through the embedded API server, the cloud's EdgeController, the stream, the edge agent (sh shim + exec) and the status back; ` +
    `bare: child_process.spawn of the same argv from the bench process, call → 'spawn' event (exec done), the same count one after another, all left running, after one warm-up`;
  const latency = (p: number): PodFigure => ({
    name: `pod start p${p}`,
    unit: 'ms',
    value: percentile(ours, p),
    baseline: percentile(toSpawn, p),
    ratio: percentile(ours, p) / percentile(toSpawn, p),
    mode: latencyMode,
    detail: {
      coldStartMs: m.started.coldStartMs,
      bareToReadyMs: percentile(toReady, p),
      maxMs: ours[ours.length - 1] ?? 0,
      deleteMs: m.deletion.ms,
      podsDeleted: m.deletion.gone,
      podsToDelete: m.started.names.length,
      watchRestarts: m.watchRestarts,
    },
  });
  const rssMode = (pods: string): string =>
    `VmRSS from /proc of the \`edgehive edge\` process plus its helper children (tsx's esbuild service when run from source), pods (sh shims and their processes) excluded, median of ${RSS_SAMPLES} samples ${RSS_SAMPLE_GAP_MS} ms apart after ${RSS_SETTLE_MS} ms settling, ${pods}; ` +
    `bare: VmRSS of \`node ${BARE_NODE_ARGS.join(' ')}\` sampled the same way`;
  const rss = (name: string, sampled: SampledRss, mode: string, extra: Record<string, number>): PodFigure => ({
    name,
    unit: 'MiB',
    value: mib(sampled.median.agentKiB + sampled.median.helpersKiB),
    baseline: mib(m.bareRssKiB),
    ratio: (sampled.median.agentKiB + sampled.median.helpersKiB) / m.bareRssKiB,
    mode,
    detail: { ...rssDetail(sampled), ...extra },
  });
  const all = m.started.rssAllPods.median;
  return [
    latency(50),
    latency(99),
    rss('edge agent RSS idle', m.idle, rssMode('linked and Ready, no pods'), {}),
    rss(`edge agent RSS with ${m.options.podsForRss} pods`, m.started.rssWithPods, rssMode(`${m.options.podsForRss} pods running (the warm-up pod and the first ${m.options.podsForRss - 1} timed ones)`), {
      allPods: m.options.pods + 1,
      allPodsAgentMiB: mib(all.agentKiB + all.helpersKiB),
      allPodsShimsMiB: mib(all.shimsKiB),
    }),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await podFigures();
  figures.forEach((f) => console.log(podFigureLines(f)));
  console.log(JSON.stringify(figures.map((f) => ({ name: f.name, value: f.value, baseline: f.baseline, ratio: f.ratio, detail: f.detail })), null, 2));
}
