// Builds OpenAPI schema definitions for built-in types from the type graph: upstream definition names,
// property types and formats, upstream descriptions, required lists, `x-kubernetes-group-version-kind`
// on kinds, IntOrString marked as upstream marks it, and whatever extensions the caller adds per field.
import { requiredFieldsOf } from './kubernetes-models.catalog.js';
import { definitionDescriptionOf, typeDocsOf } from './field-docs.catalog.js';
import { upstreamDefinitionName } from './upstream-names.mapping.js';
import { builtinType, type FieldType } from './type-graph.js';
import { resolvedFieldType } from './type-graph.aliases.js';
import { type ExtensionsOf, type GroupVersion, type JsonBuilder, type JsonObject, type OpenApiDialect, refTo } from './openapi.types.js';

/** A kind's `x-kubernetes-group-version-kind` entry. */
export interface GroupVersionKind extends GroupVersion {
  readonly kind: string;
}

/** Upstream's description of `metav1.Patch`, the PATCH request body type (it has no client-node model). */
export const PATCH_DEFINITION = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const PATCH_DESCRIPTION = 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.';

/** The definition name of a model: its upstream name, or the model name itself when unknown. */
export const definitionNameOf = (model: string): string => upstreamDefinitionName(model) ?? model;

/** IntOrString is a definition of its own, as upstream has it; kubectl explain names a field's type after its `$ref`. */
export const INT_OR_STRING_DEFINITION = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

function intOrStringDefinition(dialect: OpenApiDialect): JsonObject {
  const description = definitionDescriptionOf(INT_OR_STRING_DEFINITION);
  const described: JsonObject = description === undefined ? {} : { description };
  // v3 marks it as CRD structural schemas do; kubectl's v2 parser needs exactly one primitive type.
  return dialect === 'v3'
    ? { ...described, format: 'int-or-string', 'x-kubernetes-int-or-string': true, oneOf: [{ type: 'integer' }, { type: 'string' }] }
    : { ...described, type: 'string', format: 'int-or-string' };
}

/** The schema of a value of a field type (without description). */
export function valueSchema(declared: FieldType, dialect: OpenApiDialect): JsonObject {
  const type = resolvedFieldType(declared);
  switch (type.kind) {
    case 'array':
      return { type: 'array', items: valueSchema(type.items, dialect) };
    case 'map':
      return { type: 'object', additionalProperties: valueSchema(type.values, dialect) };
    case 'object':
      return builtinType(type.typeName) === undefined ? {} : { $ref: refTo(dialect, definitionNameOf(type.typeName)) };
    case 'scalar':
      switch (type.type) {
        case 'int-or-string':
          return { $ref: refTo(dialect, INT_OR_STRING_DEFINITION) };
        case 'date-time':
          return { type: 'string', format: 'date-time' };
        case 'any':
          return {};
        default:
          return type.format === '' ? { type: type.type } : { type: type.type, format: type.format };
      }
  }
}

/**
 * A property: the value schema plus description. In v3 a described reference is wrapped in `allOf`,
 * as upstream does, since siblings of `$ref` are ignored there; v2 readers take the sibling description.
 */
export function propertySchema(declared: FieldType, description: string | undefined, dialect: OpenApiDialect): JsonObject {
  const value = valueSchema(declared, dialect);
  if (description === undefined) return value;
  if (dialect === 'v3' && typeof value['$ref'] === 'string') return { description, allOf: [value] };
  return { description, ...value };
}

/** The definition of one built-in model, with its GVKs when it is a served kind (or a list of one). */
export function definitionOf(model: string, dialect: OpenApiDialect, gvks: readonly GroupVersionKind[], extensionsOf?: ExtensionsOf): JsonObject {
  const shape = builtinType(model);
  const docs = typeDocsOf(model);
  const properties: JsonBuilder = {};
  for (const [field, type] of shape?.fields ?? []) {
    properties[field] = { ...propertySchema(type, docs.fields.get(field), dialect), ...(extensionsOf?.(model, field) ?? {}) };
  }
  const upstream = upstreamDefinitionName(model);
  const required = upstream === undefined ? [] : requiredFieldsOf(upstream).filter((f) => f in properties);
  const definition: JsonBuilder = { type: 'object', properties };
  if (docs.description !== undefined) definition['description'] = docs.description;
  if (required.length > 0) definition['required'] = [...required];
  if (gvks.length > 0) definition['x-kubernetes-group-version-kind'] = gvks.map((g) => ({ group: g.group, version: g.version, kind: g.kind }));
  return definition;
}

const referencedModels = (declared: FieldType): string[] => {
  const type = resolvedFieldType(declared);
  switch (type.kind) {
    case 'object':
      return builtinType(type.typeName) === undefined ? [] : [type.typeName];
    case 'array':
      return referencedModels(type.items);
    case 'map':
      return referencedModels(type.values);
    case 'scalar':
      return [];
  }
};

/** The models reachable from the roots (roots included), in a stable breadth-first order. */
export function reachableModels(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = roots.filter((r) => builtinType(r) !== undefined);
  while (queue.length > 0) {
    const model = queue.shift() ?? '';
    if (seen.has(model)) continue;
    seen.add(model);
    for (const type of builtinType(model)?.fields.values() ?? []) queue.push(...referencedModels(type).filter((m) => !seen.has(m)));
  }
  return [...seen];
}

/**
 * Definitions (keyed by upstream name) for the root models and everything they reach, plus
 * `metav1.Patch` and IntOrString. `gvksOf` names the kinds a model is served as.
 */
export function definitionsFor(roots: readonly string[], dialect: OpenApiDialect, gvksOf: (model: string) => readonly GroupVersionKind[], extensionsOf?: ExtensionsOf): JsonBuilder {
  const definitions: JsonBuilder = {};
  for (const model of reachableModels(roots)) definitions[definitionNameOf(model)] = definitionOf(model, dialect, gvksOf(model), extensionsOf);
  definitions[PATCH_DEFINITION] = { description: PATCH_DESCRIPTION, type: 'object' };
  definitions[INT_OR_STRING_DEFINITION] = intOrStringDefinition(dialect);
  return definitions;
}
