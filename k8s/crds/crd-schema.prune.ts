// Pruning as kube-apiserver's decoder does it for custom resources (apiextensions' pruning
// algorithm, then the removal of nulls the schema neither allows nor defaults), reporting the
// path of every field it drops so strict field validation can name them.
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { asObject, type SchemaNode } from './crd-schema.node.js';

/** The pruned object and the paths (`.spec.foo`, `.spec.items[1].bar`) of the fields removed. */
export interface Pruned {
  readonly value: JsonValue;
  readonly unknownFields: readonly string[];
}

// A resource (the root, or an x-kubernetes-embedded-resource) keeps its type and object meta.
const META_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata']);

// An embedded resource's metadata is decoded as ObjectMeta upstream, so only its fields survive.
const OBJECT_META_FIELDS: ReadonlySet<string> = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

const fieldOf = (path: string, key: string): string => `${path}.${key}`;

interface Walk {
  readonly unknown: string[];
}

function pruneEmbeddedMetadata(value: JsonValue, path: string, walk: Walk): JsonValue {
  const object = asObject(value);
  if (object === undefined) return value;
  const kept: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(object)) {
    if (OBJECT_META_FIELDS.has(key)) kept[key] = field;
    else walk.unknown.push(fieldOf(path, key));
  }
  return kept;
}

// A resource's own apiVersion/kind/metadata are never pruned by the schema; below the root the
// metadata is still cut down to ObjectMeta.
function keepMetaField(key: string, value: JsonValue, path: string, atRoot: boolean, walk: Walk): JsonValue {
  return key === 'metadata' && !atRoot ? pruneEmbeddedMetadata(value, fieldOf(path, key), walk) : value;
}

function pruneObject(object: JsonObject, node: SchemaNode | undefined, path: string, atRoot: boolean, walk: Walk): JsonObject {
  const kept: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (node?.embeddedResource === true && META_FIELDS.has(key)) {
      kept[key] = keepMetaField(key, value, path, atRoot, walk);
      continue;
    }
    const property = node?.properties.get(key);
    if (property !== undefined) kept[key] = pruneValue(value, property, fieldOf(path, key), walk);
    else if (node?.additionalProperties !== undefined) kept[key] = pruneValue(value, node.additionalProperties.node, fieldOf(path, key), walk);
    else walk.unknown.push(fieldOf(path, key));
  }
  return kept;
}

function pruneValue(value: JsonValue, node: SchemaNode | undefined, path: string, walk: Walk, atRoot = false): JsonValue {
  if (node?.preserveUnknownFields === true) return keepUnknown(value, node, path, walk);
  if (Array.isArray(value)) return value.map((item, index) => pruneValue(item, node?.items, `${path}[${index}]`, walk));
  const object = asObject(value);
  return object === undefined ? value : pruneObject(object, node, path, atRoot, walk);
}

// Under x-kubernetes-preserve-unknown-fields, undeclared fields stay; declared ones are still pruned inside.
function keepUnknown(value: JsonValue, node: SchemaNode | undefined, path: string, walk: Walk): JsonValue {
  if (node === undefined) return value;
  if (Array.isArray(value)) return value.map((item, index) => keepUnknown(item, node.items, `${path}[${index}]`, walk));
  const object = asObject(value);
  if (object === undefined) return value;
  const kept: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(object)) {
    const property = node.properties.get(key);
    if (node.embeddedResource && META_FIELDS.has(key)) kept[key] = keepMetaField(key, field, path, false, walk);
    else if (property !== undefined) kept[key] = pruneValue(field, property, fieldOf(path, key), walk);
    else if (node.additionalProperties !== undefined) kept[key] = pruneValue(field, node.additionalProperties.node, fieldOf(path, key), walk);
    else kept[key] = field;
  }
  return kept;
}

/** Removes the fields `root`'s schema does not declare; the root is a resource, its meta always known. */
export function pruneUnknownFields(value: JsonValue, root: SchemaNode): Pruned {
  const walk: Walk = { unknown: [] };
  const pruned = pruneValue(value, { ...root, embeddedResource: true }, '', walk, true);
  return { value: pruned, unknownFields: walk.unknown };
}

const schemaForField = (node: SchemaNode | undefined, key: string): SchemaNode | undefined =>
  node?.properties.get(key) ?? node?.additionalProperties?.node;

/**
 * Drops nulls where the schema neither allows null nor has a default to put in their place.
 * Nothing is dropped below a value without schema, so the walk stops there.
 */
export function pruneNonNullableNulls(value: JsonValue, node: SchemaNode | undefined): JsonValue {
  if (node === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => pruneNonNullableNulls(item, node.items));
  const object = asObject(value);
  if (object === undefined) return value;
  const kept: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(object)) {
    const schema = schemaForField(node, key);
    if (field === null && schema !== undefined && !schema.nullable && schema.default === undefined) continue;
    kept[key] = pruneNonNullableNulls(field, schema);
  }
  return kept;
}
