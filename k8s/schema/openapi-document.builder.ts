// Assembles the `paths` and schema definitions of an OpenAPI document (v2 or v3) for a set of served
// group-versions: built-in kinds from the type graph, custom kinds from their CRD `openAPIV3Schema`,
// each kind referencing upstream's ObjectMeta and carrying `x-kubernetes-group-version-kind`.
import { typeDocsOf } from './field-docs.catalog.js';
import { upstreamDefinitionName } from './upstream-names.mapping.js';
import { builtinKindType, builtinType } from './type-graph.js';
import { type GroupVersionKind, definitionNameOf, definitionsFor } from './openapi-schemas.builder.js';
import { resourcePaths } from './openapi-paths.builder.js';
import { type GroupVersion, type JsonBuilder, type JsonObject, type JsonValue, type OpenApiDialect, type OpenApiOptions, type ResourceInfo, refTo } from './openapi.types.js';

/** A group-version to document: its resources and, for custom resources, their schemas by kind. */
export interface DocumentedGroupVersion extends GroupVersion {
  readonly resources: readonly ResourceInfo[];
  /** `openAPIV3Schema` of each custom kind; a custom kind without one is documented as free-form. */
  readonly crdSchemas?: ReadonlyMap<string, JsonObject>;
}

const OBJECT_META = 'V1ObjectMeta';
const LIST_META = 'V1ListMeta';
// Types every document's operations refer to (delete bodies and responses).
const OPERATION_MODELS: readonly string[] = ['V1DeleteOptions', 'V1Status'];

/**
 * The client-node model of a built-in kind served in this group-version. The type graph ignores the
 * group (`devices.kubeedge.io/v1beta1` Device would find resource.k8s.io's Device), so the model's
 * upstream package must belong to the same group.
 */
export function builtinModelOf(gv: GroupVersion, kind: string): string | undefined {
  const model = builtinKindType(gv.group === '' ? gv.version : `${gv.group}/${gv.version}`, kind);
  const upstream = model === undefined ? undefined : upstreamDefinitionName(model);
  if (model === undefined || upstream === undefined) return undefined;
  const packageGroup = upstream.split('.').at(-3);
  const servedGroup = gv.group === '' ? 'core' : gv.group.split('.')[0];
  return packageGroup === servedGroup ? model : undefined;
}

/** Upstream's definition name of a custom kind: the group reversed, `io.kubeedge.devices.v1beta1.Device`. */
export const customDefinitionName = (gv: GroupVersion, kind: string): string => [...gv.group.split('.').reverse(), gv.version, kind].join('.');

const described = (dialect: OpenApiDialect, model: string, description: string | undefined): JsonObject => {
  const ref = { $ref: refTo(dialect, definitionNameOf(model)) };
  if (description === undefined) return ref;
  return dialect === 'v3' ? { description, allOf: [ref] } : { description, ...ref };
};

// kubectl's v2 parser refuses arrays without `items`; structural schemas always have them, but be safe.
function withArrayItems(schema: JsonValue): JsonValue {
  if (Array.isArray(schema)) return schema.map(withArrayItems);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: JsonBuilder = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = withArrayItems(value);
  if (copy['type'] === 'array' && copy['items'] === undefined) copy['items'] = {};
  return copy;
}

/** A custom kind's schema: its CRD schema with apiVersion, kind and metadata as upstream's builder sets them. */
function customKindSchema(gv: GroupVersion, kind: string, crdSchema: JsonObject | undefined, dialect: OpenApiDialect): JsonObject {
  const podDocs = typeDocsOf('V1Pod').fields;
  const base = (withArrayItems(crdSchema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) ?? {}) as JsonObject;
  const properties = typeof base['properties'] === 'object' && base['properties'] !== null && !Array.isArray(base['properties']) ? (base['properties'] as JsonObject) : {};
  return {
    ...base,
    type: 'object',
    properties: {
      ...properties,
      apiVersion: { description: podDocs.get('apiVersion') ?? '', type: 'string' },
      kind: { description: podDocs.get('kind') ?? '', type: 'string' },
      metadata: described(dialect, OBJECT_META, podDocs.get('metadata')),
    },
    'x-kubernetes-group-version-kind': [{ group: gv.group, version: gv.version, kind }],
  };
}

function customListSchema(gv: GroupVersion, resource: ResourceInfo, dialect: OpenApiDialect): JsonObject {
  const listDocs = typeDocsOf('V1PodList').fields;
  return {
    description: `${resource.kind}List is a list of ${resource.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { description: listDocs.get('apiVersion') ?? '', type: 'string' },
      items: { description: `List of ${resource.plural}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, type: 'array', items: { $ref: refTo(dialect, customDefinitionName(gv, resource.kind)) } },
      kind: { description: listDocs.get('kind') ?? '', type: 'string' },
      metadata: described(dialect, LIST_META, listDocs.get('metadata')),
    },
    'x-kubernetes-group-version-kind': [{ group: gv.group, version: gv.version, kind: `${resource.kind}List` }],
  };
}

/** The `paths` and definitions (v2) or `components.schemas` (v3) for the group-versions. */
export function documentParts(groupVersions: readonly DocumentedGroupVersion[], dialect: OpenApiDialect, options: OpenApiOptions = {}): { paths: JsonBuilder; definitions: JsonBuilder } {
  const gvksByModel = new Map<string, GroupVersionKind[]>();
  const servedAs = (model: string, gvk: GroupVersionKind): void => void gvksByModel.set(model, [...(gvksByModel.get(model) ?? []), gvk]);
  const paths: JsonBuilder = {};
  const custom: JsonBuilder = {};
  for (const gv of groupVersions) {
    for (const resource of gv.resources) {
      const model = gv.crdSchemas?.has(resource.kind) === true ? undefined : builtinModelOf(gv, resource.kind);
      const listModel = model !== undefined && builtinType(`${model}List`) !== undefined ? `${model}List` : undefined;
      if (model !== undefined) servedAs(model, { ...gv, kind: resource.kind });
      if (listModel !== undefined) servedAs(listModel, { ...gv, kind: `${resource.kind}List` });
      const definition = model === undefined ? customDefinitionName(gv, resource.kind) : definitionNameOf(model);
      const listDefinition = listModel === undefined ? `${definition}List` : definitionNameOf(listModel);
      if (model === undefined) {
        custom[definition] = customKindSchema(gv, resource.kind, gv.crdSchemas?.get(resource.kind), dialect);
        custom[listDefinition] = customListSchema(gv, resource, dialect);
      }
      Object.assign(paths, resourcePaths({ group: gv.group, version: gv.version }, { resource, definition, listDefinition, builtin: model !== undefined }, dialect));
    }
  }
  const roots = [...gvksByModel.keys(), OBJECT_META, LIST_META, ...OPERATION_MODELS];
  const definitions = { ...definitionsFor(roots, dialect, (m) => gvksByModel.get(m) ?? [], options.extensionsOf), ...custom };
  return { paths, definitions };
}
