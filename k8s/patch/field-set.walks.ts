// The walks server-side apply makes over objects, re-expressed from structured-merge-diff v4
// (typed/tofieldset.go, compare.go, merge.go, remove.go): the set of fields an object sets, what
// changed between two objects, the merge of an applied configuration into a live object, and the
// removal of items. They walk the built-in type graph, or, for custom resources, a generic schema
// (objects field by field, lists atomic unless the CRD's `x-kubernetes-list-type` says otherwise).

import { err, invariant, ok, type Result } from '../../kernel/index.js';
import { emptyFieldSet, fieldElement, formatFieldPath, insertPath, keyElement, valueElement, type FieldPath, type FieldSet } from './field-set.model.js';
import type { ListType } from './patch-strategies.data.js';
import { getKey, isJsonMap, jsonEqual, setKey, type Json, type JsonMap } from './patch.json.js';
import {
  childNode,
  isAtomicMap,
  isAtomicStruct,
  isDeclaredField,
  itemsNode,
  keyDefaultOf,
  listTypeOf,
  typeNode,
  type SchemaNode,
} from './patch.schema.js';

/**
 * What a custom resource's schema says about one list, looked up by its schema path: property
 * names from the root, `[]` for "items of a list" (e.g. `['spec', 'routes', '[]', 'hosts']`).
 * Undefined means atomic, as for a CRD list without `x-kubernetes-list-type`.
 */
export type ListTypeLookup = (schemaPath: readonly string[]) => ListType | undefined;

/** A position in the schema: a built-in type node, or a path in a custom resource's schema. */
export interface ApplyNode {
  readonly typed: SchemaNode;
  /** Set for custom resources (and nothing else): the schema path for `ListTypeLookup`. */
  readonly crdPath?: readonly string[];
}

/** The schema context of one walk. */
export interface ApplySchema {
  readonly root: ApplyNode;
  readonly lookupListType?: ListTypeLookup;
}

/** How a value in a given slot is treated: its node, its list semantics, whether it is owned whole. */
interface Slot {
  readonly node: ApplyNode;
  readonly list: ListType;
  readonly atomic: boolean;
  /** A struct field (named field): only these are added as members by EnsureNamedFieldsAreMembers. */
  readonly named: boolean;
}

const atomicList: ListType = { type: 'atomic' };

export const schemaFor = (typeName: string | undefined, lookupListType?: ListTypeLookup): ApplySchema => {
  const typed = typeNode(typeName);
  return { root: typed !== undefined ? { typed } : { typed: undefined, crdPath: [] }, ...(lookupListType ? { lookupListType } : {}) };
};

function fieldSlot(schema: ApplySchema, parent: ApplyNode, key: string): Slot {
  if (parent.crdPath !== undefined) {
    const path = [...parent.crdPath, key];
    if (parent.crdPath.length === 0 && key === 'metadata') return { node: { typed: typeNode('V1ObjectMeta') }, list: atomicList, atomic: false, named: true };
    return { node: { typed: undefined, crdPath: path }, list: schema.lookupListType?.(path) ?? atomicList, atomic: false, named: true };
  }
  const typed = childNode(parent.typed, key);
  const atomic = isAtomicStruct(typed) || isAtomicMap(parent.typed, key) || typed?.kind === 'scalar';
  const named = parent.typed?.kind !== 'map';
  return { node: { typed }, list: listTypeOf(parent.typed, key), atomic, named: named && (isDeclaredField(parent.typed, key) || typed === undefined) };
}

function itemSlot(list: ApplyNode): Slot {
  if (list.crdPath !== undefined) return { node: { typed: undefined, crdPath: [...list.crdPath, '[]'] }, list: atomicList, atomic: false, named: false };
  const typed = itemsNode(list.typed);
  return { node: { typed }, list: atomicList, atomic: isAtomicStruct(typed) || typed?.kind === 'scalar', named: false };
}

/** Owned whole: scalars, nulls, atomic structs, maps and lists, and values of another shape than their slot. */
function isLeaf(slot: Slot, value: Json | undefined): boolean {
  if (value === undefined) return false;
  if (slot.atomic || value === null || typeof value !== 'object') return true;
  return Array.isArray(value) && slot.list.type === 'atomic';
}

/** The path element of a list item: `k:{…}` for map lists (missing keys take their `+default`), `v:…` for sets. */
function itemElement(slot: Slot, item: Json, list: ApplyNode): Result<string, string> {
  if (slot.list.type === 'set') return ok(valueElement(item));
  if (slot.list.type !== 'map') return err('atomic lists have no item paths');
  if (!isJsonMap(item)) return err('expected an object in an associative list');
  const fields: Record<string, Json> = {};
  for (const key of slot.list.keys) {
    const value = getKey(item, key) ?? (keyDefaultOf(itemsNode(list.typed), key) as Json | undefined);
    if (value === undefined) return err(`associative list with keys has an element that omits key field "${key}" (and doesn't have default value)`);
    fields[key] = value;
  }
  return ok(keyElement(fields));
}

/** Items of a granular list by path element; duplicates are an error only where `strict`. */
function indexItems(slot: Slot, list: readonly Json[], node: ApplyNode, strict: boolean, path: FieldPath): Result<[string[], Map<string, Json>], string> {
  const elements: string[] = [];
  const byElement = new Map<string, Json>();
  for (const item of list) {
    const element = itemElement(slot, item, node);
    if (!element.ok) return err(`${formatWalkPath(path)}: ${element.error}`);
    if (byElement.has(element.value)) {
      if (strict) return err(`${formatWalkPath(path)}: duplicate entries for key ${formatFieldPath([element.value])}`);
      continue;
    }
    elements.push(element.value);
    byElement.set(element.value, item);
  }
  return ok([elements, byElement]);
}

const formatWalkPath = (path: FieldPath): string => formatFieldPath(path);

/** The fields an object sets (structured-merge-diff's ToFieldSet); duplicates in a keyed list are an error. */
export function fieldSetOf(object: JsonMap, schema: ApplySchema): Result<FieldSet, string> {
  const set = emptyFieldSet();
  const walked = walkMap(object, schema.root, [], set, schema);
  return walked.ok ? ok(set) : walked;
}

function walkMap(map: JsonMap, node: ApplyNode, path: FieldPath, set: FieldSet, schema: ApplySchema): Result<null, string> {
  for (const [key, value] of Object.entries(map)) {
    const slot = fieldSlot(schema, node, key);
    const at = [...path, fieldElement(key)];
    if (value === null || (isJsonMap(value) && Object.keys(value).length === 0) || !slot.named) insertPath(set, at);
    const walked = walkValue(value, slot, at, set, schema);
    if (!walked.ok) return walked;
  }
  return ok(null);
}

function walkValue(value: Json, slot: Slot, at: FieldPath, set: FieldSet, schema: ApplySchema): Result<null, string> {
  if (isLeaf(slot, value)) {
    insertPath(set, at);
    return ok(null);
  }
  if (isJsonMap(value)) return walkMap(value, slot.node, at, set, schema);
  const items = indexItems(slot, value as Json[], slot.node, true, at);
  if (!items.ok) return items;
  const itemsSlot = itemSlot(slot.node);
  for (const element of items.value[0]) {
    const itemPath = [...at, element];
    insertPath(set, itemPath);
    const walked = walkValue(items.value[1].get(element) as Json, itemsSlot, itemPath, set, schema);
    if (!walked.ok) return walked;
  }
  return ok(null);
}

/** What changed from `before` to `after`, as paths (structured-merge-diff's Compare). */
export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

export function compareObjects(before: JsonMap, after: JsonMap, schema: ApplySchema): Result<Comparison, string> {
  const comparison = { added: emptyFieldSet(), modified: emptyFieldSet(), removed: emptyFieldSet() };
  const compared = compareMaps(before, after, schema.root, [], comparison, schema);
  return compared.ok ? ok(comparison) : compared;
}

const isEmptyValue = (v: Json | undefined): boolean =>
  v === undefined || (Array.isArray(v) && v.length === 0) || (isJsonMap(v) && Object.keys(v).length === 0);

function compareLeaf(before: Json | undefined, after: Json | undefined, at: FieldPath, out: Comparison): void {
  if (before === undefined) insertPath(out.added, at);
  else if (after === undefined) insertPath(out.removed, at);
  else if (!jsonEqual(before, after)) insertPath(out.modified, at);
}

function compareValues(before: Json | undefined, after: Json | undefined, slot: Slot, at: FieldPath, out: Comparison, schema: ApplySchema): Result<null, string> {
  const both = [before, after].filter((v): v is Json => v !== undefined);
  const sameShape = both.every((v) => isJsonMap(v)) || both.every((v) => Array.isArray(v));
  if (both.some((v) => isLeaf(slot, v)) || !sameShape || (isEmptyValue(before) && isEmptyValue(after))) {
    compareLeaf(before, after, at, out);
    return ok(null);
  }
  if (both.every((v) => isJsonMap(v))) return compareMaps((before ?? {}) as JsonMap, (after ?? {}) as JsonMap, slot.node, at, out, schema);
  return compareLists((before ?? []) as Json[], (after ?? []) as Json[], slot, at, out, schema);
}

/** After each item, structured-merge-diff's hook records the item itself as added or removed. */
function recordItem(before: Json | undefined, after: Json | undefined, at: FieldPath, out: Comparison): void {
  if (before === undefined) insertPath(out.added, at);
  else if (after === undefined) insertPath(out.removed, at);
}

function compareMaps(before: JsonMap, after: JsonMap, node: ApplyNode, path: FieldPath, out: Comparison, schema: ApplySchema): Result<null, string> {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    const at = [...path, fieldElement(key)];
    const b = getKey(before, key);
    const a = getKey(after, key);
    const compared = compareValues(b, a, fieldSlot(schema, node, key), at, out, schema);
    if (!compared.ok) return compared;
    recordItem(b, a, at, out);
  }
  return ok(null);
}

function compareLists(before: Json[], after: Json[], slot: Slot, path: FieldPath, out: Comparison, schema: ApplySchema): Result<null, string> {
  const b = indexItems(slot, before, slot.node, false, path);
  if (!b.ok) return b;
  const a = indexItems(slot, after, slot.node, false, path);
  if (!a.ok) return a;
  const itemsSlot = itemSlot(slot.node);
  for (const element of new Set([...a.value[0], ...b.value[0]])) {
    const at = [...path, element];
    const compared = compareValues(b.value[1].get(element), a.value[1].get(element), itemsSlot, at, out, schema);
    if (!compared.ok) return compared;
    recordItem(b.value[1].get(element), a.value[1].get(element), at, out);
  }
  return ok(null);
}

/** The live object with an applied configuration merged in (structured-merge-diff's Merge). */
export function mergeObjects(live: JsonMap, applied: JsonMap, schema: ApplySchema): Result<JsonMap, string> {
  return mergeMaps(live, applied, schema.root, [], schema);
}

function mergeMaps(live: JsonMap, applied: JsonMap, node: ApplyNode, path: FieldPath, schema: ApplySchema): Result<JsonMap, string> {
  const out: JsonMap = { ...live };
  for (const [key, value] of Object.entries(applied)) {
    // A null in the applied configuration clears the field (the typed object upstream cannot hold it).
    if (value === null) {
      delete out[key];
      continue;
    }
    const merged = mergeValues(getKey(live, key), value, fieldSlot(schema, node, key), [...path, fieldElement(key)], schema);
    if (!merged.ok) return merged;
    setKey(out, key, merged.value);
  }
  return ok(out);
}

function mergeValues(live: Json | undefined, applied: Json, slot: Slot, at: FieldPath, schema: ApplySchema): Result<Json, string> {
  if (live === undefined || isLeaf(slot, live) || isLeaf(slot, applied)) return ok(applied);
  if (isJsonMap(live) && isJsonMap(applied)) return mergeMaps(live, applied, slot.node, at, schema);
  if (Array.isArray(live) && Array.isArray(applied)) return mergeLists(live, applied, slot, at, schema);
  return ok(applied);
}

/**
 * Merges two granular lists keeping the applied order for the items both have, live-only items
 * where they were, applied-only items where the configuration puts them (merge.go's visitListItems).
 */
function mergeLists(live: Json[], applied: Json[], slot: Slot, path: FieldPath, schema: ApplySchema): Result<Json[], string> {
  const l = indexItems(slot, live, slot.node, false, path);
  if (!l.ok) return l;
  const r = indexItems(slot, applied, slot.node, true, path);
  if (!r.ok) return r;
  const [lhs, observedL] = l.value;
  const [rhs, observedR] = r.value;
  const itemsSlot = itemSlot(slot.node);
  const shared = rhs.filter((e) => observedL.has(e));
  let nextShared = shared.shift();
  const mergedR = new Set<string>();
  const out: Json[] = [];
  const take = (element: string): Result<null, string> => {
    const applied = observedR.get(element);
    const merged = applied === undefined ? ok(observedL.get(element) as Json) : mergeValues(observedL.get(element), applied, itemsSlot, [...path, element], schema);
    if (!merged.ok) return merged;
    out.push(merged.value);
    return ok(null);
  };
  let li = 0;
  let ri = 0;
  while (li < lhs.length || ri < rhs.length) {
    const le = lhs[li];
    const re = rhs[ri];
    if (le !== undefined && re !== undefined) {
      if (le === re) {
        mergedR.add(le);
        const taken = take(le);
        if (!taken.ok) return taken;
        li++;
        ri++;
        nextShared = shared.shift();
        continue;
      }
      if (observedR.has(le) && nextShared !== undefined && nextShared !== le) {
        li++;
        continue;
      }
    }
    if (le !== undefined && (!observedR.has(le) || mergedR.has(le))) {
      if (!observedR.has(le)) {
        const taken = take(le);
        if (!taken.ok) return taken;
      }
      li++;
      continue;
    }
    // Every applied item is taken before the live ones that match it, so an item is always left here.
    invariant(re !== undefined, 'list merge advances on every round');
    {
      mergedR.add(re);
      const taken = take(re);
      if (!taken.ok) return taken;
      ri++;
      if (nextShared === re) nextShared = shared.shift();
    }
  }
  return ok(out);
}

/** Removes every member path of `set` from the object, subtrees included (structured-merge-diff's RemoveItems). */
export function removeItems(object: JsonMap, set: FieldSet, schema: ApplySchema): JsonMap {
  return removeFromMap(object, set, schema.root, schema);
}

function removeFromMap(map: JsonMap, set: FieldSet, node: ApplyNode, schema: ApplySchema): JsonMap {
  const out: JsonMap = {};
  for (const [key, value] of Object.entries(map)) {
    const child = set.children.get(fieldElement(key));
    if (child?.member === true) continue;
    setKey(out, key, child === undefined ? value : removeFromValue(value, child, fieldSlot(schema, node, key), schema));
  }
  return out;
}

function removeFromValue(value: Json, set: FieldSet, slot: Slot, schema: ApplySchema): Json {
  if (isLeaf(slot, value)) return value;
  if (isJsonMap(value)) return removeFromMap(value, set, slot.node, schema);
  const itemsSlot = itemSlot(slot.node);
  const out: Json[] = [];
  for (const item of value as Json[]) {
    const element = itemElement(slot, item, slot.node);
    const child = element.ok ? set.children.get(element.value) : undefined;
    if (child?.member === true) continue;
    out.push(child === undefined ? item : removeFromValue(item, child, itemsSlot, schema));
  }
  return out;
}

/**
 * The set plus every struct field along its paths as a member (EnsureNamedFieldsAreMembers), so
 * that a struct holding owned fields is itself treated as owned when pruning.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, schema: ApplySchema): FieldSet {
  return ensureNamed(set, schema.root, false, schema);
}

function ensureNamed(set: FieldSet, node: ApplyNode, named: boolean, schema: ApplySchema): FieldSet {
  const out: FieldSet = { member: set.member || named, children: new Map() };
  for (const [element, child] of set.children) {
    if (element.startsWith('f:')) {
      const slot = fieldSlot(schema, node, element.slice(2));
      out.children.set(element, ensureNamed(child, slot.node, slot.named, schema));
    } else {
      out.children.set(element, ensureNamed(child, itemSlot(node).node, false, schema));
    }
  }
  return out;
}
