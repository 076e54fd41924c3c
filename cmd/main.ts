// The `edgehive` CLI: the composition root, where real clocks, files and processes are wired in.
import { Command } from 'commander';
import { runReplay } from './replay/replay.js';
import { runDemo } from './demo/demo.js';
import { runCloud } from './cloud/cloud.js';

const stdio = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
};

const program = new Command('edgehive')
  .description('Kubernetes at the edge, as an event-sourced actor system')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('replay')
  .description("rebuild any actor's state from a journal and print its transitions as a timeline")
  .argument('<journal>', 'an edgehive journal file (SQLite)')
  .option('--stream <id>', 'one stream, e.g. pod-default.web.<uid>; without it, list the streams')
  .option('--until <version|time>', 'rebuild the state at a stream version or an ISO 8601 time')
  .option('--json', 'machine-readable output', false)
  .option('--follow', 'keep printing events as a live journal grows (Ctrl-C to stop)', false)
  .action(async (journal: string, options: { stream?: string; until?: string; json: boolean; follow: boolean }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    process.exitCode = await runReplay({ path: journal, ...options }, stdio, stop.signal);
  });

program
  .command('demo')
  .description('run a node, a pod and a device twin through a sample life on a fresh journal, then replay it')
  .option('--data-dir <dir>', 'where the sample journal is written', './.edgehive')
  .action(async (options: { dataDir: string }) => {
    process.exitCode = await runDemo(options, stdio);
  });

program
  .command('cloud')
  .description('run the cloud side: the embedded Kubernetes API server (default) and, later, the stream to edges')
  .option('--data-dir <dir>', 'where state, certificates and the kubeconfig live', './.edgehive')
  .option('--kubeconfig <file>', 'use a real cluster instead of the embedded API server')
  .option('--api-port <port>', 'port of the embedded API server (default: a free one)')
  .option('--insecure', 'serve the embedded API over plain HTTP without authentication', false)
  .action(async (options: { dataDir: string; kubeconfig?: string; apiPort?: string; insecure: boolean }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    process.exitCode = await runCloud(options, stdio, stop.signal);
  });

await program.parseAsync(process.argv);
