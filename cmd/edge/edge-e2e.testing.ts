// What end-to-end specs with edges share: kubectl awaited by polling kubectl itself (never by time),
// and the pod processes an edge leaves behind killed afterwards (they are detached on purpose).
import { join } from 'node:path';
import type { KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { openProcessRuntime } from '../../runtime/index.js';

const KUBECTL_POLL_MS = 250;

/** Runs kubectl and returns its stdout, or fails with its exit code and output. */
export async function kubectlOkWith(kubectl: KubectlRunner, args: readonly string[], stdin?: string): Promise<string> {
  const result = await kubectl.run(args, stdin);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Polls kubectl until it succeeds and `accept` holds for its output; fails with the last output after `timeoutMs`. */
export async function untilKubectlWith(kubectl: KubectlRunner, args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const result = await kubectl.run(args);
    last = `${result.stdout}${result.stderr}`;
    if (result.code === 0 && accept(result.stdout)) return result.stdout;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last kubectl output: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, KUBECTL_POLL_MS));
  }
}

/** Kills every pod process the edge with this data dir left running (per its runtime's records). */
export async function killLeftoverPods(edgeDataDir: string): Promise<void> {
  const runtime = openProcessRuntime({ dataDir: join(edgeDataDir, 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) return;
  await runtime.value.scan();
  await runtime.value.killOrphans(() => false);
  await runtime.value.close();
}
