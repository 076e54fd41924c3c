// Structural defaulting as kube-apiserver applies it to custom resources on every decode
// (apiextensions' defaulting algorithm): a missing field, or a null where null is not allowed,
// takes the schema's default, and defaults inside defaults are applied too.
import type { JsonValue } from '../../kernel/index.js';
import { asObject, type SchemaNode } from './crd-schema.node.js';

const isNonNullableNull = (value: JsonValue | undefined, node: SchemaNode | undefined): boolean =>
  value === null && node !== undefined && !node.nullable;

// A map value or list item that is a forbidden null takes the default, or stays null without one.
const replacedNull = (value: JsonValue, node: SchemaNode | undefined): JsonValue =>
  isNonNullableNull(value, node) ? (node?.default ?? null) : value;

function defaultObject(object: { readonly [key: string]: JsonValue }, node: SchemaNode): JsonValue {
  const filled: Record<string, JsonValue> = { ...object };
  for (const [key, property] of node.properties) {
    if (property.default === undefined) continue;
    if (!(key in filled) || isNonNullableNull(filled[key], property)) filled[key] = property.default;
  }
  for (const [key, value] of Object.entries(filled)) {
    const property = node.properties.get(key);
    if (property !== undefined) filled[key] = applyStructuralDefaults(value, property);
    else if (node.additionalProperties !== undefined) {
      const values = node.additionalProperties.node;
      filled[key] = applyStructuralDefaults(replacedNull(value, values), values);
    }
  }
  return filled;
}

/** `value` with the defaults of `node` (and of everything below it) filled in; `value` is not changed. */
export function applyStructuralDefaults(value: JsonValue, node: SchemaNode | undefined): JsonValue {
  if (node === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => applyStructuralDefaults(replacedNull(item, node.items), node.items));
  const object = asObject(value);
  return object === undefined ? value : defaultObject(object, node);
}
