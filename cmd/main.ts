// The `edgehive` CLI: the composition root, where real clocks, files, processes and the logger are
// wired in. Each command loads its module when it runs, so one command never pays for another's imports.
import { Command, Option } from 'commander';
import pino, { type Logger } from 'pino';

// A reader that goes away (`edgehive replay … | head`) is not an error: stop writing and exit quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const stdio = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const logLevelOption = () => new Option('--log-level <level>', 'structured logs (JSON on stderr) at this level and above').choices(LOG_LEVELS).default('info');

/** Structured logs go to stderr, written synchronously so nothing is lost at exit; stdout keeps the greppable lines. */
const logger = (level: string, command: string): Logger =>
  pino({ level, name: `edgehive ${command}`, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));

/** An AbortSignal that fires on the first SIGINT or SIGTERM. */
function stopSignal(): AbortSignal {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  return stop.signal;
}

const program = new Command('edgehive')
  .description('Kubernetes at the edge, as an event-sourced actor system')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('replay')
  .description("rebuild any actor's state from a journal and print its transitions as a timeline")
  .argument('<journal>', 'an edgehive journal file (SQLite)')
  .option('--stream <id>', 'one stream, e.g. pod-default.web.<uid>; without it, list the streams')
  .option('--node <name>', "a node's stream by name (node-NAME at the edge, link-NAME in the cloud)")
  .option('--pod <ns/name>', "a pod's stream by name, without its uid (the newest incarnation; all are listed)")
  .option('--twin <ns/name>', "a device twin's stream by the Device's name, without its uid (the newest incarnation; all are listed)")
  .option('--until <version|time>', 'rebuild the state at a stream version or an ISO 8601 time, and say which event made it so and which came next')
  .option('--json', 'machine-readable output', false)
  .option('--follow', 'keep printing events as a live journal grows (Ctrl-C to stop)', false)
  .action(async (journal: string, options: { stream?: string; node?: string; pod?: string; twin?: string; until?: string; json: boolean; follow: boolean }) => {
    const { runReplay } = await import('./replay/replay.js');
    process.exitCode = await runReplay({ path: journal, ...options }, stdio, stopSignal());
  });

program
  .command('up')
  .description('run everything on this machine: the cloud with its embedded Kubernetes API, edge hosts with MQTT brokers, a simulated thermometer and a sample Deployment; prints the kubeconfig and what to try')
  .option('--data-dir <dir>', 'where every process keeps its data (again: resume)', './.edgehive')
  .option('--edges <n>', 'how many edge hosts (edge-1 … edge-N)', '2')
  .action(async (options: { dataDir: string; edges: string }) => {
    const { runUp } = await import('./up/up.js');
    process.exitCode = await runUp(options, stdio, stopSignal());
  });

program
  .command('status')
  .description('one screen of what to check first: per edge node Ready, link, pending up/down, journal sizes; per device its twin at the edge beside the API; reads only, and still prints the edges\' facts when the API is unreachable (exit 0; 1 when the data dir holds no edgehive data)')
  .option('--data-dir <dir>', 'the data dir of `edgehive up` (or of one `edgehive cloud` or `edgehive edge`)', './.edgehive')
  .option('--json', 'machine-readable output', false)
  .action(async (options: { dataDir: string; json: boolean }) => {
    const { runStatus } = await import('./status/status.js');
    process.exitCode = await runStatus(options, stdio);
  });

program
  .command('demo')
  .description('run a node, a pod and a device twin through a sample life on a fresh journal, then replay it')
  .option('--data-dir <dir>', 'where the sample journal is written', './.edgehive')
  .action(async (options: { dataDir: string }) => {
    const { runDemo } = await import('./demo/demo.js');
    process.exitCode = await runDemo(options, stdio);
  });

program
  .command('cloud')
  .description('run the cloud side: the embedded Kubernetes API server (default), the node bootstrap server and the stream to edges')
  .option('--data-dir <dir>', 'where state, certificates and the kubeconfig live', './.edgehive')
  .option('--kubeconfig <file>', 'use a real cluster instead of the embedded API server')
  .option('--run-controllers', 'with --kubeconfig: also run edgehive\'s scheduler and controllers (a real cluster has its own)', false)
  .option('--api-port <port>', 'port of the embedded API server (default: a free one)')
  .option('--stream-port <port>', 'port of the edges\' mTLS stream, printed as "Stream: wss://…" (default: a free one, P)')
  .option('--bootstrap-port <port>', 'port where edges join and renew certificates, printed as "Join: https://…" (default: the stream port + 2)')
  .option('--insecure', 'serve the embedded API over plain HTTP without authentication', false)
  .option('--node-monitor-grace-period <seconds>', 'how long a node may stay silent before it goes Unknown and is tainted NoSchedule (default 40)')
  .option('--journal <url>', 'where the cloud journals each node\'s link history: sqlite:FILE or esdb://HOST:PORT?tls=false (default: <data-dir>/cloud/journal.db)')
  .option('--router-port <port>', 'serve KubeEdge\'s router URL POST /<node>/<namespace>/<path> (rest→eventbus Rules) on this port of 127.0.0.1, printed as "Router: http://…" (0: a free one; default: not served); callers send the API\'s bearer token')
  .option('--stream-lease-seconds <seconds>', 'with several cloud processes: how long before another process takes over the edges of one that stopped renewing their Leases (default 40)')
  .addOption(logLevelOption())
  .action(async (options: { dataDir: string; kubeconfig?: string; apiPort?: string; streamPort?: string; bootstrapPort?: string; insecure: boolean; runControllers: boolean; nodeMonitorGracePeriod?: string; streamLeaseSeconds?: string; journal?: string; routerPort?: string; logLevel: string }) => {
    const { runCloud } = await import('./cloud/cloud.js');
    process.exitCode = await runCloud(options, stdio, stopSignal(), logger(options.logLevel, 'cloud'));
  });

const token = program.command('token').description('manage the join tokens edges present on their first join');
token
  .command('create')
  .description('create a join token for the cluster in the data dir; prints it alone on the last line')
  .option('--data-dir <dir>', "the cloud's data dir (its PKI in <dir>/pki, the tokens in <dir>/join-tokens.json)", './.edgehive')
  .option('--ttl <duration>', 'how long the token is valid, e.g. 30m, 1h, 7d (1 minute to 30 days)', '24h')
  .action(async (options: { dataDir: string; ttl: string }) => {
    const { runTokenCreate } = await import('./token/token.js');
    process.exitCode = await runTokenCreate(options, stdio);
  });

program
  .command('edge')
  .description('run an edge node: join the cluster once with a token, then keep the stream to the cloud linked')
  .requiredOption('--cloud <url[,url...]>', 'the cloud\'s stream URL, wss://<host>:<port> (the "Stream:" line of edgehive cloud); several cloud processes comma-separated: the edge keeps to the one that works and moves to the next when it refuses the node (1012), goes away or cannot be reached')
  .requiredOption('--name <name>', 'this node\'s name (a DNS-1123 subdomain)')
  .option('--token <token>', 'a join token from `edgehive token create`; needed for the first join only')
  .option('--bootstrap <url[,url...]>', 'the cloud\'s join URL, https://<host>:<port>: one for all, or one per --cloud URL in its order (default: each --cloud host at its port + 2); a join or renewal tries them in turn')
  .option('--data-dir <dir>', 'where the credentials (<dir>/edge-pki) and the journal (<dir>/edge/journal.db) live', './.edgehive')
  .option('--meta-server-port <port>', 'port of the read-only local Kubernetes API on 127.0.0.1 (KubeEdge\'s MetaServer; 0: a free one)', '10550')
  .option('--no-meta-server', 'do not serve the local API')
  .option('--labels <k=v,...>', 'labels the node registers with, e.g. site=plant-3,zone=line-a (as keadm join --labels)')
  .option('--mqtt-port <port>', 'port of the embedded MQTT broker on 127.0.0.1, printed as "mqtt mqtt://…" (KubeEdge\'s 1883 by default; 0: a free one)')
  .option('--mqtt-username <name>', 'with --mqtt-password: the embedded broker accepts only clients presenting these credentials')
  .option('--mqtt-password <password>', 'see --mqtt-username')
  .option('--mqtt-url <url>', 'use an external MQTT broker instead of the embedded one, e.g. mqtt://user:pass@127.0.0.1:1883 (mosquitto)')
  .option('--no-mqtt', 'no EventBus: device twins are kept and synced, but no MQTT client can reach them')
  .addOption(logLevelOption())
  .action(async (options: { cloud: string; name: string; token?: string; bootstrap?: string; dataDir: string; metaServer: boolean; metaServerPort: string; labels?: string; mqtt: boolean; mqttPort?: string; mqttUsername?: string; mqttPassword?: string; mqttUrl?: string; logLevel: string }) => {
    const { runEdge } = await import('./edge/edge.js');
    process.exitCode = await runEdge(options, stdio, stopSignal(), logger(options.logLevel, 'edge'));
  });

const mapper = program.command('mapper').description("run a device mapper: a process that speaks KubeEdge's MQTT device topics ($hw/events/device/<namespace>/<name>/…) for its device");
mapper
  .command('sim')
  .description('a simulated thermometer: reports online, follows the target the edge names (twin/get, deltas), moves its reading 0.5 toward it every interval and reports it; reports offline on Ctrl-C')
  .requiredOption('--mqtt-url <url>', 'the edge\'s MQTT broker, mqtt://[user:pass@]host:port (the "mqtt mqtt://…" line of edgehive edge or up)')
  .requiredOption('--device <namespace/name>', 'the Device it plays, e.g. default/thermometer-1')
  .option('--interval-ms <ms>', 'how often it moves and reports its reading', '1000')
  .option('--property <name>', 'the twin property it reports (the reading)', 'temperature')
  .option('--target-property <name>', 'the twin property whose desired value it follows', 'target-temperature')
  .option('--initial <value>', 'the reading at start', '18')
  .action(async (options: { mqttUrl: string; device: string; intervalMs: string; property: string; targetProperty: string; initial: string }) => {
    const { runMapperSimCli } = await import('./mapper/mapper-sim.js');
    process.exitCode = await runMapperSimCli(options, stdio, stopSignal());
  });

await program.parseAsync(process.argv);
