// The embedded Kubernetes API server, assembled: SQLite storage in the data dir, the cluster CA and
// serving certificate, an admin bearer token, the kubeconfig that points kubectl at it, and KubeEdge's
// device CRDs installed at start. This is what `edgehive cloud` and `edgehive up` run when no
// `--kubeconfig` names a real cluster.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { err, ok, systemClock, type Clock, type Result } from '../kernel/index.js';
import { startHttpServer, type HttpServerOptions } from './api/http-server.js';
import { KubeApi, type ObjectValidator, type Patcher } from './api/kube-api.js';
import { openApiFor, defaultPatcher, defaultValidator, bundledCrds } from './api/policies.js';
import { openObjectStore } from './store/object-store.js';
import { ensureClusterPki, generateToken } from './tls/cluster-pki.js';
import { writeFileAtomic, SECRET_FILE_MODE } from './tls/atomic-file.fs.js';
import { writeKubeconfig } from './tls/kubeconfig.js';

export interface EmbeddedApiServerOptions {
  readonly dataDir: string;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Plain HTTP without credentials (kubectl never sends a token over plain HTTP). */
  readonly insecure?: boolean;
  readonly clock?: Clock;
  readonly bodyBytesMax?: number;
  readonly watchesPerClientMax?: number;
  readonly listPageMax?: number;
  readonly historyMax?: number;
  readonly bookmarkIntervalMs?: number;
  readonly validator?: ObjectValidator;
  readonly patcher?: Patcher;
  /** Serves pods' log/exec/attach/portforward (the edge fills it in); without it they answer 503. */
  readonly podStreams?: HttpServerOptions['podStreams'];
  /** Serves exec/attach upgrades (the edge fills it in); without it they answer 503. */
  readonly podUpgrades?: HttpServerOptions['podUpgrades'];
  /** Serves the node proxy path `/api/v1/nodes/<node>:<port>/proxy/…` (the service bus); without it that answers 503. */
  readonly nodeProxy?: HttpServerOptions['nodeProxy'];
}

export interface EmbeddedApiServer {
  readonly url: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly token: string;
  /** The CA that signed the serving certificate (undefined with --insecure). */
  readonly caPem: string | undefined;
  /** The uid of kube-system: the stream's clusterId. */
  readonly clusterId: string;
  readonly api: KubeApi;
  close(): Promise<void>;
}

/** Upstream's default request body limit (3 MiB). */
export const bodyBytesMaxDefault = 3 * 1024 * 1024;

/** The admin token, made once and kept in the data dir (mode 0600). */
async function adminToken(path: string): Promise<string> {
  if (existsSync(path)) {
    const stored = readFileSync(path, 'utf8').trim();
    if (stored !== '') return stored;
  }
  const token = generateToken();
  await writeFileAtomic(path, `${token}\n`, { mode: SECRET_FILE_MODE });
  return token;
}

export async function startEmbeddedApiServer(options: EmbeddedApiServerOptions): Promise<Result<EmbeddedApiServer, string>> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return err(`cannot create the data dir ${dataDir}: ${(error as Error).message}`);
  }
  const storePath = join(dataDir, 'apiserver.db');
  const store = openObjectStore(storePath, { ...(options.historyMax === undefined ? {} : { historyMax: options.historyMax }) });
  if (!store.ok) return err(`cannot open ${storePath}: ${store.error.kind}${'detail' in store.error ? ` (${store.error.detail})` : ''}`);
  let tls: { cert: string; key: string; caPem: string } | undefined;
  if (options.insecure !== true) {
    const pki = await ensureClusterPki(join(dataDir, 'pki'), { hosts: [host, 'localhost', '127.0.0.1'].filter((h, i, all) => all.indexOf(h) === i) });
    if (!pki.ok) {
      store.value.close();
      return err(pki.error.message);
    }
    tls = { cert: pki.value.serverCertPem, key: pki.value.serverKeyPem, caPem: pki.value.caPem };
  }
  const token = await adminToken(join(dataDir, 'admin.token'));
  const clock = options.clock ?? systemClock;
  const crds = bundledCrds();
  if (!crds.ok) {
    store.value.close();
    return err(crds.error);
  }
  let address = `${host}:0`;
  const api = new KubeApi({
    store: store.value,
    clock,
    newUid: randomUUID,
    random: Math.random,
    validator: options.validator ?? defaultValidator,
    patcher: options.patcher ?? defaultPatcher,
    openApi: openApiFor(),
    get serverAddress() {
      return address;
    },
    version: { major: '1', minor: '32', gitVersion: 'v1.32.4-edgehive' },
    limits: { listPageMax: options.listPageMax ?? 500, bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000 },
    bundledCrds: crds.value,
  });
  const booted = api.bootstrap();
  if (!booted.ok) {
    store.value.close();
    return err(booted.error);
  }
  let server;
  try {
    server = await startHttpServer(api, {
      host,
      port: options.port ?? 0,
      ...(tls === undefined ? {} : { tls: { cert: tls.cert, key: tls.key } }),
      tokens: () => [token],
      anonymous: options.insecure === true,
      bodyBytesMax: options.bodyBytesMax ?? bodyBytesMaxDefault,
      watchesPerClientMax: options.watchesPerClientMax ?? 100,
      ...(options.podStreams === undefined ? {} : { podStreams: options.podStreams }),
      ...(options.podUpgrades === undefined ? {} : { podUpgrades: options.podUpgrades }),
      ...(options.nodeProxy === undefined ? {} : { nodeProxy: options.nodeProxy }),
    });
  } catch (error) {
    store.value.close();
    return err(`cannot listen on ${host}:${options.port ?? 0}: ${(error as Error).message}`);
  }
  address = `${host}:${server.port}`;
  const kubeconfigPath = join(dataDir, 'kubeconfig');
  const written = await writeKubeconfig(kubeconfigPath, { server: server.url, token, ...(tls === undefined ? { insecureSkipTlsVerify: true } : { caPem: tls.caPem }) });
  if (!written.ok) {
    await server.close();
    store.value.close();
    return err(written.error.message);
  }
  return ok({
    url: server.url,
    port: server.port,
    kubeconfigPath,
    token,
    caPem: tls?.caPem,
    clusterId: booted.value.clusterId,
    api,
    close: async () => {
      await server.close();
      store.value.close();
    },
  });
}
