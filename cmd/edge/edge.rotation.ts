// When the edge renews its node certificate: at a jittered moment of the window the certificate
// names (rotateAfter…rotateBefore, so a fleet joined on one day does not renew in one second), then
// again for the new certificate; a failed renewal is retried with bounded back-off. Clock, timers,
// randomness and the renewal itself come in as ports, so a unit spec drives it without waiting.
import { type Result, err, invariant } from '../../kernel/index.js';
import { nextRotationAtMs } from '../../transport/index.js';

/** The part of a certificate the schedule needs (NodeCredentials and JoinedNode both have it). */
export interface RotationWindow {
  readonly rotateAfterMs: number;
  readonly rotateBeforeMs: number;
  readonly notAfterMs: number;
}

export interface RotationPorts {
  nowMs(): number;
  /** A uniform draw in [0, 1). */
  random01(): number;
  /** Runs `fire` after `delayMs`; the returned function cancels it. */
  setTimer(fire: () => void, delayMs: number): () => void;
  /** Renews the certificate on disk and returns the new one's window. */
  renew(): Promise<Result<RotationWindow, { readonly message: string }>>;
}

export interface RotationEvents {
  /** A new certificate is on disk; connections opened from now on use it. */
  rotated(next: RotationWindow): void;
  failed(message: string, retryInMs: number): void;
}

/** setTimeout holds at most 2^31-1 ms (about 24.8 days); longer waits are taken in steps. */
export const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;
/** A failed renewal is retried after this, doubling up to the max: the cloud may be away for hours. */
export const ROTATION_RETRY_MS_MIN = 30_000;
export const ROTATION_RETRY_MS_MAX = 60 * 60 * 1000;

/**
 * Schedules rotations from `window` on until `stop()`. A renewal that resolves after stop() is ignored.
 * @example
 * const rotation = scheduleCertificateRotation(credentials, ports, { rotated: () => hub.dropConnection(), failed: report });
 * // on shutdown: rotation.stop();
 */
export function scheduleCertificateRotation(window: RotationWindow, ports: RotationPorts, events: RotationEvents): { stop(): void } {
  let cancel: () => void = () => undefined;
  let stopped = false;
  let retryMs = ROTATION_RETRY_MS_MIN;

  const waitUntil = (atMs: number, then: () => void): void => {
    const delayMs = Math.min(TIMER_DELAY_MS_MAX, Math.max(0, atMs - ports.nowMs()));
    cancel = ports.setTimer(() => (ports.nowMs() >= atMs ? then() : waitUntil(atMs, then)), delayMs);
  };
  const rotate = (): void => {
    const renewal = ports.renew().catch((error: unknown) => err({ message: error instanceof Error ? error.message : String(error) }));
    void renewal.then((renewed) => {
      if (stopped) return;
      if (renewed.ok) {
        retryMs = ROTATION_RETRY_MS_MIN;
        events.rotated(renewed.value);
        return plan(renewed.value);
      }
      const delayMs = retryMs;
      retryMs = Math.min(ROTATION_RETRY_MS_MAX, retryMs * 2);
      events.failed(renewed.error.message, delayMs);
      waitUntil(ports.nowMs() + delayMs, rotate);
    });
  };
  const plan = (next: RotationWindow): void => {
    invariant(next.rotateBeforeMs >= next.rotateAfterMs, 'a rotation window is ordered');
    waitUntil(nextRotationAtMs(next, ports.random01()), rotate);
  };

  plan(window);
  return {
    stop: () => {
      stopped = true;
      cancel();
    },
  };
}
