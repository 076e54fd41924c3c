// The cloud at scale (issue 7's bench bar): `edgehive cloud` as a child process with N hollow edges
// (bench/hollow-edge.ts: the real EdgeHub, journal, join, Lease renewals and status reports, no
// process runtime) linked to it from this process, each given `podsPerEdge` pods bound by a preset
// `spec.nodeName` (so the figure is the cloud's sync path — watch, desired set, stream down, status
// up, pods/status write — and not the scheduler). Each figure has a baseline measured in the same run:
//
// - pod Running latency (p50/p99): create call (client-node, as kubectl apply sends it) → the first
//   watch event with status.phase Running. Baseline: the raw API round trip on the same API server,
//   run right after the wave (N edges still linked and renewing, the wave's pods still there): the
//   same pod created on a Node with no edge, then its status patched to Running by this client with
//   the very status a hollow edge reports (create → patch pods/status → seen Running on the watch).
//   The ratio is what the edge sync path adds to the two API writes it cannot avoid. Both run
//   closed-loop with the same `concurrency` pods in flight (each worker creates a pod and waits for
//   it Running before the next), so under load the latency includes queueing in the cloud, and the
//   pods/s each way is given too. Each wave has a time budget; the figure says how many of the
//   planned pods ran within it. The bench's client keeps one keep-alive connection; the real
//   kubectl is timed on a few pods as a detail.
// - cloud CPU per pod: CPU time (utime+stime of the cloud process, /proc/<pid>/stat) over the wave
//   divided by its pods, against the same over the raw wave.
// - cloud CPU idle with N edges (% of one core, Lease renewals every 10 s and node status every
//   minute from each edge), against the cloud idle with no edge.
// - cloud memory (VmRSS of the cloud process) idle with N edges and after the pod wave, against the
//   cloud with no edge connected; per-edge memory = the difference / N.
//
// The cloud's data dir sits in the temp dir as in every other bench (its API server and NodeSync
// write with synchronous=FULL). The hollow edges' journals go to /dev/shm when it exists: each real
// edge has its own disk, and N edges' fsyncs on this machine's one disk would measure the bench
// host, not the cloud. Every phase has a deadline, and the cloud and every hollow edge are stopped
// at the end, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { edgehiveBin } from '../cmd/replay/cli-harness.testing.js';
import { KeepAliveKubeConfig } from '../projections/index.js';
import { createJoinTokenInDataDir } from '../transport/index.js';
import { HollowEdge, runningPodStatus } from './hollow-edge.js';
import type { Figure } from './journal.bench.js';

/** A cloud-scale figure; `ratio` is value / baseline, lower is better for every one. */
export interface CloudScaleFigure extends Figure {
  /** What the baseline is, as printed: "raw create+patch", "no edges". */
  readonly baselineName: string;
  readonly detail?: Readonly<Record<string, number>>;
}

export interface CloudScaleOptions {
  /** Hollow edges linked to the cloud. */
  readonly edges: number;
  /** Pods bound to each edge in the wave (the 10). */
  readonly podsPerEdge: number;
  /** Pods in flight at once, in the wave and in the raw baseline alike. */
  readonly concurrency: number;
  /** Pods in the raw baseline at most (it needs fewer than the wave for steady percentiles). */
  readonly baselinePods: number;
  /** Pods applied with the real kubectl after the wave, one at a time (0: none). */
  readonly kubectlSample: number;
  /**
   * Time a wave may take to start its pods: past it no more pods are created, the ones in flight
   * are awaited, and the figure says how many of the planned pods ran. Closed loop, so the pods that
   * did run are a steady-state sample. The default (600 s) lets N = 1,000 place all 10 pods per edge
   * (about 420 s measured on this machine), so `npm run bench` takes about a quarter of an hour.
   */
  readonly waveBudgetMs: number;
}

export const CLOUD_SCALE_DEFAULTS: Omit<CloudScaleOptions, 'edges'> = { podsPerEdge: 10, concurrency: 20, baselinePods: 1000, kubectlSample: 5, waveBudgetMs: 600_000 };
/** The N; `BENCH_CLOUD_SCALE_EDGES=20` (comma-separated) runs others. */
export const CLOUD_SCALE_EDGES_DEFAULT: readonly number[] = [100, 1000];

const NAMESPACE = 'default';
const RAW_NODE = 'bench-raw';
const CLI_START_TIMEOUT_MS = 60_000;
/** Joins in flight (each an HTTPS request, a key pair and a certificate signed by the cloud). */
const JOIN_CONCURRENCY = 16;
const JOIN_PHASE_TIMEOUT_MS = 180_000;
/** From the last join until every edge is linked and its Node Ready in the API. */
const READY_PHASE_TIMEOUT_MS = 180_000;
const POD_RUNNING_TIMEOUT_MS = 60_000;
/** The raw baseline's time budget (the wave's is an option, 600 s by default, `--wave-budget-seconds`). */
const BASELINE_BUDGET_MS = 60_000;
/** A phase's hard bound: its budget, the pods in flight, and a margin. */
const phaseTimeoutMs = (budgetMs: number): number => budgetMs + POD_RUNNING_TIMEOUT_MS + 30_000;
const KUBECTL_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Under --cpu-prof the cloud writes its profile as it exits: give a loaded cloud time to get there. */
const PROFILED_STOP_TIMEOUT_MS = 120_000;
/** How often the wait for Ready edges prints where it is. */
const PROGRESS_EVERY_MS = 10_000;
const SETTLE_MS = 5_000;
/** Idle windows span two Lease periods (10 s each), so every edge renews in them. */
const IDLE_WINDOW_MS = 20_000;
const RSS_SAMPLE_GAP_MS = 500;
const POLL_MS = 50;
const WATCH_RESTARTS_MAX = 5;

/** Progress on stderr, so stdout keeps only the figures. */
const progress = (line: string): void => void process.stderr.write(`[cloud-scale] ${line}\n`);

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const sortedOf = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]): number => percentile(sortedOf(values), 50);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const mib = (kib: number): number => kib / 1024;
const nodeName = (i: number): string => `hollow-${String(i).padStart(4, '0')}`;

/** Runs `work` or fails with `what` once `timeoutMs` passed: a phase that stalls fails the run instead of hanging it. */
async function within<T>(what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${timeoutMs / 1000} s`)), timeoutMs)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` holds; fails with `what()` (evaluated then, so it can say how far it got) after `timeoutMs`. */
async function until(check: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what()}`);
    await sleep(POLL_MS);
  }
}

// ---- the cloud process: CPU and memory from /proc ----

const CLOCK_TICKS_PER_S = 100;

/** utime + stime of a process (all its threads) in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); the slice starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** What the cloud spent over a window: CPU ms, wall ms, and its RSS sampled through it. */
interface Window {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly rssKiB: readonly number[];
}

const cpuPercent = (w: Window): number => (100 * w.cpuMs) / w.wallMs;

/** Measures the cloud while `work` runs (or for `idleMs` when there is no work), sampling RSS every half second. */
async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ window: Window; value: T }> {
  const rss: number[] = [rssKiB(pid)];
  const sampler = setInterval(() => rss.push(rssKiB(pid)), RSS_SAMPLE_GAP_MS);
  const cpu0 = cpuMs(pid);
  const wall0 = performance.now();
  try {
    const value = await work();
    return { window: { cpuMs: cpuMs(pid) - cpu0, wallMs: performance.now() - wall0, rssKiB: [...rss, rssKiB(pid)] }, value };
  } finally {
    clearInterval(sampler);
  }
}

const idleFor = (pid: number, ms: number): Promise<Window> => measured(pid, () => sleep(ms)).then((m) => m.window);

// ---- watching the API ----

/**
 * One watch on a collection, handing each event to `seen` with the moment it arrived. It restarts
 * (bounded) when the server ends it; the restart lists anew, so nothing that changed meanwhile is missed.
 */
class ApiWatch {
  restarts = 0;
  #controller: AbortController | undefined;
  #stopped = false;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly seen: (type: string, object: Record<string, unknown>, at: number) => void,
  ) {}

  static async open(kc: KubeConfig, path: string, seen: (type: string, object: Record<string, unknown>, at: number) => void): Promise<ApiWatch> {
    const watch = new ApiWatch(kc, path, seen);
    await watch.#start();
    return watch;
  }

  async #start(): Promise<void> {
    this.#controller = await new Watch(this.kc).watch(
      this.path,
      {},
      (type: string, object: unknown) => isRecord(object) && this.seen(type, object, performance.now()),
      () => {
        if (this.#stopped || this.restarts >= WATCH_RESTARTS_MAX) return;
        this.restarts += 1;
        void this.#start().catch(() => undefined);
      },
    );
  }

  stop(): void {
    this.#stopped = true;
    this.#controller?.abort();
  }
}

const nameOf = (object: Record<string, unknown>): string | undefined => {
  const metadata = object['metadata'];
  return isRecord(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
};

/** Pods first seen Running: by name, when. */
class PodTracker {
  readonly runningAt = new Map<string, number>();

  readonly seen = (type: string, pod: Record<string, unknown>, at: number): void => {
    const name = nameOf(pod);
    if (name === undefined) return;
    const status = pod['status'];
    if (type !== 'DELETED' && isRecord(status) && status['phase'] === 'Running' && !this.runningAt.has(name)) this.runningAt.set(name, at);
  };

  async running(name: string, timeoutMs: number): Promise<number> {
    await until(() => this.runningAt.has(name), () => `pod ${name} not Running within ${timeoutMs} ms`, timeoutMs);
    return this.runningAt.get(name) ?? Number.NaN;
  }
}

/** Nodes whose Ready condition is True now. */
class NodeTracker {
  readonly ready = new Set<string>();

  readonly seen = (type: string, node: Record<string, unknown>): void => {
    const name = nameOf(node);
    if (name === undefined) return;
    const status = node['status'];
    const conditions = isRecord(status) && Array.isArray(status['conditions']) ? status['conditions'] : [];
    const isReady = conditions.some((c) => isRecord(c) && c['type'] === 'Ready' && c['status'] === 'True');
    if (type !== 'DELETED' && isReady) this.ready.add(name);
    else this.ready.delete(name);
  };
}

// ---- the pieces of a run ----

interface Cloud {
  readonly process: CloudProcess;
  readonly pid: number;
  readonly kubeconfig: string;
  readonly dataDir: string;
  readonly streamUrl: string;
  readonly bootstrapUrl: string;
  readonly kc: KubeConfig;
  readonly api: CoreV1Api;
}

/** The `edgehive cloud` child: its stdout lines to wait on, the tail of its stderr for failure messages. */
interface CloudProcess {
  readonly child: ChildProcess;
  waitForLine(prefix: string): Promise<string>;
  exited(): Promise<void>;
}

/** Keeps this much of the cloud's stderr (its JSON logs) for the failure message. */
const STDERR_TAIL_CHARS = 16_384;

/**
 * Spawns `edgehive cloud` as `edgehive` runs it (cmd/edge/edge-cli.testing.ts does the same). With
 * BENCH_CLOUD_SCALE_CPU_PROF=<dir> it runs under `node --cpu-prof`, and the profile is written
 * there when teardown stops it with SIGTERM.
 */
function spawnCloud(dataDir: string): CloudProcess {
  const profileDir = process.env['BENCH_CLOUD_SCALE_CPU_PROF'];
  const nodeArgs = profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...nodeArgs, edgehiveBin, 'cloud', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_CHARS)));
  // BENCH_CLOUD_SCALE_CLOUD_LOG=<file> keeps the cloud's JSON logs whole, for a run that needs explaining.
  const logFile = process.env['BENCH_CLOUD_SCALE_CLOUD_LOG'];
  if (logFile !== undefined && logFile !== '') child.stderr.pipe(createWriteStream(logFile));
  const exit = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const waitForLine = async (prefix: string): Promise<string> => {
    const found = (): string | undefined => stdout.split('\n').find((line) => line.startsWith(prefix) && stdout.includes(`${line}\n`));
    await until(() => found() !== undefined || child.exitCode !== null, () => `edgehive cloud printed no "${prefix}" line; stdout:\n${stdout}\nstderr:\n${stderr}`, CLI_START_TIMEOUT_MS);
    const line = found();
    if (line === undefined) throw new Error(`edgehive cloud exited (${child.exitCode}); stderr:\n${stderr}`);
    return line.slice(prefix.length);
  };
  return { child, waitForLine, exited: () => exit };
}

async function startCloud(dataDir: string, run: Run): Promise<Cloud> {
  const cloud = spawnCloud(dataDir);
  run.clouds.push(cloud);
  const kubeconfig = await cloud.waitForLine('export KUBECONFIG=');
  const streamUrl = await cloud.waitForLine('Stream: ');
  const bootstrapUrl = await cloud.waitForLine('Join: ');
  const pid = cloud.child.pid;
  if (pid === undefined) throw new Error('edgehive cloud has no pid');
  const kc = new KeepAliveKubeConfig();
  kc.loadFromFile(kubeconfig);
  return { process: cloud, pid, kubeconfig, dataDir, streamUrl, bootstrapUrl, kc, api: kc.makeApiClient(CoreV1Api) };
}

const podBody = (name: string, node: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NAMESPACE, labels: { app: 'bench-cloud-scale' } },
  spec: { nodeName: node, terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'node:20', command: ['node', '-e', 'setInterval(() => {}, 1000)'] }] },
});

/** Runs `task` over `items` with `concurrency` in flight, each worker taking the next item when its last one is done. */
async function closedLoop<T>(run: Run, items: readonly T[], concurrency: number, task: (item: T) => Promise<number>, budgetMs: number): Promise<number[]> {
  const results: number[] = [];
  const deadline = performance.now() + budgetMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length && !run.stopped && performance.now() < deadline; i = next++) results.push(await task(items[i] as T));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** One edge-path pod: create → seen Running (the hollow edge reports it; the cloud writes it). */
async function edgePod(cloud: Cloud, pods: PodTracker, name: string, node: string): Promise<number> {
  const start = performance.now();
  await cloud.api.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name, node) });
  return (await pods.running(name, POD_RUNNING_TIMEOUT_MS)) - start;
}

/** One raw pod: create → this client patches its status to Running (as the cloud would) → seen Running. */
async function rawPod(cloud: Cloud, pods: PodTracker, name: string): Promise<number> {
  const start = performance.now();
  const created = await cloud.api.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name, RAW_NODE) });
  const status = runningPodStatus({ images: new Map([['app', 'node:20']]), startedAt: new Date().toISOString() });
  await cloud.api.patchNamespacedPodStatus(
    { name, namespace: NAMESPACE, body: { metadata: { uid: created.metadata?.uid, resourceVersion: created.metadata?.resourceVersion }, status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return (await pods.running(name, POD_RUNNING_TIMEOUT_MS)) - start;
}

/** `kubectl apply -f -` of one pod, timed from the spawn to Running on the watch (kubectl's own start included). */
async function kubectlApply(kubeconfig: string, pods: PodTracker, name: string, node: string): Promise<number> {
  const start = performance.now();
  const child = spawn('kubectl', ['apply', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, KUBECONFIG: kubeconfig } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(JSON.stringify(podBody(name, node)));
  const code = await within(`kubectl apply ${name}`, KUBECTL_TIMEOUT_MS, new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve)));
  if (code !== 0) throw new Error(`kubectl apply ${name} exited ${code}: ${stderr}`);
  return (await pods.running(name, POD_RUNNING_TIMEOUT_MS)) - start;
}


// ---- a run ----

/** What a run holds, for teardown: once `stopped`, loops take no more work and late joins stop at once. */
interface Run {
  stopped: boolean;
  readonly clouds: CloudProcess[];
  readonly edges: HollowEdge[];
  readonly watches: ApiWatch[];
}

interface Connected {
  readonly joinedMs: number;
  readonly readyMs: number;
  readonly benchRssBeforeKiB: number;
  readonly benchRssAfterKiB: number;
}

/** Joins the edges, then waits until each is linked and its Node Ready in the API. */
async function connectEdges(run: Run, cloud: Cloud, edgesDir: string, edges: number): Promise<Connected> {
  const nodes = new NodeTracker();
  const nodeWatch = await ApiWatch.open(cloud.kc, '/api/v1/nodes', nodes.seen);
  run.watches.push(nodeWatch);
  const benchRssBeforeKiB = process.memoryUsage().rss / 1024;
  const start = performance.now();
  await within(`joining ${edges} hollow edges`, JOIN_PHASE_TIMEOUT_MS, joinEdges(run, cloud, edgesDir, edges));
  const joinedMs = performance.now() - start;
  const linked = (): number => run.edges.filter((e) => e.linked()).length;
  const ready = (): number => run.edges.filter((e) => nodes.ready.has(e.nodeName)).length;
  const reporter = reportProgress(cloud.pid, () => {
    const stats = run.edges.map((e) => e.stats());
    const closes = new Map<string, number>();
    for (const close of stats.flatMap((s) => (s.lastClose === undefined ? [] : [closeKind(s.lastClose)]))) closes.set(close, (closes.get(close) ?? 0) + 1);
    const reconnects = stats.reduce((sum, s) => sum + s.reconnects, 0);
    return `${linked()}/${edges} linked, ${ready()} Ready, ${reconnects} reconnects, last closes ${JSON.stringify(Object.fromEntries(closes))}`;
  });
  try {
    await until(() => linked() === edges && ready() === edges, () => `${linked()} of ${edges} edges linked, ${ready()} Nodes Ready`, READY_PHASE_TIMEOUT_MS);
  } finally {
    clearInterval(reporter);
  }
  const readyMs = performance.now() - start;
  // The node watch has done its job; it would only add its own load from here on.
  nodeWatch.stop();
  return { joinedMs, readyMs, benchRssBeforeKiB, benchRssAfterKiB: process.memoryUsage().rss / 1024 };
}

/** A close reason without node names and cut short, so closes of one kind count together. */
const closeKind = (close: string): string => close.replace(/hollow-\d+/g, '<node>').slice(0, CLOSE_KIND_CHARS_MAX);
const CLOSE_KIND_CHARS_MAX = 80;

/** Every `PROGRESS_EVERY_MS`: `what()`, the cloud's CPU over the interval and its RSS, and this process's CPU. */
function reportProgress(pid: number, what: () => string): NodeJS.Timeout {
  let cloudCpu = cpuMs(pid);
  let benchCpu = process.cpuUsage();
  let at = performance.now();
  return setInterval(() => {
    const now = performance.now();
    const cloudNow = cpuMs(pid);
    const bench = process.cpuUsage(benchCpu);
    const percent = (ms: number): string => `${((100 * ms) / (now - at)).toFixed(0)}%`;
    progress(`${what()}; cloud CPU ${percent(cloudNow - cloudCpu)} RSS ${Math.round(mib(rssKiB(pid)))} MiB; bench CPU ${percent((bench.user + bench.system) / 1000)}`);
    cloudCpu = cloudNow;
    benchCpu = process.cpuUsage();
    at = now;
  }, PROGRESS_EVERY_MS);
}

/** Joins and starts `count` hollow edges, `JOIN_CONCURRENCY` at a time, into `run.edges`. */
async function joinEdges(run: Run, cloud: Cloud, edgesDir: string, count: number): Promise<void> {
  const token = await createJoinTokenInDataDir(cloud.dataDir, { nowMs: Date.now() });
  if (!token.ok) throw new Error(`join token: ${token.error.message}`);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count && !run.stopped; i = next++) {
      const name = nodeName(i);
      const joined = await HollowEdge.join({ nodeName: name, streamUrl: cloud.streamUrl, bootstrapUrl: cloud.bootstrapUrl, token: token.value.token, dataDir: join(edgesDir, name) });
      if (!joined.ok) throw new Error(joined.error);
      if (run.stopped) return joined.value.stop();
      run.edges.push(joined.value);
      joined.value.start();
    }
  };
  await Promise.all(Array.from({ length: JOIN_CONCURRENCY }, worker));
}

interface Wave {
  readonly window: Window;
  /** One per pod seen Running within the budget. */
  readonly latenciesMs: readonly number[];
  readonly planned: number;
}

/**
 * The raw baseline, run right after the wave (the API then holds the wave's pods, and the edges
 * keep renewing): pods on a Node no edge serves, each created and patched Running by this client.
 */
async function rawWave(run: Run, cloud: Cloud, pods: PodTracker, count: number, concurrency: number): Promise<Wave> {
  await cloud.api.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: RAW_NODE } } });
  const names = Array.from({ length: count }, (_, i) => `raw-${String(i).padStart(5, '0')}`);
  const { window, value } = await measured(cloud.pid, () => within('raw baseline wave', phaseTimeoutMs(BASELINE_BUDGET_MS), closedLoop(run, names, concurrency, (name) => rawPod(cloud, pods, name), BASELINE_BUDGET_MS)));
  return { window, latenciesMs: value, planned: names.length };
}

/** The wave: `podsPerEdge` pods bound to every edge, created round-robin across the edges. */
async function edgeWave(run: Run, cloud: Cloud, pods: PodTracker, options: CloudScaleOptions): Promise<Wave & { readonly loopDelayP99Ms: number }> {
  const items = Array.from({ length: options.podsPerEdge * options.edges }, (_, k) => ({ node: nodeName(k % options.edges), name: `pod-${nodeName(k % options.edges)}-${Math.floor(k / options.edges)}` }));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    const { window, value } = await measured(cloud.pid, () =>
      within(`wave of ${items.length} pods`, phaseTimeoutMs(options.waveBudgetMs), closedLoop(run, items, options.concurrency, (item) => edgePod(cloud, pods, item.name, item.node), options.waveBudgetMs)),
    );
    return { window, latenciesMs: value, planned: items.length, loopDelayP99Ms: loop.percentile(99) / 1e6 };
  } finally {
    loop.disable();
  }
}

/** Stops the hollow edges (bounded), then the cloud (SIGTERM, SIGKILL after the bound). */
async function tearDown(run: Run): Promise<void> {
  run.stopped = true;
  for (const watch of run.watches) watch.stop();
  await within('stopping the hollow edges', STOP_TIMEOUT_MS, Promise.all(run.edges.map((e) => e.stop()))).catch((error: Error) => console.error(error.message));
  for (const cloud of run.clouds) {
    if (cloud.child.exitCode !== null || cloud.child.signalCode !== null) continue;
    cloud.child.kill('SIGTERM');
    const profiled = (process.env['BENCH_CLOUD_SCALE_CPU_PROF'] ?? '') !== '';
    const exited = await Promise.race([cloud.exited().then(() => true), sleep(profiled ? PROFILED_STOP_TIMEOUT_MS : STOP_TIMEOUT_MS).then(() => false)]);
    if (!exited) {
      cloud.child.kill('SIGKILL');
      await Promise.race([cloud.exited(), sleep(STOP_TIMEOUT_MS)]);
    }
  }
}

/** Everything a run measured, for the figures. */
interface Measured {
  readonly options: CloudScaleOptions;
  readonly idle0: Window;
  readonly connected: Connected & { readonly window: Window };
  readonly idleN: Window;
  readonly raw: Wave;
  readonly wave: Wave & { readonly loopDelayP99Ms: number };
  readonly after: Window;
  readonly kubectlMs: readonly number[];
  readonly watchRestarts: number;
  readonly edgeStats: { readonly leaseRenewals: number; readonly leaseFailures: number; readonly reportFailures: number };
}

/**
 * Starts a cloud, links `options.edges` hollow edges, measures, and tears everything down.
 *
 * @example
 * const figures = await cloudScaleFigures({ ...CLOUD_SCALE_DEFAULTS, edges: 100 });
 * figures.forEach((f) => console.log(cloudScaleFigureLines(f)));
 */
export async function cloudScaleFigures(options: CloudScaleOptions): Promise<CloudScaleFigure[]> {
  if (!(options.edges >= 1 && options.podsPerEdge >= 1 && options.concurrency >= 1)) throw new Error('edges, podsPerEdge and concurrency must be at least 1');
  const root = await mkdtemp(join(tmpdir(), 'edgehive-bench-cloud-scale-'));
  const edgesDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'edgehive-bench-hollow-'));
  const run: Run = { stopped: false, clouds: [], edges: [], watches: [] };
  try {
    const cloud = await startCloud(join(root, 'cloud'), run);
    progress(`cloud up (pid ${cloud.pid}); ${IDLE_WINDOW_MS / 1000} s idle with no edges`);
    await sleep(SETTLE_MS);
    const idle0 = await idleFor(cloud.pid, IDLE_WINDOW_MS);
    const pods = new PodTracker();
    const podWatch = await ApiWatch.open(cloud.kc, `/api/v1/namespaces/${NAMESPACE}/pods`, pods.seen);
    run.watches.push(podWatch);
    const connect = await measured(cloud.pid, () => connectEdges(run, cloud, edgesDir, options.edges));
    await sleep(SETTLE_MS);
    const idleN = await idleFor(cloud.pid, IDLE_WINDOW_MS);
    progress(`${options.edges} edges Ready (${Math.round(connect.value.readyMs)} ms); idle ${cpuPercent(idleN).toFixed(1)}% CPU; wave of ${options.edges * options.podsPerEdge} pods`);
    const wave = await edgeWave(run, cloud, pods, options);
    progress(`wave done in ${Math.round(wave.window.wallMs)} ms; settling`);
    await sleep(SETTLE_MS);
    const after = await idleFor(cloud.pid, IDLE_WINDOW_MS / 2);
    const raw = await rawWave(run, cloud, pods, Math.min(options.baselinePods, options.edges * options.podsPerEdge), options.concurrency);
    progress(`raw baseline done in ${Math.round(raw.window.wallMs)} ms`);
    const kubectlMs: number[] = [];
    for (let k = 0; k < options.kubectlSample; k++) kubectlMs.push(await kubectlApply(cloud.kubeconfig, pods, `kubectl-${k}`, nodeName(k % options.edges)));
    const stats = run.edges.map((e) => e.stats());
    const sum = (pick: (s: (typeof stats)[number]) => number): number => stats.reduce((total, s) => total + pick(s), 0);
    const edgeStats = { leaseRenewals: sum((s) => s.leaseRenewals), leaseFailures: sum((s) => s.leaseFailures), reportFailures: sum((s) => s.reportFailures) };
    return toFigures({ options, idle0, connected: { ...connect.value, window: connect.window }, idleN, raw, wave, after, kubectlMs, watchRestarts: podWatch.restarts, edgeStats });
  } finally {
    await tearDown(run);
    await rm(root, { recursive: true, force: true });
    await rm(edgesDir, { recursive: true, force: true });
  }
}

const ratioOf = (value: number, baseline: number): number => value / baseline;

/**
 * The printed lines of a figure: "name: value unit (baseline-name value unit, ratio Z×)", then the mode.
 */
export function cloudScaleFigureLines(f: CloudScaleFigure): string {
  const digits = f.unit === 'ms' || f.unit === '% of one core' ? 2 : f.unit === 'ms CPU/pod' ? 3 : 1;
  return `${f.name}: ${f.value.toFixed(digits)} ${f.unit} (${f.baselineName} ${f.baseline.toFixed(digits)} ${f.unit}, ratio ${f.ratio.toFixed(2)}×)\n  mode: ${f.mode}`;
}

function latencyFigures(m: Measured): CloudScaleFigure[] {
  const { options: o, raw, wave } = m;
  const ours = sortedOf(wave.latenciesMs);
  const base = sortedOf(raw.latenciesMs);
  const pods = wave.latenciesMs.length;
  const mode =
    `${o.edges} hollow edges (real EdgeHub, SQLite journal on ${existsSync('/dev/shm') ? '/dev/shm' : 'the temp dir'}, Lease every 10 s) in the bench process, one \`edgehive cloud\` child; ` +
    `${pods} of ${wave.planned} pods Running within the ${o.waveBudgetMs / 1000} s budget (${o.podsPerEdge} per edge, spec.nodeName preset, created round-robin across edges), closed loop with ${o.concurrency} in flight, client-node with one keep-alive agent: create → first watch event with phase Running; ` +
    `raw: ${raw.latenciesMs.length} of ${raw.planned} pods (budget ${BASELINE_BUDGET_MS / 1000} s) on a Node no edge serves, same concurrency, create → this client's merge patch of pods/status with the status a hollow edge reports → seen Running, right after the wave on the same API server (the wave's pods still there, the edges still renewing)`;
  const detail = {
    edges: o.edges,
    pods,
    podsPlanned: wave.planned,
    rawPods: raw.latenciesMs.length,
    concurrency: o.concurrency,
    podsPerSecond: (pods * 1000) / wave.window.wallMs,
    rawPodsPerSecond: (raw.latenciesMs.length * 1000) / raw.window.wallMs,
    maxMs: ours[ours.length - 1] ?? 0,
    rawMaxMs: base[base.length - 1] ?? 0,
    kubectlApplyMedianMs: median(m.kubectlMs),
    kubectlApplies: m.kubectlMs.length,
    benchEventLoopDelayP99Ms: wave.loopDelayP99Ms,
    watchRestarts: m.watchRestarts,
    joinAllMs: m.connected.joinedMs,
    allReadyMs: m.connected.readyMs,
    leaseRenewals: m.edgeStats.leaseRenewals,
    leaseFailures: m.edgeStats.leaseFailures,
    reportFailures: m.edgeStats.reportFailures,
  };
  return [50, 99].map((p) => ({
    name: `cloud-scale N=${o.edges}: pod Running p${p}`,
    unit: 'ms',
    value: percentile(ours, p),
    baseline: percentile(base, p),
    baselineName: 'raw create+patch',
    ratio: ratioOf(percentile(ours, p), percentile(base, p)),
    mode,
    detail,
  }));
}

function cpuFigures(m: Measured): CloudScaleFigure[] {
  const { options: o, raw, wave, idle0, idleN } = m;
  const pods = wave.latenciesMs.length;
  // Leases and node status keep coming during the wave; this is their share, for reading the per-pod figure.
  const backgroundMsPerPod = (idleN.cpuMs / idleN.wallMs) * (wave.window.wallMs / pods);
  const rawBackgroundMsPerPod = (idleN.cpuMs / idleN.wallMs) * (raw.window.wallMs / raw.latenciesMs.length);
  const idleFloor = 0.01;
  return [
    {
      name: `cloud-scale N=${o.edges}: cloud CPU per pod`,
      unit: 'ms CPU/pod',
      value: wave.window.cpuMs / pods,
      baseline: raw.window.cpuMs / raw.latenciesMs.length,
      baselineName: 'raw create+patch',
      ratio: ratioOf(wave.window.cpuMs / pods, raw.window.cpuMs / raw.latenciesMs.length),
      mode: `utime+stime of the cloud process (/proc/<pid>/stat, all threads) over the wave / its pods; raw: the same over the raw baseline wave (N edges linked in both)`,
      detail: { waveCpuPercent: cpuPercent(wave.window), rawCpuPercent: cpuPercent(raw.window), waveWallMs: wave.window.wallMs, backgroundMsPerPod, rawBackgroundMsPerPod },
    },
    {
      name: `cloud-scale N=${o.edges}: cloud CPU idle`,
      unit: '% of one core',
      value: cpuPercent(idleN),
      baseline: cpuPercent(idle0),
      baselineName: 'no edges',
      ratio: ratioOf(cpuPercent(idleN), Math.max(cpuPercent(idle0), idleFloor)),
      mode: `${o.edges} edges linked and Ready, no pods, over ${IDLE_WINDOW_MS / 1000} s (two Lease periods); baseline: the same cloud before any edge joined (ratio against at least ${idleFloor}%)`,
      detail: { perEdgePercent: cpuPercent(idleN) / o.edges, connectCpuMs: m.connected.window.cpuMs, connectWallMs: m.connected.window.wallMs },
    },
  ];
}

function memoryFigures(m: Measured): CloudScaleFigure[] {
  const { options: o, idle0, idleN, wave, after } = m;
  const rss0 = median(idle0.rssKiB);
  const rssN = median(idleN.rssKiB);
  const rssAfter = median(after.rssKiB);
  const pods = wave.latenciesMs.length;
  const mode = (when: string): string => `VmRSS of the cloud process (the API server, EdgeController, hub and controllers in one), median of samples every ${RSS_SAMPLE_GAP_MS} ms, ${when}; baseline: the same cloud before any edge joined`;
  return [
    {
      name: `cloud-scale N=${o.edges}: cloud RSS idle`,
      unit: 'MiB',
      value: mib(rssN),
      baseline: mib(rss0),
      baselineName: 'no edges',
      ratio: ratioOf(rssN, rss0),
      mode: mode(`${o.edges} edges linked and Ready, no pods`),
      detail: { perEdgeKiB: (rssN - rss0) / o.edges, benchProcessPerHollowEdgeKiB: (m.connected.benchRssAfterKiB - m.connected.benchRssBeforeKiB) / o.edges },
    },
    {
      name: `cloud-scale N=${o.edges}: cloud RSS after the pod wave`,
      unit: 'MiB',
      value: mib(rssAfter),
      baseline: mib(rss0),
      baselineName: 'no edges',
      ratio: ratioOf(rssAfter, rss0),
      mode: mode(`${pods} pods Running on ${o.edges} edges, after ${SETTLE_MS / 1000} s settling`),
      detail: { peakDuringWaveMiB: mib(Math.max(...wave.window.rssKiB)), perPodKiB: (rssAfter - rssN) / pods },
    },
  ];
}

function toFigures(m: Measured): CloudScaleFigure[] {
  return [...latencyFigures(m), ...cpuFigures(m), ...memoryFigures(m)];
}

/** `--edges 20,100` (default: the 100 and 1,000), `--pods-per-edge`, `--concurrency`, `--baseline-pods`, `--kubectl-sample`. */
function parseArgs(argv: readonly string[]): { edges: number[]; options: Omit<CloudScaleOptions, 'edges'> } {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const count = (flag: string, fallback: number): number => {
    const text = value(flag);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number, got ${text}`);
    return n;
  };
  const edges = (value('--edges') ?? process.env['BENCH_CLOUD_SCALE_EDGES'] ?? CLOUD_SCALE_EDGES_DEFAULT.join(',')).split(',').map(Number);
  if (edges.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--edges takes whole numbers ≥ 1, comma-separated');
  const d = CLOUD_SCALE_DEFAULTS;
  return {
    edges,
    options: {
      podsPerEdge: count('--pods-per-edge', d.podsPerEdge),
      concurrency: count('--concurrency', d.concurrency),
      baselinePods: count('--baseline-pods', d.baselinePods),
      kubectlSample: count('--kubectl-sample', d.kubectlSample),
      waveBudgetMs: count('--wave-budget-seconds', d.waveBudgetMs / 1000) * 1000,
    },
  };
}

/** The edge counts and options `npm run bench` uses: the N unless BENCH_CLOUD_SCALE_EDGES says otherwise. */
export const cloudScaleRuns = (): { edges: number[]; options: Omit<CloudScaleOptions, 'edges'> } => parseArgs([]);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { edges, options } = parseArgs(process.argv.slice(2));
  for (const n of edges) {
    const figures = await cloudScaleFigures({ ...options, edges: n });
    figures.forEach((f) => console.log(cloudScaleFigureLines(f)));
    console.log(JSON.stringify(figures.map((f) => ({ name: f.name, value: f.value, baseline: f.baseline, ratio: f.ratio, detail: f.detail })), null, 2));
  }
}
