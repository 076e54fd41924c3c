// Desired content and its hash (PROTOCOL.md "Down"): the cloud resends an object only when this hash
// changes, so the hash must not depend on key order, status, managedFields or resourceVersion.
import { hash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../kernel/index.js';

const metadataOf = (object: JsonObject): JsonObject | undefined => {
  const metadata = Object.hasOwn(object, 'metadata') ? object['metadata'] : undefined;
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as JsonObject) : undefined;
};

/** The object without `keys`: itself when it has none of them (this runs for every down frame). */
function withoutKeys(object: JsonObject, keys: readonly string[]): JsonObject {
  if (!keys.some((key) => Object.hasOwn(object, key))) return object;
  // Assigned member by member (a spread and delete leaves a slow dictionary object); a member
  // named __proto__ would set the prototype that way, so such an object is copied by entries.
  if (Object.hasOwn(object, FORBIDDEN_MEMBER)) return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
  const copy: { [key: string]: JsonValue } = {};
  for (const key in object) if (Object.hasOwn(object, key) && !keys.includes(key)) copy[key] = object[key] as JsonValue;
  return copy;
}

/** The member name that assignment treats as the prototype: copies must define it, not assign it. */
const FORBIDDEN_MEMBER = '__proto__';

/**
 * The object without `metadata.managedFields`, which PROTOCOL.md strips before sending (they can
 * be most of an object's bytes and the edge never uses them). Returns the same object when there
 * is nothing to strip; never mutates its argument.
 */
export function stripManagedFields<T extends JsonObject>(object: T): T {
  const metadata = metadataOf(object);
  if (metadata === undefined || !Object.hasOwn(metadata, 'managedFields')) return object;
  return { ...object, metadata: withoutKeys(metadata, ['managedFields']) };
}

/** The object minus `status`, `metadata.managedFields` and `metadata.resourceVersion`: what the edge must converge on. */
export function desiredContentOf(object: JsonObject): JsonObject {
  const rest = withoutKeys(object, ['status']);
  const metadata = metadataOf(object);
  if (metadata === undefined) return rest;
  return { ...rest, metadata: withoutKeys(metadata, ['managedFields', 'resourceVersion']) };
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no whitespace, numbers
 * and strings as `JSON.stringify` writes them (RFC 8785's ordering). Like `JSON.stringify`, it
 * leaves out object members whose value is `undefined` and writes `null` for non-finite numbers,
 * so a value and its JSON round trip canonicalize alike. Key order is the only thing
 * `JSON.stringify` leaves to the value, so the value is written by it once its keys are in order;
 * objects already in order (most ConfigMaps, Secrets) are not copied.
 */
export function canonicalJson(value: JsonValue): string {
  const ordered = inKeyOrder(value);
  return ordered === UNORDERABLE ? writtenInKeyOrder(value) : (JSON.stringify(ordered) ?? 'null');
}

/**
 * An object whose keys no plain JavaScript object can hold in sorted order: integer-like keys always
 * come first, in numeric order (`"10"` before `"9"`, `"5"` before `"-x"`), and `__proto__` cannot be
 * assigned as a member; such a value is written by hand.
 */
const UNORDERABLE = Symbol('unorderable');

/** `value` with every object's keys in sorted order: the same value where it already is, else a copy of what is not. */
function inKeyOrder(value: JsonValue): JsonValue | typeof UNORDERABLE {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: JsonValue[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i] as JsonValue;
      const ordered = inKeyOrder(item);
      if (ordered === UNORDERABLE) return UNORDERABLE;
      if (ordered === item) continue;
      copy ??= value.slice();
      copy[i] = ordered;
    }
    return copy ?? value;
  }
  const keys = Object.keys(value);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  // Copies are plain objects built by assignment (fast for JSON.stringify); assigning __proto__
  // would set the prototype instead, so such a value is written by hand.
  let copy: { [key: string]: JsonValue } | undefined;
  if (!sorted) {
    if (Object.hasOwn(value, FORBIDDEN_MEMBER)) return UNORDERABLE;
    copy = {};
    keys.sort();
    for (const key of keys) copy[key] = (value as JsonObject)[key] as JsonValue;
    const held = Object.keys(copy);
    for (let i = 0; i < keys.length; i++) if (held[i] !== keys[i]) return UNORDERABLE;
  }
  for (const key of keys) {
    const member = (value as JsonObject)[key] as JsonValue;
    if (typeof member !== 'object' || member === null) continue;
    const ordered = inKeyOrder(member);
    if (ordered === UNORDERABLE) return UNORDERABLE;
    if (ordered === member) continue;
    if (copy === undefined) {
      if (Object.hasOwn(value, FORBIDDEN_MEMBER)) return UNORDERABLE;
      copy = {};
      for (const k of keys) copy[k] = (value as JsonObject)[k] as JsonValue;
    }
    copy[key] = ordered;
  }
  return copy ?? value;
}

/** Canonical JSON written member by member: slower, and right for any keys. */
function writtenInKeyOrder(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: JsonValue | undefined) => (item === undefined ? 'null' : writtenInKeyOrder(item))).join(',')}]`;
  const members: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const member = (value as JsonObject)[key];
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${writtenInKeyOrder(member)}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * The hash the cloud keeps per acked object: sha256 (hex) of the canonical JSON of its desired
 * content. Taking the whole object is safe, since stripping is idempotent.
 *
 * ```ts
 * contentHash({ metadata: { name: 'a', resourceVersion: '7' }, spec: { x: 1 }, status: { phase: 'Running' } })
 *   === contentHash({ spec: { x: 1 }, metadata: { name: 'a' } }); // true
 * ```
 */
export function contentHash(object: JsonObject): string {
  return desiredContentHash(desiredContentOf(object));
}

/** contentHash of content that is already desired content (desiredContentOf's result), without stripping it again. */
export function desiredContentHash(content: JsonValue): string {
  // The one-shot hash: a third cheaper than createHash().update().digest() for objects this size.
  return hash('sha256', canonicalJson(content), 'hex');
}
