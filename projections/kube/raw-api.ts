// Raw JSON list and watch through @kubernetes/client-node: its typed clients turn objects into model
// classes that drop unknown fields and turn times into Dates, and the edge must receive objects as
// the API server wrote them (every field, its own time format), so requests go through client-node's
// own configuration, authentication and HTTP library, and bodies are read as JSON text.
import { HttpMethod, ServerConfiguration, Watch, createConfiguration, type KubeConfig } from '@kubernetes/client-node';
import { err, isJsonObject, ok, type JsonObject, type Result } from '../../kernel/index.js';

/** A list page as the API server sends it. */
export interface RawListPage {
  readonly items: readonly JsonObject[];
  readonly resourceVersion: string;
  readonly continueToken: string | null;
}

/** A failed request: the HTTP status (0 when none arrived) and the Status message or error text. */
export interface RawApiError {
  readonly status: number;
  readonly message: string;
}

/** A parsed JSON object: what JSON.parse made is JSON all the way down. */
const isParsedObject = (value: unknown): value is JsonObject => isJsonObject(value);

/** Objects per list page (the API server's default page bound is 500 too). */
export const LIST_PAGE_OBJECTS_MAX = 500;

/** GETs `path` (with query) and parses the body as a JSON object. */
export async function rawGet(kc: KubeConfig, pathAndQuery: string): Promise<Result<JsonObject, RawApiError>> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) return err({ status: 0, message: 'the kubeconfig has no current cluster' });
  try {
    const server = new ServerConfiguration<Record<string, string>>(cluster.server, {});
    const configuration = createConfiguration({ baseServer: server, authMethods: { default: kc } });
    const request = server.makeRequestContext(pathAndQuery, HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    await kc.applySecurityAuthentication(request);
    const response = await configuration.httpApi.send(request).toPromise();
    const text = await response.body.text();
    const parsed: unknown = text === '' ? null : JSON.parse(text);
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      const message = isJsonObject(parsed) && typeof parsed['message'] === 'string' ? parsed['message'] : `HTTP ${response.httpStatusCode}`;
      return err({ status: response.httpStatusCode, message });
    }
    return isParsedObject(parsed) ? ok(parsed) : err({ status: response.httpStatusCode, message: 'the response is not a JSON object' });
  } catch (error) {
    return err({ status: 0, message: (error as Error).message });
  }
}

/** One page of a list at `path` (e.g. `/api/v1/pods`). */
export async function rawListPage(kc: KubeConfig, path: string, continueToken: string | null): Promise<Result<RawListPage, RawApiError>> {
  const query = new URLSearchParams({ limit: String(LIST_PAGE_OBJECTS_MAX) });
  if (continueToken !== null) query.set('continue', continueToken);
  const body = await rawGet(kc, `${path}?${query.toString()}`);
  if (!body.ok) return body;
  const items = Array.isArray(body.value['items']) ? body.value['items'].filter(isParsedObject) : [];
  const metadata = isParsedObject(body.value['metadata']) ? body.value['metadata'] : {};
  const resourceVersion = typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
  const next = typeof metadata['continue'] === 'string' && metadata['continue'] !== '' ? metadata['continue'] : null;
  return ok({ items, resourceVersion, continueToken: next });
}

/** A watch event as the API server sends it; `ERROR` carries a Status (410 Gone: relist). */
export interface RawWatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: JsonObject;
}

/** A running watch; `stop` ends it without calling `done` with an error. */
export interface RawWatch {
  stop(): void;
}

/**
 * Watches `path` from `resourceVersion` with bookmarks, through client-node's Watch (raw JSON
 * events). `done` is called once when the watch ends: null for a clean end (the server's timeout),
 * else the error.
 */
export async function rawWatch(
  kc: KubeConfig,
  path: string,
  resourceVersion: string,
  onEvent: (event: RawWatchEvent) => void,
  done: (error: Error | null) => void,
): Promise<RawWatch> {
  const watch = new Watch(kc);
  let stopped = false;
  const controller = await watch.watch(
    path,
    { resourceVersion, allowWatchBookmarks: true },
    (type: string, object: unknown) => {
      if (stopped || !isParsedObject(object)) return;
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK' || type === 'ERROR') onEvent({ type, object });
    },
    (error: unknown) => {
      if (stopped) return;
      stopped = true;
      done(error === null || error === undefined ? null : error instanceof Error ? error : new Error(String(error)));
    },
  );
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      controller.abort();
    },
  };
}
