// Mutable JSON values for the patch algorithms: they work on private deep copies, never on inputs.

import type { JsonObject, JsonValue } from '../../kernel/index.js';

/** A JSON value the patch code may change in place (always a private copy). */
export type Json = null | boolean | number | string | Json[] | JsonMap;
export type JsonMap = { [key: string]: Json };

export const isJsonMap = (value: Json | undefined): value is JsonMap =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A private, mutable deep copy of a readonly JSON value. */
export const cloneJson = (value: JsonValue): Json => structuredClone(value) as Json;

export const cloneJsonMap = (value: JsonObject): JsonMap => structuredClone(value) as JsonMap;

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isJsonMap(a) && isJsonMap(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Owns a key of a JSON object (not an inherited one such as `constructor`). */
export const hasKey = (map: JsonMap, key: string): boolean => Object.prototype.hasOwnProperty.call(map, key);

/** Sets a key without ever touching the prototype: a patch may carry a `__proto__` key. */
export function setKey(map: JsonMap, key: string, value: Json): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reads an own key only: `map['__proto__']` would otherwise hand out Object.prototype. */
export const getKey = (map: JsonMap, key: string): Json | undefined => (hasKey(map, key) ? map[key] : undefined);

/** Formats a value the way Go's `%v` prints decoded JSON, so error messages read like upstream's. */
export function formatGo(value: Json | undefined): string {
  if (value === undefined || value === null) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(formatGo).join(' ')}]`;
  if (isJsonMap(value)) {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((k) => `${k}:${formatGo(value[k])}`).join(' ')}]`;
  }
  return String(value);
}
