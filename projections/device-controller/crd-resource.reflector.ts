// A reflector for a resource a cluster may not serve: the Device and DeviceModel CRDs exist on the
// embedded API server from its first start, but a real cluster (`--kubeconfig`) may lack them. The
// plain reflector retries a failed list forever and never emits `listed`, so whoever waits for every
// resource to be listed (EdgeController.synced) would wait forever. Here a 404 on the list counts as
// "listed, empty" (once), is logged once, and the path is probed again with back-off until the CRD
// appears; then the plain reflector takes over, and its first list replaces the empty one.
import type { KubeConfig } from '@kubernetes/client-node';
import { Observable, type Subscription } from 'rxjs';
import { rawGet } from '../kube/raw-api.js';
import { reflect, type ReflectorEvent, type ReflectorOptions } from '../kube/reflector.js';

/** What the absent-resource reflector may be given besides the plain reflector's options. */
export interface CrdReflectorOptions extends ReflectorOptions {
  /** Longest wait between two probes of a path that answered 404 (a CRD is installed rarely). */
  readonly absentRetryDelayMsMax?: number;
}

/** The default bound on the wait between probes of an absent resource. */
export const ABSENT_RETRY_DELAY_MS_MAX_DEFAULT = 30_000;

/**
 * Lists and watches `path` like `reflect`, except that a 404 (the resource is not served) emits an
 * empty `listed` once and keeps probing with back-off. Other failures back off without emitting, as
 * the plain reflector does. Cold, like `reflect`.
 * @example
 * reflectCrdResource(kc, '/apis/devices.kubeedge.io/v1beta1/devices', { onError: (e) => log.warn({ e }, 'watch') })
 */
export function reflectCrdResource(kc: KubeConfig, path: string, options: CrdReflectorOptions = {}): Observable<ReflectorEvent> {
  const delayMin = options.retryDelayMsMin ?? 100;
  // A server that fails backs off as the plain reflector does; one that says 404 is probed more rarely.
  const failedDelayMax = options.retryDelayMsMax ?? 5_000;
  const absentDelayMax = options.absentRetryDelayMsMax ?? ABSENT_RETRY_DELAY_MS_MAX_DEFAULT;
  return new Observable<ReflectorEvent>((subscriber) => {
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let inner: Subscription | undefined;
    let delay = delayMin;
    let reportedAbsent = false;

    const probe = async (): Promise<void> => {
      if (closed) return;
      const answer = await rawGet(kc, `${path}?limit=1`);
      if (closed) return;
      if (answer.ok) {
        inner = reflect(kc, path, options).subscribe(subscriber);
        return;
      }
      if (answer.error.status === 404 && !reportedAbsent) {
        reportedAbsent = true;
        options.onError?.(`${path}: not served (404; is the CRD installed?): treated as empty, probing again with back-off`);
        subscriber.next({ type: 'listed', objects: [], resourceVersion: '0' });
      } else if (answer.error.status !== 404) {
        options.onError?.(`${path}: probe failed: ${answer.error.message}`);
      }
      timer = setTimeout(() => void probe(), delay);
      delay = Math.min(answer.error.status === 404 ? absentDelayMax : failedDelayMax, delay * 2);
    };

    void probe();
    return () => {
      closed = true;
      clearTimeout(timer);
      inner?.unsubscribe();
    };
  });
}
