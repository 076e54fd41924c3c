// Lease locking as pure decisions, the rules of client-go's leaderelection: given the Lease as read,
// who I am and my monotonic now, acquire it, renew it, wait for it, or give it up. A Lease held by
// another is judged expired by the local time at which its current version was first seen, never by
// comparing its renewTime with the local clock (DESIGN.md: no host compares another host's timestamps
// with its own clock); renewTime is only written, for people to read.
import { err, ok, type Result } from '../../kernel/index.js';

/** How long a Lease lasts and how its holder keeps it; all on the monotonic clock of each process. */
export interface LeaseTiming {
  /** How long a contender waits, from when it first saw a Lease version, before taking it over. */
  readonly leaseDurationMs: number;
  /** The holder gives the Lease up when its last successful renewal is older than this (< leaseDurationMs). */
  readonly renewDeadlineMs: number;
  /** How often the holder renews and a contender retries. */
  readonly retryPeriodMs: number;
}

/** kube-controller-manager's defaults (--leader-elect-lease-duration 15 s, -renew-deadline 10 s, -retry-period 2 s). */
export const LEASE_TIMING_DEFAULT: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Lease timings above this are a configuration mistake, not a choice. */
export const LEASE_DURATION_MS_MAX = 3_600_000;

/**
 * Checks that a holder gives up before a contender may take over (renewDeadline < leaseDuration) and
 * renews at least once before its deadline (retryPeriod < renewDeadline), as client-go insists.
 */
export function validateLeaseTiming(timing: LeaseTiming): Result<LeaseTiming, string> {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timing;
  if (!Number.isFinite(retryPeriodMs) || retryPeriodMs <= 0) return err(`retryPeriod must be positive, got ${retryPeriodMs} ms`);
  if (!(renewDeadlineMs > retryPeriodMs)) return err(`renewDeadline (${renewDeadlineMs} ms) must be longer than retryPeriod (${retryPeriodMs} ms)`);
  if (!(leaseDurationMs > renewDeadlineMs)) return err(`leaseDuration (${leaseDurationMs} ms) must be longer than renewDeadline (${renewDeadlineMs} ms)`);
  if (!(leaseDurationMs <= LEASE_DURATION_MS_MAX)) return err(`leaseDuration (${leaseDurationMs} ms) is over ${LEASE_DURATION_MS_MAX} ms`);
  return ok(timing);
}

/** The fields of a coordination.k8s.io/v1 Lease that locking reads. */
export interface LeaseRecord {
  /** '' when nobody holds it (never set, or released). */
  readonly holderIdentity: string;
  /** What the holder declared; undefined when the Lease carries none. */
  readonly leaseDurationSeconds: number | undefined;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
  readonly leaseTransitions: number;
  readonly resourceVersion: string;
}

/** The spec a holder writes. */
export interface LeaseSpec {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date;
  readonly renewTime: Date;
  readonly leaseTransitions: number;
}

/** When this process first saw a version of a Lease, on its monotonic clock. */
export interface LeaseObservation {
  readonly version: string;
  readonly atMs: number;
}

/** Everything one decision needs; `wallNow` only stamps what is written, it is never compared. */
export interface LeaseSituation {
  /** The Lease as just read; undefined when it does not exist. */
  readonly lease: LeaseRecord | undefined;
  /** When this process first saw the Lease's current version (monotonic ms); unused when absent. */
  readonly observedAtMs: number;
  readonly identity: string;
  /** Monotonic now. */
  readonly nowMs: number;
  readonly wallNow: Date;
  /** Monotonic time my last successful write of the Lease was sent, while I hold it; undefined when I do not. */
  readonly renewedAtMs: number | undefined;
  readonly timing: LeaseTiming;
}

/** Why a holder gives the Lease up. */
export type LeaseLostReason = 'renewDeadlinePassed' | 'takenOver';

/** What to do about the Lease. */
export type LeaseDecision =
  /** Write `spec` as a new term: create the Lease, or replace it at `resourceVersion` (the precondition). */
  | { readonly kind: 'acquire'; readonly why: 'absent' | 'released' | 'expired' | 'mine'; readonly resourceVersion: string | undefined; readonly spec: LeaseSpec }
  /** Write `spec` at `resourceVersion`, keeping the term. */
  | { readonly kind: 'renew'; readonly resourceVersion: string; readonly spec: LeaseSpec }
  /** Another holds it and it has not expired on my clock: read again after `retryAfterMs`. */
  | { readonly kind: 'wait'; readonly holder: string; readonly expiresInMs: number; readonly retryAfterMs: number }
  /** I held it and must stop acting as its holder now. */
  | { readonly kind: 'lost'; readonly reason: LeaseLostReason; readonly holder: string };

/** What tells one version of a Lease from the next: any write moves its resourceVersion. */
const versionOf = (lease: LeaseRecord): string => `${lease.resourceVersion}/${lease.holderIdentity}/${lease.renewTime?.getTime() ?? ''}`;

/**
 * The observation after reading `lease` at monotonic `nowMs`: kept while the Lease is unchanged,
 * restarted at `nowMs` when it changed (client-go's observedTime).
 */
export function observeLease(previous: LeaseObservation | undefined, lease: LeaseRecord | undefined, nowMs: number): LeaseObservation | undefined {
  if (lease === undefined) return undefined;
  const version = versionOf(lease);
  return previous !== undefined && previous.version === version ? previous : { version, atMs: nowMs };
}

/** Whole seconds, rounded up so that a contender never waits less than the holder meant. */
export const leaseDurationSecondsOf = (timing: LeaseTiming): number => Math.ceil(timing.leaseDurationMs / 1000);

/** How long a contender waits on `lease`: what its holder declared, else its own leaseDuration. */
const expiryMsOf = (lease: LeaseRecord, timing: LeaseTiming): number => {
  const declared = lease.leaseDurationSeconds;
  return declared !== undefined && Number.isInteger(declared) && declared > 0 ? declared * 1000 : timing.leaseDurationMs;
};

/** True when a holder's last successful renewal, sent at `renewedAtMs`, is older than renewDeadline. */
export const renewalOverdue = (renewedAtMs: number, nowMs: number, timing: LeaseTiming): boolean => nowMs - renewedAtMs > timing.renewDeadlineMs;

const newTerm = (s: LeaseSituation, leaseTransitions: number): LeaseSpec => ({
  holderIdentity: s.identity,
  leaseDurationSeconds: leaseDurationSecondsOf(s.timing),
  acquireTime: s.wallNow,
  renewTime: s.wallNow,
  leaseTransitions,
});

/** Decides what to do about the Lease (client-go's tryAcquireOrRenew, plus the renew deadline). */
export function decideLease(s: LeaseSituation): LeaseDecision {
  const { lease, identity, nowMs, renewedAtMs, timing } = s;
  const holding = renewedAtMs !== undefined;
  if (holding && renewalOverdue(renewedAtMs, nowMs, timing)) return { kind: 'lost', reason: 'renewDeadlinePassed', holder: lease?.holderIdentity ?? '' };
  if (lease === undefined) return { kind: 'acquire', why: 'absent', resourceVersion: undefined, spec: newTerm(s, 0) };
  if (lease.holderIdentity === identity) {
    if (holding) return { kind: 'renew', resourceVersion: lease.resourceVersion, spec: { ...newTerm(s, lease.leaseTransitions), acquireTime: lease.acquireTime ?? s.wallNow } };
    // Still mine from an earlier term (nobody took it since): a new term, but not a transition.
    return { kind: 'acquire', why: 'mine', resourceVersion: lease.resourceVersion, spec: newTerm(s, lease.leaseTransitions) };
  }
  if (holding) return { kind: 'lost', reason: 'takenOver', holder: lease.holderIdentity };
  if (lease.holderIdentity === '') return { kind: 'acquire', why: 'released', resourceVersion: lease.resourceVersion, spec: newTerm(s, lease.leaseTransitions + 1) };
  const expiresInMs = s.observedAtMs + expiryMsOf(lease, timing) - nowMs;
  if (expiresInMs <= 0) return { kind: 'acquire', why: 'expired', resourceVersion: lease.resourceVersion, spec: newTerm(s, lease.leaseTransitions + 1) };
  return { kind: 'wait', holder: lease.holderIdentity, expiresInMs, retryAfterMs: Math.min(timing.retryPeriodMs, expiresInMs) };
}

/**
 * What a holder writes to give the Lease up at once (client-go's ReleaseOnCancel): no holder, so a
 * contender takes it on its next read. Undefined when the Lease is not mine to release.
 */
export function releaseSpec(lease: LeaseRecord | undefined, identity: string, wallNow: Date): LeaseSpec | undefined {
  if (lease === undefined || lease.holderIdentity !== identity) return undefined;
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wallNow, renewTime: wallNow, leaseTransitions: lease.leaseTransitions };
}
