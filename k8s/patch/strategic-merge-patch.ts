// Strategic merge patch (`application/strategic-merge-patch+json`), the patch format of kubectl
// (client-side apply, label, annotate, scale, patch): JSON merge patch plus per-field strategies
// from the vendored patch metadata, re-expressed from apimachinery's pkg/util/strategicpatch
// (mergeMap, mergeSlice, mergePatchIntoOriginal, normalizeElementOrder).
//
// What it does, as upstream:
// - maps merge key by key; null deletes a key; lists without a strategy are replaced;
// - lists with `patchStrategy: merge` merge by `patchMergeKey` (lists of objects) or as a union
//   (lists of primitives); new items come first, then the original's items, unless
//   `$setElementOrder/<field>` says otherwise (patch order > `$setElementOrder` > live order);
// - `$patch: replace | delete` in a map, `$patch: replace | delete` items in a merge list,
//   `$retainKeys` (clears keys not listed), `$deleteFromPrimitiveList/<field>`;
// - `$patch: merge` is refused as upstream refuses it ("unknown patch type" in a map, "merging
//   lists cannot yet be specified in the patch" in a list), both 500s there;
// - fields the type graph does not know (custom resources, newer fields) merge like JSON merge patch.
//
// Where it differs on purpose, because upstream stores typed objects and this server stores JSON:
// a patch value for a key absent from the original (or of another JSON type) is applied to an
// empty value instead of being copied raw, so directives and nulls inside it never reach storage
// (upstream's typed decode drops them too; only `$patch: delete` inside such a new value differs:
// it yields an empty value here). Replaced lists have their null fields dropped for the same reason.
// Keys are processed in patch order, `$deleteFromPrimitiveList/…` keys included (Go iterates a map
// in random order).

import { err, ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { PatchError } from './patch.errors.js';
import { cloneJsonMap, formatGo, getKey, hasKey, isJsonMap, jsonEqual, setKey, type Json, type JsonMap } from './patch.json.js';
import { childNode, itemsNode, patchMetaOf, typeNode, type SchemaNode } from './patch.schema.js';

type Step<T> = Result<T, PatchError>;
type ElementKind = 'none' | 'map' | 'list' | 'string' | 'number' | 'boolean' | 'null';

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';

const failed = (message: string): Step<never> => err({ kind: 'PatchFailed', message });
const invalid = (message: string): Step<never> => err({ kind: 'InvalidPatch', message });
const noMergeKey = (item: Json | undefined, key: string): Step<never> =>
  failed(`map: ${formatGo(item)} does not contain declared merge key: ${key}`);

/**
 * Applies a strategic merge patch to an object of a built-in type; the inputs are not modified.
 * `typeName` is client-node's model name (`builtinKindType('apps/v1', 'Deployment')` → `V1Deployment`).
 * @example
 * strategicMergePatch(pod, { spec: { containers: [{ name: 'nginx', image: 'nginx:1.16' }] } }, 'V1Pod')
 * // → ok(pod with only nginx's image changed; other containers kept)
 */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, typeName: string): Result<JsonObject, PatchError> {
  if (!isJsonMap(patch as Json) || !isJsonMap(original as Json)) return invalid('invalid JSON document');
  return mergeMap(cloneJsonMap(original), cloneJsonMap(patch), typeNode(typeName));
}

function mergeMap(original: JsonMap, patch: JsonMap, node: SchemaNode): Step<JsonMap> {
  if (hasKey(patch, directiveMarker)) return handleMapDirective(patch, node);
  const retained = applyRetainKeys(original, patch);
  if (!retained.ok) return retained;
  const ordered = mergeOrderedLists(original, patch, node);
  if (!ordered.ok) return ordered;
  for (const [key, patchValue] of Object.entries(patch)) {
    const merged = mergeField(original, key, patchValue, node);
    if (!merged.ok) return merged;
  }
  return ok(original);
}

/** `$patch` in a map: replace it with the patch, or delete it (an empty map, as upstream). */
function handleMapDirective(patch: JsonMap, node: SchemaNode): Step<JsonMap> {
  const directive = patch[directiveMarker];
  if (directive === 'delete') return ok({});
  if (directive !== 'replace') return failed(`unknown patch type: ${formatGo(directive)} in map: ${formatGo(patch)}`);
  const rest: JsonMap = {};
  for (const [key, value] of Object.entries(patch)) if (key !== directiveMarker) setKey(rest, key, value);
  return mergeMap({}, rest, node);
}

/** `$retainKeys`: every other patch key must be listed; original keys not listed are cleared. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): Step<null> {
  if (!hasKey(patch, retainKeysDirective)) return ok(null);
  const retain = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(retain)) return invalid('invalid patch format of retainKeys');
  const listed = (key: string): boolean => retain.some((k) => k === key);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(deleteFromPrimitiveListPrefix) || key.startsWith(setElementOrderPrefix)) continue;
    if (!listed(key)) return invalid('invalid patch format of retainKeys');
  }
  for (const key of Object.keys(original)) if (!listed(key)) delete original[key];
  return ok(null);
}

/** The field name after `<prefix>/`, or the 400 upstream answers for a malformed directive key. */
function directiveTarget(key: string, prefix: string): Step<string> {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    return invalid(prefix === setElementOrderPrefix ? 'invalid patch format of setElementOrder list' : 'invalid patch format of primitive list');
  }
  return ok(key.slice(slash + 1));
}

/** One key of the patch into the original (upstream's loop body in mergeMap). */
function mergeField(original: JsonMap, patchKey: string, patchValue: Json, node: SchemaNode): Step<null> {
  const isDeleteList = patchKey.startsWith(deleteFromPrimitiveListPrefix);
  let key = patchKey;
  if (isDeleteList) {
    const target = directiveTarget(patchKey, deleteFromPrimitiveListPrefix);
    if (!target.ok) return target;
    key = target.value;
  }
  if (patchValue === null) {
    delete original[key];
    return ok(null);
  }
  const current = getKey(original, key);
  if (current === undefined || elementKind(current) !== elementKind(patchValue)) {
    if (isDeleteList) return ok(null);
    const fresh = materialize(patchValue, node, key);
    if (!fresh.ok) return fresh;
    setKey(original, key, fresh.value);
    return ok(null);
  }
  const merged = mergeValues(current, patchValue, node, key, isDeleteList);
  if (!merged.ok) return merged;
  setKey(original, key, merged.value);
  return ok(null);
}

/** Both values present and of the same JSON type: recurse by the field's strategy. */
function mergeValues(current: Json, patchValue: Json, node: SchemaNode, key: string, isDeleteList: boolean): Step<Json> {
  const meta = patchMetaOf(node, key);
  const strategy = mainStrategy(meta?.strategy);
  const child = childNode(node, key);
  if (isJsonMap(current) && isJsonMap(patchValue)) {
    return strategy === 'replace' ? materialize(patchValue, node, key) : mergeMap(current, patchValue, child);
  }
  if (Array.isArray(current) && Array.isArray(patchValue)) {
    if (strategy !== 'merge') return ok(isDeleteList ? patchValue : discardNulls(patchValue));
    return mergeSlice(current, patchValue, itemsNode(child), meta?.mergeKey ?? '', isDeleteList);
  }
  return ok(patchValue);
}

/** `merge,retainKeys` merges; `retainKeys` alone only shapes the patch kubectl computes. */
function mainStrategy(strategy: string | undefined): string {
  if (strategy === undefined) return '';
  return strategy.split(',').find((s) => s !== 'retainKeys') ?? '';
}

/** A patch value for a key the original lacks: applied to an empty value of its JSON type. */
function materialize(value: Json, node: SchemaNode, key: string): Step<Json> {
  const meta = patchMetaOf(node, key);
  const strategy = mainStrategy(meta?.strategy);
  const child = childNode(node, key);
  if (isJsonMap(value)) return strategy === 'replace' ? ok(discardNulls(value)) : mergeMap({}, value, child);
  if (Array.isArray(value)) {
    return strategy === 'merge' ? mergeSlice([], value, itemsNode(child), meta?.mergeKey ?? '', false) : ok(discardNulls(value));
  }
  return ok(value);
}

/** Drops null-valued keys at any depth, as the typed decode upstream does for pointer fields. */
function discardNulls<T extends Json>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => discardNulls(v)) as T;
  if (!isJsonMap(value)) return value;
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) setKey(out, k, discardNulls(v));
  return out as T;
}

function elementKind(value: Json): ElementKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (isJsonMap(value)) return 'map';
  return typeof value as 'string' | 'number' | 'boolean';
}

/** The common kind of the elements of some lists; lists of lists and mixed kinds are errors upstream. */
function sliceElementKind(...lists: readonly Json[][]): Step<ElementKind> {
  let kind: ElementKind = 'none';
  for (const list of lists) {
    for (const item of list) {
      const k = elementKind(item);
      if (kind === 'none') {
        if (k === 'list') return err({ kind: 'UnprocessablePatch', message: 'lists of lists are not supported' });
        kind = k;
      } else if (k !== kind) {
        return failed(`list element types are not identical: ${formatGo(lists as Json[][])}`);
      }
    }
  }
  return ok(kind);
}

/** A merge list: union of primitives, or objects merged by key; then the order is normalized. */
function mergeSlice(original: Json[], patch: Json[], items: SchemaNode, mergeKey: string, isDeleteList: boolean): Step<Json[]> {
  if (original.length === 0 && patch.length === 0) return ok(original);
  const kind = sliceElementKind(original, patch);
  if (!kind.ok) return kind;
  if (kind.value !== 'map') {
    if (isDeleteList) return ok(original.filter((v) => !patch.some((d) => jsonEqual(d, v))));
    const merged = dedupe([...original, ...patch]);
    const [patchItems, serverOnly] = partitionPrimitives(merged, patch);
    return normalizeElementOrder(patchItems, serverOnly, patch, original, '', kind.value);
  }
  if (mergeKey === '') return failed('cannot merge lists without merge key for type struct');
  const special = applySpecialElements(original, patch, mergeKey);
  if (!special.ok) return special;
  const { remaining, patchItems: plain } = special.value;
  const merged = mergeByKey([...remaining], plain, mergeKey, items);
  if (!merged.ok) return merged;
  const parts = partitionMaps(merged.value, plain, mergeKey);
  if (!parts.ok) return parts;
  return normalizeElementOrder(parts.value[0], parts.value[1], plain, remaining, mergeKey, 'map');
}

function dedupe(values: Json[]): Json[] {
  const out: Json[] = [];
  for (const v of values) if (!out.some((o) => jsonEqual(o, v))) out.push(v);
  return out;
}

/** `$patch: delete` items remove matches; a `$patch: replace` item makes the other items the list. */
function applySpecialElements(original: Json[], patch: Json[], mergeKey: string): Step<{ remaining: Json[]; patchItems: Json[] }> {
  let remaining = original;
  let replace = false;
  const plain: Json[] = [];
  for (const item of patch) {
    const map = item as JsonMap;
    if (!hasKey(map, directiveMarker)) {
      plain.push(item);
      continue;
    }
    const directive = map[directiveMarker];
    if (directive === 'delete') {
      if (!hasKey(map, mergeKey)) return noMergeKey(item, mergeKey);
      remaining = remaining.filter((o) => !(isJsonMap(o) && hasKey(o, mergeKey) && jsonEqual(o[mergeKey], map[mergeKey])));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      return failed('merging lists cannot yet be specified in the patch');
    } else {
      return failed(`unknown patch type: ${formatGo(directive)} in map: ${formatGo(item)}`);
    }
  }
  return ok(replace ? { remaining: plain, patchItems: [] } : { remaining, patchItems: plain });
}

/** Merges each patch item into the original item with the same key, or appends it. */
function mergeByKey(original: Json[], patch: Json[], mergeKey: string, items: SchemaNode): Step<Json[]> {
  for (const item of patch) {
    const map = item as JsonMap;
    if (!hasKey(map, mergeKey)) return noMergeKey(item, mergeKey);
    const index = original.findIndex((o) => isJsonMap(o) && hasKey(o, mergeKey) && jsonEqual(o[mergeKey], map[mergeKey]));
    const merged = mergeMap(index >= 0 ? (original[index] as JsonMap) : {}, map, items);
    if (!merged.ok) return merged;
    if (index >= 0) original[index] = merged.value;
    else original.push(merged.value);
  }
  return ok(original);
}

function partitionPrimitives(values: Json[], by: Json[]): [Json[], Json[]] {
  const inPatch = values.filter((v) => by.some((b) => jsonEqual(b, v)));
  const serverOnly = values.filter((v) => !by.some((b) => jsonEqual(b, v)));
  return [inPatch, serverOnly];
}

function partitionMaps(values: Json[], by: Json[], mergeKey: string): Step<[Json[], Json[]]> {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const value of values) {
    if (!isJsonMap(value) || !hasKey(value, mergeKey)) return noMergeKey(value, mergeKey);
    const found = by.some((b) => isJsonMap(b) && jsonEqual(b[mergeKey], value[mergeKey]));
    (found ? inPatch : serverOnly).push(value);
  }
  return ok([inPatch, serverOnly]);
}

/** Position of a value (by merge key for objects) in a list, or -1. */
function indexIn(list: readonly Json[], value: Json, mergeKey: string): number {
  const probe = (v: Json): Json | undefined => (mergeKey === '' ? v : isJsonMap(v) ? getKey(v, mergeKey) : undefined);
  const wanted = probe(value);
  return list.findIndex((v) => jsonEqual(probe(v), wanted));
}

/**
 * Sorts the patch items by the patch (or `$setElementOrder`) order and the server-only items by
 * the live order, then interleaves them: a server-only item goes before a patch item only when
 * both are in the live list and it came first there. So new items lead, as upstream.
 */
function normalizeElementOrder(
  patchItems: Json[],
  serverOnly: Json[],
  patchOrder: readonly Json[],
  serverOrder: readonly Json[],
  mergeKey: string,
  kind: ElementKind,
): Step<Json[]> {
  const sortedPatch = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
  if (!sortedPatch.ok) return sortedPatch;
  const sortedServer = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  if (!sortedServer.ok) return sortedServer;
  return ok(mergeSortedSlice(sortedServer.value, sortedPatch.value, serverOrder, mergeKey));
}

function normalizeSliceOrder(toSort: Json[], order: readonly Json[], mergeKey: string, kind: ElementKind): Step<Json[]> {
  let keep = toSort;
  let toDelete: Json[] = [];
  if (kind === 'map') {
    for (const item of [...toSort, ...order]) if (!isJsonMap(item) || !hasKey(item, mergeKey)) return noMergeKey(item, mergeKey);
    keep = toSort.filter((i) => (i as JsonMap)[directiveMarker] !== 'delete');
    toDelete = toSort.filter((i) => (i as JsonMap)[directiveMarker] === 'delete');
  }
  // A stable sort by position in `order`; items not found there (impossible for valid patches) keep their order at the end.
  const ranked = keep.map((item, at) => ({ item, at, rank: indexIn(order, item, mergeKey) }));
  ranked.sort((a, b) => {
    if (a.rank < 0 !== b.rank < 0) return a.rank < 0 ? 1 : -1;
    return (a.rank < 0 ? 0 : a.rank - b.rank) || a.at - b.at;
  });
  return ok([...ranked.map((r) => r.item), ...toDelete]);
}

function mergeSortedSlice(left: Json[], right: Json[], serverOrder: readonly Json[], mergeKey: string): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++] as Json);
    else if (j >= right.length) out.push(left[i++] as Json);
    else {
      const li = indexIn(serverOrder, left[i] as Json, mergeKey);
      const ri = indexIn(serverOrder, right[j] as Json, mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++] as Json);
      else out.push(right[j++] as Json);
    }
  }
  return out;
}

/** Processes every `$setElementOrder/<field>` with its list (upstream's mergePatchIntoOriginal). */
function mergeOrderedLists(original: JsonMap, patch: JsonMap, node: SchemaNode): Step<null> {
  for (const directiveKey of Object.keys(patch)) {
    if (!directiveKey.startsWith(setElementOrderPrefix)) continue;
    const order = patch[directiveKey];
    delete patch[directiveKey];
    const target = directiveTarget(directiveKey, setElementOrderPrefix);
    if (!target.ok) return target;
    if (!Array.isArray(order)) return invalid('invalid patch format of setElementOrder list');
    const merged = mergeOrderedList(original, patch, target.value, order, node);
    if (!merged.ok) return merged;
  }
  return ok(null);
}

function mergeOrderedList(original: JsonMap, patch: JsonMap, key: string, order: Json[], node: SchemaNode): Step<null> {
  const originalList = getKey(original, key);
  const patchList = getKey(patch, key);
  if (originalList === undefined && patchList === undefined) return ok(null);
  if ((originalList !== undefined && !Array.isArray(originalList)) || (patchList !== undefined && !Array.isArray(patchList))) {
    return failed(`expected a []interface {}, but received a ${formatGo(patchList ?? originalList)}`);
  }
  const meta = patchMetaOf(node, key);
  const mergeKey = meta?.mergeKey ?? '';
  const checked = validateAgainstOrder(patchList ?? [], order, mergeKey);
  if (!checked.ok) return checked;
  const merged = patchList === undefined ? ok(originalList ?? []) : mergeValues(originalList ?? [], patchList, node, key, false);
  if (!merged.ok) return merged;
  const mergedList = merged.value as Json[];
  const kind = sliceElementKind(originalList ?? [], patchList ?? [], mergedList);
  if (!kind.ok) return kind;
  const parts = mergeKey === '' ? ok(partitionPrimitives(mergedList, order)) : partitionMaps(mergedList, order, mergeKey);
  if (!parts.ok) return parts;
  const both = normalizeElementOrder(parts.value[0], parts.value[1], order, originalList ?? [], mergeKey, kind.value);
  if (!both.ok) return both;
  setKey(original, key, both.value);
  delete patch[key];
  return ok(null);
}

/** The patch list (deletions aside) must follow the `$setElementOrder` list's relative order. */
function validateAgainstOrder(patchList: Json[], order: Json[], mergeKey: string): Step<null> {
  if (order.length === 0 || patchList.length === 0) return ok(null);
  if (mergeKey !== '' && patchList.some((i) => !isJsonMap(i))) return failed('expected a map[string]interface {}, but received a list item of another type');
  const kept = mergeKey === '' ? patchList : patchList.filter((i) => (i as JsonMap)[directiveMarker] !== 'delete');
  let p = 0;
  let o = 0;
  while (p < kept.length && o < order.length) {
    const item = kept[p] as Json;
    if (isJsonMap(item) && hasKey(item, directiveMarker)) {
      p++;
      continue;
    }
    const equal = sameMergeKey(item, order[o] as Json, mergeKey);
    if (!equal.ok) return equal;
    if (equal.value) p++;
    o++;
  }
  if (p < kept.length) {
    return failed(`The order in patch list:\n${formatGo(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${formatGo(order)}\n`);
  }
  return ok(null);
}

function sameMergeKey(left: Json, right: Json, mergeKey: string): Step<boolean> {
  if (mergeKey === '') return ok(jsonEqual(left, right));
  if (!isJsonMap(left) || !hasKey(left, mergeKey)) return noMergeKey(left, mergeKey);
  if (!isJsonMap(right) || !hasKey(right, mergeKey)) return noMergeKey(right, mergeKey);
  return ok(jsonEqual(left[mergeKey], right[mergeKey]));
}
