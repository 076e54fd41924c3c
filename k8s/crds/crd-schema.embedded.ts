// Checks on x-kubernetes-embedded-resource values that kube-apiserver makes beside schema
// validation: apiVersion and kind as for any object (schemaobjectmeta.Validate), and metadata that
// must decode as ObjectMeta (schemaobjectmeta.Coerce). The root's own meta is the server's job.
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { childPath, indexPath, invalidError, keyPath, requiredError, type FieldError } from './crd-schema.errors.js';
import { asObject, type SchemaNode } from './crd-schema.node.js';

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1035LabelMaxLength = 63;
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function apiVersionErrors(path: string, value: JsonValue): readonly FieldError[] {
  if (typeof value !== 'string') return [invalidError(path, value, 'must be a string')];
  if (value === '') return [invalidError(path, value, 'must not be empty')];
  // schema.ParseGroupVersion accepts "v1" and "group/v1", nothing with more slashes.
  if (value.split('/').length > 2) return [invalidError(path, value, `unexpected GroupVersion string: ${value}`)];
  return [];
}

function kindErrors(path: string, value: JsonValue): readonly FieldError[] {
  if (typeof value !== 'string') return [invalidError(path, value, 'must be a string')];
  if (value === '') return [invalidError(path, value, 'must not be empty')];
  const lower = value.toLowerCase();
  const problems = [
    ...(lower.length > dns1035LabelMaxLength ? [`must be no more than ${dns1035LabelMaxLength} characters`] : []),
    ...(DNS1035_LABEL.test(lower) ? [] : [DNS1035_MESSAGE]),
  ];
  return problems.length === 0 ? [] : [invalidError(path, value, `may have mixed case, but should otherwise match: ${problems.join(',')}`)];
}

// Go names a decoded JSON value's type with %T.
const goTypeName = (value: JsonValue): string => {
  if (Array.isArray(value)) return '[]interface {}';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'float64';
  return typeof value;
};
// encoding/json names the JSON kind it could not put into a Go field.
const jsonKindName = (value: JsonValue): string => (Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value === 'boolean' ? 'bool' : typeof value);

const STRING_META_FIELDS = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'selfLink'] as const;
const STRING_MAP_META_FIELDS = ['labels', 'annotations'] as const;

// The first field encoding/json would refuse when decoding ObjectMeta, as its error text.
function objectMetaDecodeError(meta: JsonObject): string | undefined {
  for (const field of STRING_META_FIELDS) {
    const value = meta[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return `json: cannot unmarshal ${jsonKindName(value)} into Go struct field ObjectMeta.${field} of type string`;
    }
  }
  for (const field of STRING_MAP_META_FIELDS) {
    const value = meta[field];
    if (value === undefined || value === null) continue;
    const map = asObject(value);
    if (map === undefined) return `json: cannot unmarshal ${jsonKindName(value)} into Go struct field ObjectMeta.${field} of type map[string]string`;
    const bad = Object.values(map).find((entry) => entry !== null && typeof entry !== 'string');
    if (bad !== undefined) return `json: cannot unmarshal ${jsonKindName(bad)} into Go struct field ObjectMeta.${field} of type string`;
  }
  return undefined;
}

function metadataErrors(path: string, value: JsonValue): readonly FieldError[] {
  const meta = asObject(value);
  if (meta === undefined) return [invalidError(path, value, `invalid metadata: expected object, got ${goTypeName(value)}`)];
  const problem = objectMetaDecodeError(meta);
  return problem === undefined ? [] : [invalidError(path, value, problem)];
}

function resourceErrors(path: string, object: JsonObject): readonly FieldError[] {
  const errors: FieldError[] = [];
  if (!('apiVersion' in object)) errors.push(requiredError(childPath(path, 'apiVersion'), 'must not be empty'));
  if (!('kind' in object)) errors.push(requiredError(childPath(path, 'kind'), 'must not be empty'));
  if (object['apiVersion'] !== undefined) errors.push(...apiVersionErrors(childPath(path, 'apiVersion'), object['apiVersion']));
  if (object['kind'] !== undefined) errors.push(...kindErrors(childPath(path, 'kind'), object['kind']));
  if (object['metadata'] !== undefined) errors.push(...metadataErrors(childPath(path, 'metadata'), object['metadata']));
  return errors;
}

/** Errors in every embedded resource inside `value`, which `node` describes. */
export function embeddedResourceErrors(value: JsonValue, node: SchemaNode | undefined, path = ''): readonly FieldError[] {
  if (node === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item, index) => embeddedResourceErrors(item, node.items, indexPath(path, index)));
  const object = asObject(value);
  if (object === undefined) return [];
  const own = node.embeddedResource ? resourceErrors(path, object) : [];
  const nested = Object.entries(object).flatMap(([key, field]) => {
    const property = node.properties.get(key);
    if (property !== undefined) return embeddedResourceErrors(field, property, childPath(path, key));
    return embeddedResourceErrors(field, node.additionalProperties?.node, keyPath(path, key));
  });
  return [...own, ...nested];
}
