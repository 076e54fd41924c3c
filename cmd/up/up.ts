// `edgehive up`: the whole product on one machine for a newcomer. It runs `edgehive cloud`
// (embedded Kubernetes API server), N `edgehive edge` hosts (each with its embedded MQTT broker) and
// a simulated thermometer (`edgehive mapper sim`) as child processes of this one, applies a
// DeviceModel, a Device and a sample Deployment through the API, and prints what to do next. Data
// lives in --data-dir, so running it again resumes; Ctrl-C stops every child cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { err, ok, type Result } from '../../kernel/index.js';
import { openProcessRuntime } from '../../runtime/index.js';
import { createJoinTokenInDataDir, loadNodeCredentials } from '../../transport/index.js';

export interface UpOptions {
  readonly dataDir: string;
  /** How many edge hosts (edge-1 … edge-N). */
  readonly edges: string;
}

export interface UpIo {
  out(line: string): void;
  err(line: string): void;
}

/** Edge hosts a local demo runs at most (each is a Node.js process with its pods). */
const EDGES_MAX = 20;
/** How long a child may take to print its ready line. */
const CHILD_READY_TIMEOUT_MS = 90_000;
/** How long the children have to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 15_000;
const SAMPLE_DEVICE = { namespace: 'default', name: 'thermometer-1' } as const;
const SAMPLE_DEPLOYMENT = 'hello-edge';

/** A child `edgehive` process: its lines (also written to its log file) and its end. */
interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly log: string;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
}

/** Resolves to the exit code once `stop` fires (0) or at once on a start-up failure (1). */
export async function runUp(options: UpOptions, io: UpIo, stop: AbortSignal): Promise<number> {
  const edges = Number(options.edges);
  if (!/^\d+$/.test(options.edges) || edges < 1 || edges > EDGES_MAX) return fail(io, `--edges must be a whole number from 1 to ${EDGES_MAX}, got '${options.edges}'`);
  const dataDir = resolve(options.dataDir);
  const logs = join(dataDir, 'logs');
  try {
    mkdirSync(logs, { recursive: true, mode: 0o700 });
  } catch (error) {
    return fail(io, `cannot create ${logs}: ${(error as Error).message}`);
  }
  const children: Child[] = [];
  const stopping = { now: false };
  const stopAll = async (): Promise<void> => {
    stopping.now = true;
    await stopChildren(children, io);
    // An edge agent leaves its pods running when it stops (edge autonomy); the demo takes them down
    // with it, and the next `up` starts them again from the edges' journals.
    for (let i = 1; i <= edges; i++) await stopPods(join(dataDir, `edge-${i}`));
  };
  try {
    const started = await startEverything(dataDir, edges, children, io, stopping);
    if (!started.ok) {
      await stopAll();
      return fail(io, started.error);
    }
    printNextSteps(io, started.value, dataDir);
  } catch (error) {
    await stopAll();
    return fail(io, (error as Error).message);
  }
  await new Promise<void>((done) => (stop.aborted ? done() : stop.addEventListener('abort', () => done(), { once: true })));
  io.out('stopping…');
  await stopAll();
  io.out('stopped; run `edgehive up` again to resume from the same data');
  return 0;
}

interface Running {
  readonly kubeconfig: string;
  readonly apiUrl: string;
  readonly streamUrl: string;
  readonly edges: readonly { readonly name: string; readonly mqttUrl: string | undefined; readonly journal: string }[];
  readonly cloudJournal: string;
}

async function startEverything(dataDir: string, edges: number, children: Child[], io: UpIo, stopping: { readonly now: boolean }): Promise<Result<Running, string>> {
  const cloudDir = join(dataDir, 'cloud');
  io.out('starting the cloud (embedded Kubernetes API server, stream, node bootstrap)…');
  const cloud = startChild('cloud', ['cloud', '--data-dir', cloudDir], dataDir, children, io, stopping);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/)).slice('export KUBECONFIG='.length);
  const apiUrl = /https?:\/\/\S+/.exec(await cloud.waitForLine(/^Kubernetes API: /))?.[0] ?? '';
  const streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);
  io.out(`cloud ready: API ${apiUrl}, stream ${streamUrl}`);
  const running: Running['edges'][number][] = [];
  for (let i = 1; i <= edges; i++) {
    const name = `edge-${i}`;
    const edgeDir = join(dataDir, name);
    const joined = await loadNodeCredentials(edgeDir);
    const args = ['edge', '--cloud', streamUrl, '--name', name, '--data-dir', edgeDir, '--mqtt-port', '0', '--meta-server-port', '0'];
    if (!joined.ok) {
      const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
      if (!token.ok) return err(`cannot create a join token for ${name}: ${token.error.message}`);
      args.push('--token', token.value.token);
    }
    io.out(`starting ${name}${joined.ok ? '' : ' (first run: joining with a token)'}…`);
    const edge = startChild(name, args, dataDir, children, io, stopping);
    const mqttLine = await edge.waitForLine(/^(mqtt mqtt:\/\/|mqtt unavailable)/);
    await edge.waitForLine(/^linked \(/);
    const mqttUrl = mqttLine.startsWith('mqtt mqtt://') ? mqttLine.slice('mqtt '.length) : undefined;
    io.out(`${name} linked${mqttUrl === undefined ? '' : `, MQTT ${mqttUrl}`}`);
    running.push({ name, mqttUrl, journal: join(edgeDir, 'edge', 'journal.db') });
  }
  io.out('applying the sample DeviceModel, Device and Deployment…');
  const applied = await applySamples(kubeconfig);
  if (!applied.ok) return applied;
  const mqtt = running[0]?.mqttUrl;
  if (mqtt !== undefined) {
    io.out(`starting the simulated thermometer ${SAMPLE_DEVICE.namespace}/${SAMPLE_DEVICE.name} on edge-1's MQTT…`);
    const mapper = startChild('mapper', ['mapper', 'sim', '--mqtt-url', mqtt, '--device', `${SAMPLE_DEVICE.namespace}/${SAMPLE_DEVICE.name}`, '--interval-ms', '2000'], dataDir, children, io, stopping);
    await mapper.waitForLine(/^mapper: /);
  }
  return ok({ kubeconfig, apiUrl, streamUrl, edges: running, cloudJournal: join(cloudDir, 'cloud', 'journal.db') });
}

function printNextSteps(io: UpIo, running: Running, dataDir: string): void {
  io.out('');
  io.out('edgehive is up.');
  io.out(`export KUBECONFIG=${running.kubeconfig}`);
  io.out(`Kubernetes API: ${running.apiUrl}`);
  io.out(`Stream: ${running.streamUrl}`);
  for (const edge of running.edges) if (edge.mqttUrl !== undefined) io.out(`MQTT (${edge.name}): ${edge.mqttUrl}`);
  io.out('');
  io.out('try:');
  io.out('  kubectl get nodes,pods,devices -o wide');
  io.out(`  kubectl get device ${SAMPLE_DEVICE.name} -o jsonpath='{.status.twins}'`);
  io.out(`  kubectl patch device ${SAMPLE_DEVICE.name} --type json -p '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]'`);
  io.out(`  kubectl scale deployment ${SAMPLE_DEPLOYMENT} --replicas 4`);
  io.out(`  kubectl logs deployment/${SAMPLE_DEPLOYMENT}`);
  const mqtt = running.edges[0]?.mqttUrl;
  if (mqtt !== undefined) io.out(`  mosquitto_sub -p ${new URL(mqtt).port} -t '$hw/events/device/${SAMPLE_DEVICE.namespace}/${SAMPLE_DEVICE.name}/#' -v`);
  io.out('');
  io.out('journals, for `edgehive replay <file>`:');
  io.out(`  cloud: ${running.cloudJournal}`);
  for (const edge of running.edges) io.out(`  ${edge.name}: ${edge.journal}`);
  io.out(`logs of every process: ${join(dataDir, 'logs')}`);
  io.out('Ctrl-C stops everything; running `edgehive up` again resumes.');
}

/** Starts `edgehive <args>` with its output into <dataDir>/logs/<name>.log; a child that dies on its own is reported. */
function startChild(name: string, args: readonly string[], dataDir: string, children: Child[], io: UpIo, stopping: { readonly now: boolean }): Child {
  const log = join(dataDir, 'logs', `${name}.log`);
  const file: WriteStream = createWriteStream(log, { flags: 'a', mode: 0o600 });
  // The mapper has no structured logs; the others log warnings and worse to their log file.
  const logLevel = args[0] === 'mapper' ? [] : ['--log-level', 'warn'];
  const child = spawn(process.execPath, [cliEntry(), ...args, ...logLevel], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    file.write(chunk);
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > 1_000) lines.splice(0, lines.length - 1_000);
    for (const wake of waiters) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => file.write(chunk));
  let closed = false;
  const exited = new Promise<number | null>((done) =>
    child.once('close', (code) => {
      closed = true;
      file.end();
      for (const wake of waiters) wake();
      if (!stopping.now) io.out(`${name} exited (${code ?? child.signalCode}); see ${log}`);
      done(code);
    }),
  );
  const waitForLine = (pattern: RegExp, timeoutMs = CHILD_READY_TIMEOUT_MS): Promise<string> =>
    new Promise((done, fail) => {
      const check = (): void => {
        const found = lines.find((line) => pattern.test(line));
        if (found === undefined && !closed) return;
        waiters.delete(check);
        clearTimeout(timer);
        if (found !== undefined) done(found);
        else fail(new Error(`${name} stopped before it was ready; see ${log}${lastLines(log)}`));
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        fail(new Error(`${name} was not ready within ${timeoutMs / 1000} s; see ${log}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const started: Child = { name, process: child, log, waitForLine, exited };
  children.push(started);
  return started;
}

/** The script this process was started with (bin/edgehive.js), so children run the same build. */
function cliEntry(): string {
  return process.argv[1] ?? fileURLToPath(new URL('../../bin/edgehive.js', import.meta.url));
}

const lastLines = (log: string): string => {
  try {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
    return tail === '' ? '' : `:\n${tail}`;
  } catch {
    return '';
  }
};

/** SIGTERM to every child, newest first (the mapper, the edges, then the cloud); SIGKILL after the grace. */
async function stopChildren(children: readonly Child[], io: UpIo): Promise<void> {
  for (const child of [...children].reverse()) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) continue;
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      io.out(`${child.name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
      child.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }
}

/** Kills the pod processes an edge's runtime records as running. */
async function stopPods(edgeDir: string): Promise<void> {
  const runtime = openProcessRuntime({ dataDir: join(edgeDir, 'edge', 'runtime') });
  if (!runtime.ok) return;
  // The runtime sees exits through an unref'd poll (an agent never waits on it alone); here nothing
  // else is left, so this timer keeps the process alive until the kills are seen.
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    await runtime.value.scan();
    await runtime.value.killOrphans(() => false);
  } finally {
    clearInterval(keepAlive);
    await runtime.value.close();
  }
}

/** The sample objects, created when missing (a resumed run leaves what the user changed alone). */
async function applySamples(kubeconfig: string): Promise<Result<void, string>> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const sample = fileURLToPath(new URL('../../k8s/samples/thermometer.yaml', import.meta.url));
  try {
    for (const document of parseAllDocuments(readFileSync(sample, 'utf8'))) {
      const object = document.toJS() as { kind: string; metadata: { name: string; namespace?: string } };
      const plural = object.kind === 'DeviceModel' ? 'devicemodels' : 'devices';
      await createUnlessPresent(() => objects.createNamespacedCustomObject({ group: 'devices.kubeedge.io', version: 'v1beta1', namespace: object.metadata.namespace ?? 'default', plural, body: object }));
    }
    await createUnlessPresent(() => apps.createNamespacedDeployment({ namespace: 'default', body: sampleDeployment() as never }));
    return ok(undefined);
  } catch (error) {
    return err(`cannot apply the samples: ${(error as Error).message}`);
  }
}

const createUnlessPresent = async (create: () => Promise<unknown>): Promise<void> => {
  try {
    await create();
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
};

/** Two replicas of a tiny HTTP app on the edges (processes: no container engine here), one per node. */
function sampleDeployment(): object {
  const script = [
    "const http = require('node:http');",
    "process.on('SIGTERM', () => process.exit(0));",
    "console.log('hello-edge on ' + process.env.NODE_NAME);",
    "setInterval(() => console.log('hello-edge on ' + process.env.NODE_NAME + ' at ' + new Date().toISOString()), 10000);",
  ].join(' ');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: SAMPLE_DEPLOYMENT, namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: SAMPLE_DEPLOYMENT } },
      template: {
        metadata: { labels: { app: SAMPLE_DEPLOYMENT } },
        spec: {
          nodeSelector: { 'node-role.kubernetes.io/edge': '' },
          terminationGracePeriodSeconds: 5,
          containers: [{ name: 'app', image: 'node:20', command: [process.execPath, '-e', script], env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }],
        },
      },
    },
  };
}

function fail(io: UpIo, message: string): number {
  io.err(`edgehive up: ${message}`);
  return 1;
}
