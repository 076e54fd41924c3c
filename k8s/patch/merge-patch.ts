// JSON merge patch (RFC 7386, `application/merge-patch+json`): objects merge key by key, null
// deletes a key, anything else replaces the target.

import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { cloneJson, getKey, isJsonMap, setKey, type Json, type JsonMap } from './patch.json.js';
import type { PatchError } from './patch.errors.js';

/**
 * Applies an RFC 7386 merge patch to any JSON value; the inputs are not modified.
 * @example
 * mergePatch({ a: 'b', c: { d: 'e' } }, { a: 'z', c: { d: null } }) // → { a: 'z', c: {} }
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  return merge(target === undefined ? undefined : cloneJson(target), cloneJson(patch));
}

function merge(target: Json | undefined, patch: Json): Json {
  if (!isJsonMap(patch)) return patch;
  const result: JsonMap = isJsonMap(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setKey(result, key, merge(getKey(result, key), value));
  }
  return result;
}

/**
 * Applies a merge patch to a stored object, as kube-apiserver does for
 * `application/merge-patch+json`: a patch that is not a JSON object is a 400 ("Invalid JSON Patch"
 * is what evanphx/json-patch, used upstream, calls it).
 */
export function mergePatchObject(original: JsonObject, patch: JsonValue): Result<JsonObject, PatchError> {
  if (!isJsonMap(patch as Json)) return err({ kind: 'InvalidPatch', message: 'Invalid JSON Patch' });
  return ok(mergePatch(original, patch) as JsonObject);
}
