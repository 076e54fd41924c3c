// `edgehive cloud`: the cloud side. For now it runs the embedded Kubernetes API server (unless a
// real cluster is named with --kubeconfig) and prints how to reach it; the stream joins later.
import { startEmbeddedApiServer } from '../../k8s/index.js';

export interface CloudOptions {
  readonly dataDir: string;
  readonly kubeconfig?: string;
  readonly apiPort?: string;
  readonly insecure: boolean;
}

export interface CloudIo {
  out(line: string): void;
  err(line: string): void;
}

/** Resolves to the exit code once `stop` fires (or at once on a start-up error). */
export async function runCloud(options: CloudOptions, io: CloudIo, stop: AbortSignal): Promise<number> {
  if (options.kubeconfig !== undefined) {
    io.err('edgehive cloud: --kubeconfig (a real cluster) is accepted but the cloud reconcilers are not built yet; nothing to run');
    return 1;
  }
  const port = options.apiPort === undefined ? 0 : Number(options.apiPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`edgehive cloud: --api-port must be a port number, got '${options.apiPort ?? ''}'`);
    return 1;
  }
  const started = await startEmbeddedApiServer({ dataDir: options.dataDir, port, insecure: options.insecure });
  if (!started.ok) {
    io.err(`edgehive cloud: ${started.error}`);
    return 1;
  }
  const server = started.value;
  if (options.insecure) io.err('edgehive cloud: WARNING: --insecure serves the API over plain HTTP without authentication');
  io.out(`export KUBECONFIG=${server.kubeconfigPath}`);
  io.out(`Kubernetes API: ${server.url} (cluster ${server.clusterId})`);
  io.out('try: kubectl get namespaces; kubectl api-resources; kubectl get devices');
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  await server.close();
  return 0;
}
