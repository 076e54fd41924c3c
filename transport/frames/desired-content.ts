// Desired content and its hash (PROTOCOL.md "Down"): the cloud resends an object only when this hash
// changes, so the hash must not depend on key order, status, managedFields or resourceVersion.
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../kernel/index.js';

const metadataOf = (object: JsonObject): JsonObject | undefined => {
  const metadata = Object.hasOwn(object, 'metadata') ? object['metadata'] : undefined;
  return typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as JsonObject) : undefined;
};

const withoutKeys = (object: JsonObject, keys: readonly string[]): JsonObject =>
  Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

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
 * so a value and its JSON round trip canonicalize alike.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: JsonValue | undefined) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const member = (value as JsonObject)[key];
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
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
  return createHash('sha256').update(canonicalJson(desiredContentOf(object)), 'utf8').digest('hex');
}
