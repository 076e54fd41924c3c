// JSON patch (RFC 6902, `application/json-patch+json`) through fast-json-patch, with failures as
// values shaped like kube-apiserver's answers.
//
// kube-apiserver v1.32 (handlers/patch.go, applyJSPatch): a body that does not decode as a list of
// operations is 400 BadRequest; more than 10 000 operations is 413; any failure while applying (a
// `test` whose value differs, a path that does not exist, an unknown `op`, an index out of bounds)
// is 422 Invalid "the server rejected our request due to an error in our request", with the
// json-patch library's message as the cause. The messages below imitate evanphx/json-patch (the
// library upstream uses) closely but not to the letter.

import fastJsonPatch from 'fast-json-patch';
import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import type { PatchError } from './patch.errors.js';

/** kube-apiserver refuses longer patches (maxJSONPatchOperations). */
export const jsonPatchOperationsMax = 10_000;

type Operation = fastJsonPatch.Operation;

/**
 * Applies an RFC 6902 patch (already parsed from JSON) to an object; the input is not modified.
 * @example
 * applyJsonPatch({ spec: { replicas: 1 } }, [{ op: 'replace', path: '/spec/replicas', value: 3 }])
 * // → ok({ spec: { replicas: 3 } })
 */
export function applyJsonPatch(original: JsonObject, patch: JsonValue): Result<JsonValue, PatchError> {
  if (!Array.isArray(patch)) {
    return err({ kind: 'InvalidPatch', message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch' });
  }
  if (patch.length > jsonPatchOperationsMax) {
    return err({
      kind: 'PatchTooLarge',
      message: `Request entity too large: The allowed maximum operations in a JSON patch is ${jsonPatchOperationsMax}, got ${patch.length}`,
    });
  }
  const operations = patch as unknown as Operation[];
  try {
    const result = fastJsonPatch.applyPatch(fastJsonPatch.deepClone(original) as object, operations, true, true);
    return ok(result.newDocument as JsonValue);
  } catch (e) {
    if (e instanceof fastJsonPatch.JsonPatchError) return err({ kind: 'UnprocessablePatch', message: describeFailure(e) });
    throw e;
  }
}

/** Rewords fast-json-patch's error names the way evanphx/json-patch words them. */
function describeFailure(error: fastJsonPatch.JsonPatchError): string {
  const op = error.operation as Partial<Operation> & { from?: string } | undefined;
  const path = op?.path ?? '';
  switch (error.name) {
    case 'TEST_OPERATION_FAILED':
      return `testing value ${path} failed: test failed`;
    case 'OPERATION_PATH_UNRESOLVABLE':
      return `${op?.op ?? 'patch'} operation does not apply: doc is missing path: "${path}": missing value`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `${op?.op ?? 'patch'} operation does not apply: doc is missing from path: "${op?.from ?? ''}": missing value`;
    case 'OPERATION_PATH_CANNOT_ADD':
      return `add operation does not apply: doc is missing path: "${path}": missing value`;
    case 'OPERATION_OP_INVALID':
      return `Unexpected kind: ${String(op?.op)}`;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      return `unable to access invalid index: ${path}: invalid index referenced`;
    default:
      return `${error.name}: ${error.message.split('\n')[0] ?? ''}`;
  }
}
