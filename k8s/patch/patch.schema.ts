// Walks the built-in type graph while patching: what type sits under a field, a list item or a map
// value, and what the vendored patch metadata says about that field.

import { builtinType, fieldTypeOf, type FieldType } from '../schema/type-graph.js';
import {
  atomicMapFields,
  atomicStructTypes,
  listMapKeyDefaults,
  listTypes,
  patchStrategies,
  type ListType,
  type PatchMeta,
} from './patch-strategies.data.js';
import type { JsonValue } from '../../kernel/index.js';

/** Where a value sits in the type graph; undefined where the graph knows nothing (unknown field, custom resource). */
export type SchemaNode = FieldType | undefined;

/** The node of a top-level built-in type, e.g. `V1Pod`; undefined when client-node has no such model. */
export const typeNode = (typeName: string | undefined): SchemaNode =>
  typeName !== undefined && builtinType(typeName) !== undefined ? { kind: 'object', typeName } : undefined;

/** The node under `key` of an object (a declared field) or of a map (its value type). */
export function childNode(node: SchemaNode, key: string): SchemaNode {
  if (node?.kind === 'object') return fieldTypeOf(node.typeName, key);
  if (node?.kind === 'map') return node.values;
  return undefined;
}

/** The node of a list's items. */
export const itemsNode = (node: SchemaNode): SchemaNode => (node?.kind === 'array' ? node.items : undefined);

/** Strategic merge patch metadata of `key` in an object node; undefined means "replace lists, merge maps". */
export const patchMetaOf = (node: SchemaNode, key: string): PatchMeta | undefined =>
  node?.kind === 'object' ? patchStrategies[`${node.typeName}.${key}`] : undefined;

/** Server-side apply semantics of the list under `key`; lists upstream leaves unmarked are atomic. */
export const listTypeOf = (node: SchemaNode, key: string): ListType =>
  (node?.kind === 'object' ? listTypes[`${node.typeName}.${key}`] : undefined) ?? { type: 'atomic' };

/** True for a struct field (a "named field" in structured-merge-diff terms), false for map keys and unknowns. */
export const isDeclaredField = (node: SchemaNode, key: string): boolean =>
  node?.kind === 'object' && fieldTypeOf(node.typeName, key) !== undefined;

/** `+structType=atomic` types, and scalars, are owned whole by server-side apply. */
export const isAtomicStruct = (node: SchemaNode): boolean => node?.kind === 'object' && atomicStructTypes.has(node.typeName);

/** `+mapType=atomic` string maps such as `spec.selector` of a Service. */
export const isAtomicMap = (parent: SchemaNode, key: string): boolean =>
  parent?.kind === 'object' && atomicMapFields.has(`${parent.typeName}.${key}`);

/** The `+default` of a list-map key field, used when an item omits it. */
export const keyDefaultOf = (item: SchemaNode, keyField: string): JsonValue | undefined =>
  item?.kind === 'object' ? listMapKeyDefaults[`${item.typeName}.${keyField}`] : undefined;

/** True when the node is a declared scalar (string, number, int-or-string, date-time…). */
export const isScalarNode = (node: SchemaNode): boolean => node?.kind === 'scalar' && node.type !== 'any';
