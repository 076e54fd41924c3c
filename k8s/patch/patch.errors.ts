// Why a patch could not be applied, as values, and the metav1.Status kube-apiserver answers for each.
//
// The kinds follow kube-apiserver v1.32 (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go):
// - a body that is not a patch (bad JSON, not an array of operations, a malformed directive) is
//   `errors.NewBadRequest` → 400 BadRequest;
// - a well-formed patch that does not apply (a JSON-patch `test` that fails, a path that does not
//   exist, lists of lists, content outside `$retainKeys`) is `NewGenericServerResponse(422, …)`
//   → 422 Invalid with the fixed message "the server rejected our request due to an error in our
//   request" and the detail in `details.causes[0].message`; older servers (≤1.13) answered 500 here;
// - every other strategic-merge-patch error (missing merge key, unknown `$patch` value, element
//   types that differ) is a plain Go error, which the handler turns into 500 with an empty reason;
// - more than 10 000 JSON-patch operations is 413 RequestEntityTooLarge.

import { assertNever } from '../../kernel/index.js';

/** A patch failure, by the HTTP answer kube-apiserver gives for it. */
export type PatchError =
  | { readonly kind: 'InvalidPatch'; readonly message: string }
  | { readonly kind: 'UnprocessablePatch'; readonly message: string }
  | { readonly kind: 'PatchFailed'; readonly message: string }
  | { readonly kind: 'PatchTooLarge'; readonly message: string };

/** The metav1.Status body (plus HTTP code) the server should answer with. */
export interface PatchErrorStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly details?: { readonly causes: readonly { readonly type?: string; readonly message: string; readonly field?: string }[] };
  readonly code: number;
}

/** Message kube-apiserver puts on every 422 built by NewGenericServerResponse. */
export const unprocessablePatchMessage = 'the server rejected our request due to an error in our request';

/**
 * Maps a patch error to the Status kube-apiserver sends.
 * @example
 * const status = patchErrorStatus({ kind: 'InvalidPatch', message: 'invalid JSON document' });
 * // status.code === 400, status.reason === 'BadRequest'
 */
export function patchErrorStatus(error: PatchError): PatchErrorStatus {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' } as const;
  switch (error.kind) {
    case 'InvalidPatch':
      return { ...base, message: error.message, reason: 'BadRequest', code: 400 };
    case 'UnprocessablePatch':
      return {
        ...base,
        message: unprocessablePatchMessage,
        reason: 'Invalid',
        details: { causes: [{ type: 'UnexpectedServerResponse', message: error.message }] },
        code: 422,
      };
    case 'PatchFailed':
      return { ...base, message: error.message, reason: '', code: 500 };
    case 'PatchTooLarge':
      return { ...base, message: error.message, reason: 'RequestEntityTooLarge', code: 413 };
    default:
      return assertNever(error);
  }
}
