// The shapes of the built-in Kubernetes types, read from @kubernetes/client-node's generated
// models (generated from the upstream OpenAPI of Kubernetes v1.34): every field's name and type.
// Patch strategies, schema validation and OpenAPI documents all walk this one graph.
import * as clientNode from '@kubernetes/client-node';

/** A field's type, as the upstream OpenAPI declares it. */
export type FieldType =
  | { readonly kind: 'scalar'; readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date-time' | 'int-or-string' | 'any'; readonly format: string }
  | { readonly kind: 'object'; readonly typeName: string }
  | { readonly kind: 'array'; readonly items: FieldType }
  | { readonly kind: 'map'; readonly values: FieldType };

export interface TypeShape {
  /** client-node's model name, e.g. `V1PodSpec`. */
  readonly name: string;
  /** JSON field name → type, in upstream order. */
  readonly fields: ReadonlyMap<string, FieldType>;
}

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
  readonly format: string;
}

type Model = { getAttributeTypeMap?: () => readonly AttributeType[] };
const models = clientNode as unknown as Record<string, Model | undefined>;
const shapes = new Map<string, TypeShape | null>();

/** Parses client-node's type strings: `string`, `V1Container`, `Array<V1Container>`, `{ [key: string]: string; }`. */
export function parseFieldType(type: string, format: string): FieldType {
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1] !== undefined) return { kind: 'array', items: parseFieldType(array[1], '') };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1] !== undefined) return { kind: 'map', values: parseFieldType(map[1], '') };
  switch (type) {
    case 'string':
      return { kind: 'scalar', type: 'string', format };
    case 'number':
      return { kind: 'scalar', type: format === 'int32' || format === 'int64' ? 'integer' : 'number', format };
    case 'boolean':
      return { kind: 'scalar', type: 'boolean', format };
    case 'Date':
      return { kind: 'scalar', type: 'date-time', format: 'date-time' };
    case 'IntOrString':
      return { kind: 'scalar', type: 'int-or-string', format: 'int-or-string' };
    case 'any':
    case 'object':
      return { kind: 'scalar', type: 'any', format };
    default:
      return { kind: 'object', typeName: type };
  }
}

/** The shape of one built-in type, or undefined when client-node has no such model. */
export function builtinType(name: string): TypeShape | undefined {
  const cached = shapes.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const attributes = models[name]?.getAttributeTypeMap?.();
  const shape = attributes === undefined ? null : { name, fields: new Map(attributes.map((a) => [a.baseName, parseFieldType(a.type, a.format)])) };
  shapes.set(name, shape);
  return shape ?? undefined;
}

/** The type of `field` in `typeName`, if declared. */
export const fieldTypeOf = (typeName: string, field: string): FieldType | undefined => builtinType(typeName)?.fields.get(field);

/**
 * client-node's model name for a top-level kind: `v1`/`Pod` → `V1Pod`, `apps/v1`/`Deployment` →
 * `V1Deployment`, `coordination.k8s.io/v1`/`Lease` → `V1Lease`. Undefined when there is none.
 */
export function builtinKindType(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  if (builtinType(name) !== undefined) return name;
  // Where two groups share a kind name, client-node prefixes the core one: core/v1 Event is `CoreV1Event`.
  const core = `Core${name}`;
  return apiVersion === 'v1' && builtinType(core) !== undefined ? core : undefined;
}
