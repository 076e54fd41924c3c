// A reflector, as client-go and client-node's ListWatch have it: list a resource, then watch from the
// list's resourceVersion, resume after a watch ends, relist after 410 Gone, back off after errors.
// It emits the listed state whole (so a consumer can replace its view) and then each change.
import type { KubeConfig } from '@kubernetes/client-node';
import { Observable } from 'rxjs';
import { isJsonObject, type JsonObject } from '../../kernel/index.js';
import { rawListPage, rawWatch, type RawWatch, type RawWatchEvent } from './raw-api.js';

/** What a reflector tells its consumer. */
export type ReflectorEvent =
  /** The whole current state of the resource (at start, and after every relist): replace, don't merge. */
  | { readonly type: 'listed'; readonly objects: readonly JsonObject[]; readonly resourceVersion: string }
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: JsonObject; readonly resourceVersion: string };

export interface ReflectorOptions {
  /** First back-off after a failed list or watch; doubles up to retryDelayMsMax. */
  readonly retryDelayMsMin?: number;
  readonly retryDelayMsMax?: number;
  /** Called on each failure (for the log); the reflector retries on its own. */
  readonly onError?: (error: string) => void;
}

/** Pages one list may take before it is abandoned and retried (500 objects a page: 5 million objects). */
const LIST_PAGES_MAX = 10_000;

const resourceVersionOf = (object: JsonObject): string => {
  const metadata = object['metadata'];
  return isJsonObject(metadata) && typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
};

const statusCodeOf = (event: RawWatchEvent): number => (typeof event.object['code'] === 'number' ? event.object['code'] : 0);

/**
 * The list-then-watch stream of one resource path (`/api/v1/pods`). Cold: each subscription runs
 * its own reflector, and unsubscribing stops its watch and timers.
 */
export function reflect(kc: KubeConfig, path: string, options: ReflectorOptions = {}): Observable<ReflectorEvent> {
  const delayMin = options.retryDelayMsMin ?? 100;
  const delayMax = options.retryDelayMsMax ?? 5_000;
  return new Observable<ReflectorEvent>((subscriber) => {
    let closed = false;
    let watch: RawWatch | null = null;
    let timer: NodeJS.Timeout | undefined;
    let delay = delayMin;
    let resourceVersion = '';

    const retry = (error: string, next: () => void): void => {
      options.onError?.(`${path}: ${error}`);
      timer = setTimeout(next, delay);
      delay = Math.min(delayMax, delay * 2);
    };

    const list = async (): Promise<void> => {
      if (closed) return;
      const objects: JsonObject[] = [];
      let token: string | null = null;
      for (let page = 0; page < LIST_PAGES_MAX; page++) {
        const listed = await rawListPage(kc, path, token);
        if (closed) return;
        if (!listed.ok) return retry(`list failed: ${listed.error.message}`, () => void list());
        objects.push(...listed.value.items);
        resourceVersion = listed.value.resourceVersion;
        token = listed.value.continueToken;
        if (token === null) break;
      }
      subscriber.next({ type: 'listed', objects, resourceVersion });
      void startWatch();
    };

    const startWatch = async (): Promise<void> => {
      if (closed) return;
      let relist = false;
      watch = await rawWatch(
        kc,
        path,
        resourceVersion,
        (event) => {
          if (closed) return;
          if (event.type === 'ERROR') {
            // 410 Gone: the resourceVersion left the server's history; only a new list catches up.
            relist = statusCodeOf(event) === 410;
            watch?.stop();
            return relist ? void list() : retry(`watch error ${statusCodeOf(event)}`, () => void startWatch());
          }
          const version = resourceVersionOf(event.object);
          if (version !== '') resourceVersion = version;
          delay = delayMin;
          if (event.type !== 'BOOKMARK') subscriber.next({ type: event.type, object: event.object, resourceVersion });
        },
        (error) => {
          if (closed || relist) return;
          if (error === null) return void startWatch();
          const gone = (error as Error & { statusCode?: number }).statusCode === 410;
          return gone ? void list() : retry(`watch ended: ${error.message}`, () => void startWatch());
        },
      );
      if (closed) watch.stop();
    };

    void list();
    return () => {
      closed = true;
      clearTimeout(timer);
      watch?.stop();
    };
  });
}

/**
 * Keeps `into` in step with a reflector's events, keyed by `keyOf`: a list replaces it, a deletion
 * removes, anything else puts.
 */
export function applyReflected<T extends object>(into: Map<string, T>, event: ReflectorEvent, keyOf: (object: JsonObject) => string): void {
  if (event.type === 'listed') {
    into.clear();
    for (const object of event.objects) into.set(keyOf(object), object as unknown as T);
  } else if (event.type === 'DELETED') {
    into.delete(keyOf(event.object));
  } else {
    into.set(keyOf(event.object), event.object as unknown as T);
  }
}
