// Turns kubernetes-models' ajv violations into Kubernetes field errors, worded as kube-apiserver's
// OpenAPI validation words them: `spec.containers[0].name: Required value`,
// `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
import { type BadValue, type FieldError, goQuote, invalid, notSupported, required, typeInvalid } from './field-error.format.js';
import type { SchemaViolation } from './kubernetes-models.catalog.js';
import { builtinType, type FieldType } from './type-graph.js';
import { base64ErrorOffset } from './k8s-names.rules.js';
import { resolvedFieldType } from './type-graph.aliases.js';

/** The JSON type name kube-openapi reports for a value. */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const NO_TYPE: FieldType = { kind: 'scalar', type: 'any', format: '' };

/** The declared type of a child: a field of an object type, an array's items, a map's values. */
function childType(type: FieldType, segment: string): FieldType {
  const resolved = resolvedFieldType(type);
  switch (resolved.kind) {
    case 'object':
      return builtinType(resolved.typeName)?.fields.get(segment) ?? NO_TYPE;
    case 'array':
      return resolved.items;
    case 'map':
      return resolved.values;
    case 'scalar':
      return NO_TYPE;
  }
}

/**
 * A JSON pointer as a Kubernetes field path, printed as upstream's field.Path prints it: array indices
 * and map keys in brackets, fields dot-joined (`/spec/containers/0/name` → `spec.containers[0].name`,
 * `/data/key` → `data[key]`). The declared type of the root tells map keys from fields.
 */
export function fieldPathOf(instancePath: string, document: unknown, rootModel?: string): string {
  if (instancePath === '') return '';
  let path = '';
  let current: unknown = document;
  let type: FieldType = rootModel === undefined ? NO_TYPE : { kind: 'object', typeName: rootModel };
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const inMap = resolvedFieldType(type).kind === 'map';
    if (Array.isArray(current) || inMap) path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
    current = Array.isArray(current) ? current[Number(segment)] : typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
    type = childType(type, segment);
  }
  return path;
}

const valueAt = (instancePath: string, document: unknown): unknown => {
  let current = document;
  for (const raw of instancePath === '' ? [] : instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
};

const asBadValue = (value: unknown): BadValue =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : { goSyntax: JSON.stringify(value) ?? 'null' };

// kube-openapi quotes the offending value with %q.
const quotedValue = (value: unknown): string => (typeof value === 'string' ? goQuote(value) : JSON.stringify(value) ?? 'null');

const childField = (parent: string, name: string): string => (parent === '' ? name : `${parent}.${name}`);

/**
 * A format violation. Format `byte` is judged by Go's base64 decoder instead of ajv's stricter regex (Go
 * skips line breaks), and reported as the decoder would, without echoing what may be a secret.
 */
function formatErrors(field: string, value: unknown, format: string): FieldError[] {
  if (format !== 'byte') return [invalid(field, asBadValue(value), `${field} in body must be of type ${format}: ${quotedValue(value)}`)];
  const offset = typeof value === 'string' ? base64ErrorOffset(value) : undefined;
  return offset === undefined ? [] : [invalid(field, undefined, `illegal base64 data at input byte ${offset}`)];
}

/**
 * One field's violations as field errors. A `oneOf` (IntOrString, Quantity) fails with a type or format
 * violation per branch; they collapse into a single type error, or a format error when the value had
 * a branch's type but not its format.
 */
function errorsForField(field: string, value: unknown, violations: readonly SchemaViolation[]): FieldError[] {
  const actual = jsonTypeName(value);
  if (violations.some((v) => v.keyword === 'oneOf' || v.keyword === 'anyOf')) {
    const format = violations.find((v) => v.keyword === 'format');
    if (format !== undefined) return formatErrors(field, value, String(format.params['format']));
    const types = violations.filter((v) => v.keyword === 'type').map((v) => String(v.params['type']));
    return [typeInvalid(field, types.join(','), actual)];
  }
  return violations.flatMap((violation) => {
    switch (violation.keyword) {
      case 'type':
        return [typeInvalid(field, String(violation.params['type']), actual)];
      case 'enum':
        return [notSupported(field, asBadValue(value), (violation.params['allowedValues'] as readonly unknown[]).map(String))];
      case 'format':
        return formatErrors(field, value, String(violation.params['format']));
      default:
        return [invalid(field, asBadValue(value), `${field} in body ${violation.message ?? violation.keyword}`)];
    }
  });
}

/**
 * Field errors for ajv's violations against `document`. `apiVersion` and `kind` at the top are left to the
 * server, which knows them from the URL.
 */
export function schemaFieldErrors(violations: readonly SchemaViolation[], document: unknown, rootModel?: string): FieldError[] {
  const errors: FieldError[] = [];
  const byPath = new Map<string, SchemaViolation[]>();
  for (const violation of violations) {
    if (violation.keyword === 'required') {
      const missing = String(violation.params['missingProperty']);
      const isTypeMeta = violation.instancePath === '' && (missing === 'apiVersion' || missing === 'kind');
      if (!isTypeMeta) errors.push(required(childField(fieldPathOf(violation.instancePath, document, rootModel), missing)));
    } else if (violation.instancePath !== '/apiVersion' && violation.instancePath !== '/kind') {
      byPath.set(violation.instancePath, [...(byPath.get(violation.instancePath) ?? []), violation]);
    }
  }
  for (const [instancePath, atPath] of byPath) {
    errors.push(...errorsForField(fieldPathOf(instancePath, document, rootModel), valueAt(instancePath, document), atPath));
  }
  return errors;
}
