// Reads an apiextensions v1 `openAPIV3Schema` into the structural tree that pruning, defaulting
// and list-type checks walk (upstream's `structuralschema.Structural`), refusing schemas that are
// not structural in the ways those walks depend on.
import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
export type ListType = 'atomic' | 'set' | 'map';

/** One node of a structural schema: the parts that decide shape, not value validations. */
export interface SchemaNode {
  readonly type: SchemaType | undefined;
  readonly nullable: boolean;
  readonly properties: ReadonlyMap<string, SchemaNode>;
  /** Set when the object is a map; `node` is the schema of its values (undefined: any value). */
  readonly additionalProperties: { readonly node: SchemaNode | undefined } | undefined;
  readonly items: SchemaNode | undefined;
  readonly preserveUnknownFields: boolean;
  readonly embeddedResource: boolean;
  readonly intOrString: boolean;
  readonly listType: ListType | undefined;
  readonly listMapKeys: readonly string[];
  readonly required: readonly string[];
  readonly default: JsonValue | undefined;
}

/** Deeper schemas are refused; every walk over objects follows the schema, so this bounds them all. */
export const schemaDepthMax = 64;

const SCHEMA_TYPES: readonly string[] = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
const LIST_TYPES: readonly string[] = ['atomic', 'set', 'map'];

export const asObject = (value: JsonValue | undefined): JsonObject | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;

const asStrings = (value: JsonValue | undefined): readonly string[] =>
  Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];

/** Parses a whole `openAPIV3Schema`; errors use upstream's CRD validation paths and wording. */
export function parseStructuralSchema(raw: JsonValue): Result<SchemaNode, readonly string[]> {
  const errors: string[] = [];
  const rawRoot = asObject(raw);
  if (rawRoot === undefined) return err(['openAPIV3Schema: Invalid value: must be an object']);
  if (rawRoot['type'] !== 'object') errors.push(`openAPIV3Schema.type: Invalid value: ${JSON.stringify(rawRoot['type'] ?? '')}: must be object at the root`);
  const root = parseNode(rawRoot, 'openAPIV3Schema', 0, errors);
  return errors.length === 0 ? ok(root) : err(errors);
}

function parseNode(raw: JsonObject, path: string, depth: number, errors: string[]): SchemaNode {
  if (depth > schemaDepthMax) errors.push(`${path}: Forbidden: nested deeper than ${schemaDepthMax} levels`);
  const node: SchemaNode = {
    type: parseType(raw, path, errors),
    nullable: raw['nullable'] === true,
    properties: depth > schemaDepthMax ? new Map() : parseProperties(raw, path, depth, errors),
    additionalProperties: depth > schemaDepthMax ? undefined : parseAdditionalProperties(raw, path, depth, errors),
    items: depth > schemaDepthMax ? undefined : parseItems(raw, path, depth, errors),
    preserveUnknownFields: raw['x-kubernetes-preserve-unknown-fields'] === true,
    embeddedResource: raw['x-kubernetes-embedded-resource'] === true,
    intOrString: raw['x-kubernetes-int-or-string'] === true,
    listType: parseListType(raw, path, errors),
    listMapKeys: asStrings(raw['x-kubernetes-list-map-keys']),
    required: asStrings(raw['required']),
    default: raw['default'],
  };
  checkStructural(raw, node, path, errors);
  return node;
}

function parseType(raw: JsonObject, path: string, errors: string[]): SchemaType | undefined {
  const type = raw['type'];
  if (type === undefined) return undefined;
  if (typeof type === 'string' && SCHEMA_TYPES.includes(type)) return type as SchemaType;
  errors.push(`${path}.type: Unsupported value: ${JSON.stringify(type)}: supported values: ${SCHEMA_TYPES.map((t) => `"${t}"`).join(', ')}`);
  return undefined;
}

function parseProperties(raw: JsonObject, path: string, depth: number, errors: string[]): ReadonlyMap<string, SchemaNode> {
  const properties = new Map<string, SchemaNode>();
  const rawProperties = raw['properties'];
  if (rawProperties === undefined) return properties;
  const object = asObject(rawProperties);
  if (object === undefined) {
    errors.push(`${path}.properties: Invalid value: must be an object`);
    return properties;
  }
  for (const [name, rawChild] of Object.entries(object)) {
    const childPath = `${path}.properties[${name}]`;
    const child = asObject(rawChild);
    if (child === undefined) errors.push(`${childPath}: Invalid value: must be an object`);
    else properties.set(name, parseNode(child, childPath, depth + 1, errors));
  }
  return properties;
}

function parseAdditionalProperties(raw: JsonObject, path: string, depth: number, errors: string[]): SchemaNode['additionalProperties'] {
  const value = raw['additionalProperties'];
  if (value === undefined || value === false) return undefined;
  if (value === true) return { node: undefined };
  const object = asObject(value);
  if (object === undefined) {
    errors.push(`${path}.additionalProperties: Invalid value: must be a schema or a boolean`);
    return undefined;
  }
  return { node: parseNode(object, `${path}.additionalProperties`, depth + 1, errors) };
}

function parseItems(raw: JsonObject, path: string, depth: number, errors: string[]): SchemaNode | undefined {
  const value = raw['items'];
  if (value === undefined) return undefined;
  const object = asObject(value);
  if (object === undefined) {
    // A tuple (`items: [...]`) is not structural.
    errors.push(`${path}.items: Forbidden: items must be a schema object and not an array`);
    return undefined;
  }
  return parseNode(object, `${path}.items`, depth + 1, errors);
}

function parseListType(raw: JsonObject, path: string, errors: string[]): ListType | undefined {
  const value = raw['x-kubernetes-list-type'];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && LIST_TYPES.includes(value)) return value as ListType;
  errors.push(`${path}.x-kubernetes-list-type: Unsupported value: ${JSON.stringify(value)}: supported values: "atomic", "map", "set"`);
  return undefined;
}

// The structural rules the walks rely on: a type everywhere a value's shape matters, items on
// arrays, list-map keys that are always present, and no references.
function checkStructural(raw: JsonObject, node: SchemaNode, path: string, errors: string[]): void {
  if ('$ref' in raw) errors.push(`${path}.$ref: Forbidden: $ref is not supported`);
  if (node.type === undefined && !node.intOrString && !node.preserveUnknownFields) {
    errors.push(`${path}.type: Required value: must not be empty for specified object fields`);
  }
  if (node.intOrString && node.type !== undefined) errors.push(`${path}.type: Forbidden: must be empty if x-kubernetes-int-or-string is true`);
  if (node.embeddedResource && node.type !== 'object') errors.push(`${path}.type: Required value: must be object if x-kubernetes-embedded-resource is true`);
  if (node.type === 'array' && node.items === undefined) errors.push(`${path}.items: Required value: must be specified`);
  if (node.properties.size > 0 && node.additionalProperties !== undefined) {
    errors.push(`${path}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`);
  }
  checkListType(node, path, errors);
}

function checkListType(node: SchemaNode, path: string, errors: string[]): void {
  if (node.listType !== undefined && node.type !== 'array') errors.push(`${path}.type: Invalid value: must be array if x-kubernetes-list-type is specified`);
  if (node.listType !== 'map') {
    if (node.listMapKeys.length > 0) errors.push(`${path}.x-kubernetes-list-map-keys: Forbidden: can only be set if x-kubernetes-list-type is map`);
    return;
  }
  if (node.listMapKeys.length === 0) {
    errors.push(`${path}.x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`);
    return;
  }
  if (node.items?.type !== 'object') {
    errors.push(`${path}.items.type: Invalid value: must be object if parent array's x-kubernetes-list-type is map`);
    return;
  }
  for (const key of node.listMapKeys) {
    const keyNode = node.items.properties.get(key);
    if (keyNode === undefined) errors.push(`${path}.x-kubernetes-list-map-keys: Invalid value: "${key}": entries must all be names of item properties`);
    else if (keyNode.default === undefined && !node.items.required.includes(key)) {
      errors.push(`${path}.items.properties[${key}].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`);
    }
  }
}
