// `edgehive status`: one screen of what KubeEdge leaves you to piece together — per edge node its
// Ready condition, whether its stream is linked, what is pending each way, its journal's size, and
// per device its twin at the edge beside the Device in the API. Reads only: the journals read-only,
// the API with the data dir's kubeconfig; an unreachable API still leaves the edges' facts printed.
import { join, resolve } from 'node:path';
import { formatStatusJson, formatStatusText } from './status.format.js';
import { loadKubeConfig, readApi } from './status.api.js';
import { discoverDataDir, readCloudJournal, readEdgeJournal } from './status.journals.js';
import { buildStatusReport, type ApiFacts } from './status.report.js';

export interface StatusOptions {
  readonly dataDir: string;
  readonly json: boolean;
}

export interface StatusIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Prints the status of the data dir; resolves to the exit code: 0 when it printed a status (the
 * API being unreachable included: that is a status, shown as such), 1 when the data dir holds no
 * cloud and no edge.
 */
export async function runStatus(options: StatusOptions, io: StatusIo, nowMs: () => number = Date.now): Promise<number> {
  const dataDir = resolve(options.dataDir);
  const layout = discoverDataDir(dataDir);
  if (layout.cloudDir === undefined && layout.edgeDirs.length === 0) {
    io.err(`edgehive status: no edgehive data in ${dataDir} (no kubeconfig or cloud/journal.db, no <edge>/edge/journal.db); start with \`edgehive up --data-dir ${options.dataDir}\``);
    return 1;
  }
  const edges = await Promise.all(layout.edgeDirs.map(readEdgeJournal));
  const cloud = layout.cloudDir === undefined ? undefined : await readCloudJournal(layout.cloudDir);
  const api = await apiFacts(layout.cloudDir, edges.map((edge) => edge.nodeName));
  const report = buildStatusReport({ dataDir, edges, cloud, api }, nowMs());
  if (options.json) io.out(formatStatusJson(report));
  else for (const line of formatStatusText(report)) io.out(line);
  return 0;
}

async function apiFacts(cloudDir: string | undefined, localNodes: readonly string[]): Promise<ApiFacts> {
  if (cloudDir === undefined) return { reachable: false, server: undefined, error: 'no cloud data dir here, so no kubeconfig' };
  const kubeconfig = join(cloudDir, 'kubeconfig');
  const kc = loadKubeConfig(kubeconfig);
  if (!kc.ok) return { reachable: false, server: undefined, error: kc.error };
  return readApi(kc.value, localNodes);
}
