// Uniqueness of `x-kubernetes-list-type: set` items and `map` keys, checked as upstream's
// listtype.ValidateListSetsAndMaps does: each repeated value is reported once, at its second index.
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { childPath, duplicateError, indexPath, invalidError, keyPath, type FieldError } from './crd-schema.errors.js';
import { asObject, type SchemaNode } from './crd-schema.node.js';

/** JSON with object keys sorted, as Go's json.Marshal writes maps: equal values, equal text. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = asObject(value);
  if (object === undefined) return JSON.stringify(value);
  const keys = Object.keys(object).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key] ?? null)}`).join(',')}}`;
}

// Scalars compare by value and type (1 and "1" differ, as Go map keys do); compounds by canonical JSON.
const identityOf = (value: JsonValue | typeof UNSPECIFIED): unknown =>
  value === UNSPECIFIED || value === null || typeof value !== 'object' ? value : `compound:${canonicalJson(value)}`;

const UNSPECIFIED = Symbol('unspecified map key');

/** Indexes where a value appears for the second time (later repeats are not reported again). */
function secondAppearances(values: readonly (JsonValue | typeof UNSPECIFIED)[]): readonly number[] {
  const seen = new Map<unknown, number>();
  const repeats: number[] = [];
  values.forEach((value, index) => {
    const identity = identityOf(value);
    const times = seen.get(identity) ?? 0;
    if (times === 1) repeats.push(index);
    seen.set(identity, times + 1);
  });
  return repeats;
}

function setErrors(path: string, items: readonly JsonValue[]): readonly FieldError[] {
  return secondAppearances(items).map((index) => duplicateError(indexPath(path, index), items[index] ?? null));
}

// A map list's key is the item's key fields; with one key field an absent key is its own value.
function mapKeyOf(item: JsonValue, keys: readonly string[]): JsonValue | typeof UNSPECIFIED {
  const object = asObject(item) ?? {};
  if (keys.length === 1) {
    const [only = ''] = keys;
    return only in object ? (object[only] ?? null) : UNSPECIFIED;
  }
  const key: Record<string, JsonValue> = {};
  for (const field of keys) if (field in object) key[field] = object[field] ?? null;
  return key;
}

const duplicateMapKey = (key: JsonValue | typeof UNSPECIFIED, keys: readonly string[]): JsonObject => {
  if (key === UNSPECIFIED) return {};
  return keys.length === 1 ? { [keys[0] ?? '']: key } : (key as JsonObject);
};

function mapErrors(path: string, items: readonly JsonValue[], keys: readonly string[]): readonly FieldError[] {
  const notObject = items.findIndex((item) => item !== null && asObject(item) === undefined);
  if (notObject >= 0) return [invalidError(indexPath(path, notObject), items[notObject] ?? null, 'must be an object for an array of list-type map')];
  const mapKeys = items.map((item) => mapKeyOf(item, keys));
  return secondAppearances(mapKeys).map((index) => duplicateError(indexPath(path, index), duplicateMapKey(mapKeys[index] ?? UNSPECIFIED, keys)));
}

function arrayErrors(path: string, node: SchemaNode, items: readonly JsonValue[]): readonly FieldError[] {
  const own = node.listType === 'set' ? setErrors(path, items) : node.listType === 'map' ? mapErrors(path, items, node.listMapKeys) : [];
  const nested = node.items === undefined ? [] : items.flatMap((item, index) => listTypeErrors(item, node.items, indexPath(path, index)));
  return [...own, ...nested];
}

function objectErrors(path: string, node: SchemaNode, object: JsonObject): readonly FieldError[] {
  return Object.entries(object).flatMap(([key, value]) => {
    const property = node.properties.get(key);
    if (property !== undefined) return listTypeErrors(value, property, childPath(path, key));
    const values = node.additionalProperties?.node;
    return values === undefined ? [] : listTypeErrors(value, values, keyPath(path, key));
  });
}

/** Duplicate set items and map keys anywhere in `value`, which `node` describes. */
export function listTypeErrors(value: JsonValue, node: SchemaNode | undefined, path = ''): readonly FieldError[] {
  if (node === undefined) return [];
  if (Array.isArray(value)) return arrayErrors(path, node, value);
  const object = asObject(value);
  return object === undefined ? [] : objectErrors(path, node, object);
}
