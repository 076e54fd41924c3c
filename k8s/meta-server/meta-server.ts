// KubeEdge's MetaServer for edgehive: a read-only Kubernetes API the edge agent serves on loopback
// from its local view, so local apps and kubectl can list, get and watch what the node holds while
// the cloud is unreachable. It is the embedded API server's KubeApi in read-only mode over an
// in-memory store that the edge rebuilds from its journal at every start.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { err, invariant, ok, systemClock, type Clock, type Result } from '../../kernel/index.js';
import { startHttpServer } from '../api/http-server.js';
import { KubeApi } from '../api/kube-api.js';
import { defaultPatcher, defaultValidator, openApiFor } from '../api/policies.js';
import { statusBody } from '../api/status.js';
import { openObjectStore } from '../store/object-store.js';
import { servedKindsOf } from './meta-object.parse.js';
import { StoreMetaView, type MetaView } from './meta-view.store.js';

/** KubeEdge's MetaServer port; the CLI's default. */
export const metaServerPortDefault = 10550;

/** Bounds of the view; the object count matches the objects one node may be sent (transport's bound). */
export const metaServerLimitsDefault = {
  objectsMax: 50_000,
  /** The largest stream frame the edge accepts: no held object is bigger. */
  objectBytesMax: 4 * 1024 * 1024,
  /** Open watches per client; every tokenless loopback client shares one budget. */
  watchesPerClientMax: 250,
  listPageMax: 500,
  /** Changes watches can resume from before a relist (410) is needed. */
  historyMax: 10_000,
  /** Bodies are read only to be refused; this keeps a large `kubectl apply` getting the read-only answer. */
  requestBytesMax: 3 * 1024 * 1024,
  bookmarkIntervalMs: 60_000,
} as const;

export interface MetaServerOptions {
  /** A loopback address (127.0.0.1 by default, or `localhost`, `::1`): the API has no authentication. */
  readonly host?: string;
  /** 0 (default) picks a free port; the CLI passes `metaServerPortDefault`. */
  readonly port?: number;
  /** Wall time for Table ages and the start of resourceVersions. */
  readonly clock?: Clock;
  readonly objectsMax?: number;
  readonly objectBytesMax?: number;
  readonly watchesPerClientMax?: number;
  readonly listPageMax?: number;
  readonly historyMax?: number;
  readonly bookmarkIntervalMs?: number;
}

/**
 * A running MetaServer: `view` is what the edge feeds, `url` what local clients use
 * (`kubectl --server http://127.0.0.1:10550 get pods -A`).
 */
export interface MetaServer {
  readonly url: string;
  readonly port: number;
  readonly view: MetaView;
  /** Ends open watches, stops listening, drops the view. */
  close(): Promise<void>;
}

export type MetaServerStartError =
  | { readonly kind: 'HostNotLoopback'; readonly host: string }
  | { readonly kind: 'StoreFailed'; readonly detail: string }
  | { readonly kind: 'ListenFailed'; readonly host: string; readonly port: number; readonly detail: string };

/** One line for the CLI. */
export function describeMetaServerStartError(error: MetaServerStartError): string {
  switch (error.kind) {
    case 'HostNotLoopback':
      return `the MetaServer serves only loopback (it has no authentication and serves Secrets); ${error.host} is not a loopback address`;
    case 'StoreFailed':
      return `cannot open the MetaServer's store: ${error.detail}`;
    case 'ListenFailed':
      return `the MetaServer cannot listen on ${error.host}:${error.port}: ${error.detail}`;
  }
}

/** The message every refused write carries (kubectl prints it after `Error from server (MethodNotAllowed):`). */
export const metaServerReadOnlyWhy = "the edge's local API (MetaServer) is read-only: it serves get, list and watch of what the edge holds; make changes through the cloud's Kubernetes API";

/** Same as the embedded server's, so kubectl's dispatcher runs the same kubectl against both. */
const servedVersion = { major: '1', minor: '32', gitVersion: 'v1.32.4-edgehive' } as const;

/**
 * Versions start at the start time times this, so a restarted view (which begins empty) hands out
 * versions above any an earlier run handed out, unless it wrote this many per millisecond it ran
 * or the wall clock went back; clients holding older ones get 410 Expired and relist.
 */
const versionsPerMillisecond = 1000;

export const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Logs, exec, attach and port-forward need a running pod's streams, which a view of objects has none of. */
function refusePodStream(request: IncomingMessage, response: ServerResponse, subresource: string): void {
  request.resume();
  const text = JSON.stringify(
    statusBody({ code: 404, reason: 'NotFound', message: `pods/${subresource} is not served by the edge's local API (MetaServer), which serves stored objects only; ask the cloud's Kubernetes API`, details: { kind: 'pods' } }),
  );
  response.writeHead(404, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': String(Buffer.byteLength(text)) });
  response.end(text);
}

/**
 * Starts a MetaServer: plain HTTP on loopback without authentication, as KubeEdge's MetaServer
 * listens by default (anything on the host may read what it serves, Secrets included, which is why
 * only loopback hosts are accepted). A bearer token a client sends (an in-cluster app's service
 * account token) is ignored. Every write answers 405 MethodNotAllowed with a `Status` saying the API
 * is read-only; discovery lists only get, list and watch. The view starts empty: feed it with
 * `view.replaceAll` from the edge journal.
 *
 * @example
 * ```ts
 * const started = await startMetaServer({ port: metaServerPortDefault });
 * if (!started.ok) throw new Error(describeMetaServerStartError(started.error));
 * started.value.view.replaceAll(objectsFromJournal);
 * ```
 */
export async function startMetaServer(options: MetaServerOptions = {}): Promise<Result<MetaServer, MetaServerStartError>> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const limits = { ...metaServerLimitsDefault, ...definedOnly(options) };
  invariant(Number.isInteger(port) && port >= 0 && port <= 65_535, 'port is 0 (any free one) or a TCP port');
  if (!isLoopbackHost(host)) return err({ kind: 'HostNotLoopback', host });
  const clock = options.clock ?? systemClock;
  const store = openObjectStore(':memory:', { historyMax: limits.historyMax, synchronous: 'NORMAL', resourceVersionStart: Math.floor(clock.nowMs()) * versionsPerMillisecond });
  if (!store.ok) return err({ kind: 'StoreFailed', detail: `${store.error.kind}${'detail' in store.error ? ` (${store.error.detail})` : ''}` });
  let address = `${host}:${port}`;
  const api = new KubeApi({
    store: store.value,
    clock,
    // Never used: a read-only API creates nothing, validates and patches nothing.
    newUid: randomUUID,
    random: Math.random,
    validator: defaultValidator,
    patcher: defaultPatcher,
    // Served because `kubectl apply` reads OpenAPI before it writes; without it apply fails on that, not on the read-only answer.
    openApi: openApiFor(),
    get serverAddress() {
      return address;
    },
    version: servedVersion,
    limits: { listPageMax: limits.listPageMax, bookmarkIntervalMs: limits.bookmarkIntervalMs },
    bundledCrds: [],
    readOnly: { why: metaServerReadOnlyWhy },
  });
  const view = new StoreMetaView(store.value, servedKindsOf(() => api.registry.all()), { objectsMax: limits.objectsMax, objectBytesMax: limits.objectBytesMax });
  let server;
  try {
    server = await startHttpServer(api, {
      host,
      port,
      tokens: () => [],
      anonymous: true,
      tokensIgnored: true,
      bodyBytesMax: limits.requestBytesMax,
      watchesPerClientMax: limits.watchesPerClientMax,
      podStreams: refusePodStream,
    });
  } catch (error) {
    view.close();
    store.value.close();
    return err({ kind: 'ListenFailed', host, port, detail: (error as Error).message });
  }
  address = `${host}:${server.port}`;
  const running = server;
  return ok({
    url: `http://${host.includes(':') ? `[${host}]` : host}:${running.port}`,
    port: running.port,
    view,
    close: async () => {
      view.close();
      await running.close();
      store.value.close();
    },
  });
}

/** The numeric options that were given, so undefined never overrides a default. */
function definedOnly(options: MetaServerOptions): Partial<Record<keyof typeof metaServerLimitsDefault, number>> {
  const given: Partial<Record<keyof typeof metaServerLimitsDefault, number>> = {};
  for (const name of ['objectsMax', 'objectBytesMax', 'watchesPerClientMax', 'listPageMax', 'historyMax', 'bookmarkIntervalMs'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    invariant(Number.isInteger(value) && value >= 1, `${name} is a positive integer`);
    given[name] = value;
  }
  return given;
}
