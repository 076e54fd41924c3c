// Field types the type graph leaves as object references although upstream serializes them as strings.
// client-node types `metav1.MicroTime` as a model `V1MicroTime` it never generates (format
// `date-time-micro`); everything that walks the graph resolves fields through `resolvedFieldType`.
import { builtinType, type FieldType } from './type-graph.js';

const SCALAR_ALIASES: ReadonlyMap<string, FieldType> = new Map([['V1MicroTime', { kind: 'scalar', type: 'date-time', format: 'date-time' }]]);

/** The field type with scalar aliases resolved, recursively through arrays and maps. */
export function resolvedFieldType(type: FieldType): FieldType {
  switch (type.kind) {
    case 'object':
      return builtinType(type.typeName) === undefined ? (SCALAR_ALIASES.get(type.typeName) ?? type) : type;
    case 'array':
      return { kind: 'array', items: resolvedFieldType(type.items) };
    case 'map':
      return { kind: 'map', values: resolvedFieldType(type.values) };
    case 'scalar':
      return type;
  }
}
