// Value validation of custom resources with ajv: a CRD schema is rewritten into the plain JSON
// Schema ajv understands (Kubernetes' extensions and OpenAPI 3.0 quirks translated), and ajv's
// errors are reworded into the field errors kube-apiserver reports for the same failures.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { err, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import {
  childPath,
  goFloat,
  goQuote,
  invalidError,
  notSupportedError,
  requiredError,
  tooLongError,
  tooManyError,
  typeInvalidError,
  type FieldError,
} from './crd-schema.errors.js';
import { formatCheckFor } from './crd-schema.formats.js';
import { asObject } from './crd-schema.node.js';

// Go's RE2 takes leading inline flags (`(?i)`); JavaScript takes them as RegExp flags. Patterns
// Go accepts but unicode mode rejects (`\_`, `\-` outside a class) get a second try without it.
function kubeRegExp(pattern: string, unicode: string): RegExp {
  const inline = /^\(\?([ims]+)\)/.exec(pattern);
  const body = inline === null ? pattern : pattern.slice(inline[0].length);
  const flags = inline?.[1] ?? '';
  try {
    return new RegExp(body, `${unicode}${flags}`);
  } catch {
    return new RegExp(body, flags);
  }
}

const ajv = new Ajv({
  allErrors: true,
  verbose: true,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  validateFormats: true,
  code: { regExp: Object.assign(kubeRegExp, { code: 'kubeRegExp' }) },
});

// Keywords that carry over unchanged; bounds and formats need translating, the rest is Kubernetes'.
const VALUE_KEYWORDS = ['enum', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf'] as const;
const BRANCH_KEYWORDS = ['allOf', 'anyOf', 'oneOf'] as const;

const kubeTypes = (raw: JsonObject): readonly string[] => {
  if (raw['x-kubernetes-int-or-string'] === true) return ['integer', 'string'];
  return typeof raw['type'] === 'string' ? [raw['type']] : [];
};

// OpenAPI 3.0 writes `exclusiveMaximum: true` beside `maximum`; JSON Schema 7 writes the bound itself.
function copyBounds(raw: JsonObject, out: Record<string, JsonValue>): void {
  for (const [bound, exclusive] of [['maximum', 'exclusiveMaximum'], ['minimum', 'exclusiveMinimum']] as const) {
    const limit = raw[bound];
    if (typeof limit !== 'number') continue;
    out[raw[exclusive] === true ? exclusive : bound] = limit;
  }
}

// Upstream ignores formats it does not know (int32, int64, float…); known ones are checked by name.
function copyFormat(raw: JsonObject, out: Record<string, JsonValue>): void {
  const format = raw['format'];
  if (typeof format !== 'string') return;
  const check = formatCheckFor(format);
  if (check === undefined) return;
  if (ajv.formats[format] === undefined) ajv.addFormat(format, { type: 'string', validate: check });
  out['format'] = format;
}

function copySubschemas(raw: JsonObject, out: Record<string, JsonValue>, atRoot: boolean): void {
  const properties = asObject(raw['properties']);
  if (properties !== undefined) {
    const converted: Record<string, JsonValue> = {};
    for (const [name, child] of Object.entries(properties)) {
      // The server validates the root's metadata itself, as ObjectMeta.
      if (atRoot && name === 'metadata') continue;
      const childObject = asObject(child);
      if (childObject !== undefined) converted[name] = toAjvSchema(childObject, false);
    }
    out['properties'] = converted;
  }
  const additional = raw['additionalProperties'];
  if (additional === false) out['additionalProperties'] = false;
  const additionalObject = asObject(additional);
  if (additionalObject !== undefined) out['additionalProperties'] = toAjvSchema(additionalObject, false);
  const items = asObject(raw['items']);
  if (items !== undefined) out['items'] = toAjvSchema(items, false);
  for (const keyword of BRANCH_KEYWORDS) {
    const branches = raw[keyword];
    if (Array.isArray(branches)) out[keyword] = branches.flatMap((branch) => (asObject(branch) === undefined ? [] : [toAjvSchema(branch as JsonObject, false)]));
  }
  const not = asObject(raw['not']);
  if (not !== undefined) out['not'] = toAjvSchema(not, false);
}

/** The JSON Schema ajv checks for one CRD schema node (and everything under it). */
export function toAjvSchema(raw: JsonObject, atRoot: boolean): JsonObject {
  const out: Record<string, JsonValue> = {};
  const types = kubeTypes(raw);
  // `nullable` becomes a 'null' type so ajv needs no OpenAPI mode; messages drop it again.
  const allowed = raw['nullable'] === true && types.length > 0 ? [...types, 'null'] : types;
  if (allowed.length > 0) out['type'] = allowed.length === 1 ? (allowed[0] ?? null) : allowed;
  for (const keyword of VALUE_KEYWORDS) {
    const value = raw[keyword];
    if (value !== undefined) out[keyword] = value;
  }
  const required = raw['required'];
  if (Array.isArray(required)) out['required'] = atRoot ? required.filter((name) => name !== 'metadata') : required;
  copyBounds(raw, out);
  copyFormat(raw, out);
  copySubschemas(raw, out, atRoot);
  return out;
}

/** Compiles with the shared ajv instance; a schema ajv refuses (a bad pattern, say) is an error. */
export function compileAjvValidator(schema: JsonObject): Result<ValidateFunction, string> {
  try {
    return ok(ajv.compile(schema));
  } catch (error) {
    return err(`openAPIV3Schema: Invalid value: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Lets ajv forget a compiled schema (its cache holds schemas strongly). */
export const forgetAjvValidator = (schema: JsonObject): void => {
  ajv.removeSchema(schema);
};

const decodePointerSegment = (segment: string): string => segment.replaceAll('~1', '/').replaceAll('~0', '~');

/** Upstream's path for a JSON pointer into `root`: object keys joined by '.', array indexes bracketed. */
export function fieldPathOf(instancePath: string, root: JsonValue): string {
  if (instancePath === '') return '';
  let path = '';
  let cursor: JsonValue | undefined = root;
  for (const segment of instancePath.slice(1).split('/').map(decodePointerSegment)) {
    if (Array.isArray(cursor)) {
      path = `${path}[${segment}]`;
      cursor = (cursor as readonly JsonValue[])[Number(segment)];
    } else {
      path = childPath(path, segment);
      cursor = asObject(cursor)?.[segment];
    }
  }
  return path;
}

// Errors inside an anyOf/oneOf branch or under `not` are not the resource's errors: upstream
// reports the combinator's own message instead. Only keywords are inspected, not property names.
function isInsideBranch(schemaPath: string): boolean {
  const segments = schemaPath.split('/').slice(1).map(decodePointerSegment);
  for (let i = 0; i < segments.length; i += 1) {
    const keyword = segments[i];
    if (keyword === 'properties' || keyword === 'allOf') i += 1;
    else if ((keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'not') && i + 1 < segments.length) return true;
  }
  return false;
}

/** The JSON type upstream names for a decoded value (integral numbers are integers). */
export function jsonTypeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

// kube-openapi prints a bound as int64 when the value is an integer and as float64 otherwise.
const boundText = (limit: number, data: JsonValue): string =>
  typeof data === 'number' && Number.isInteger(data) ? String(Math.trunc(limit)) : goFloat(limit);

const BOUND_WORDS: Readonly<Record<string, string>> = {
  maximum: 'less than or equal to',
  exclusiveMaximum: 'less than',
  minimum: 'greater than or equal to',
  exclusiveMinimum: 'greater than',
};

const expectedTypes = (parentSchema: unknown): string => {
  const type = asObject(parentSchema as JsonValue)?.['type'];
  const types = Array.isArray(type) ? type : [type];
  return types.filter((t) => t !== 'null').join(',');
};

const sizeOf = (data: JsonValue): number => (Array.isArray(data) ? data.length : Object.keys(asObject(data) ?? {}).length);
const limitOf = (error: ErrorObject): number => Number((error.params as { limit?: number }).limit);

// One ajv error in upstream's words; `path` is the field path of the value the keyword checked.
function toFieldError(error: ErrorObject, path: string): FieldError {
  const data = (error.data ?? null) as JsonValue;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type': {
      const actual = jsonTypeOf(data);
      return typeInvalidError(path, actual, `${path} in body must be of type ${expectedTypes(error.parentSchema)}: ${goQuote(actual)}`);
    }
    case 'required':
      return requiredError(childPath(path, String(params['missingProperty'])));
    case 'enum': {
      const allowed = (params['allowedValues'] as readonly JsonValue[]).map((value) => (typeof value === 'string' ? value : JSON.stringify(value)));
      return notSupportedError(path, data, allowed);
    }
    case 'pattern':
      return invalidError(path, data, `${path} in body should match '${String(params['pattern'])}'`);
    case 'format':
      return typeInvalidError(path, data, `${path} in body must be of type ${String(params['format'])}: ${goQuote(String(data))}`);
    case 'maxLength':
      return tooLongError(path, limitOf(error));
    case 'minLength':
      return invalidError(path, data, `${path} in body should be at least ${limitOf(error)} chars long`);
    case 'maximum':
    case 'exclusiveMaximum':
    case 'minimum':
    case 'exclusiveMinimum':
      return invalidError(path, data, `${path} in body should be ${BOUND_WORDS[error.keyword] ?? ''} ${boundText(limitOf(error), data)}`);
    case 'multipleOf':
      return invalidError(path, data, `${path} in body should be a multiple of ${boundText(Number(params['multipleOf']), data)}`);
    default:
      return toShapeFieldError(error, path, data, params);
  }
}

// Errors about sizes, extra keys and combinators, split off to keep each mapping short.
function toShapeFieldError(error: ErrorObject, path: string, data: JsonValue, params: Record<string, unknown>): FieldError {
  switch (error.keyword) {
    case 'maxItems':
    case 'maxProperties':
      return tooManyError(path, sizeOf(data), limitOf(error));
    case 'minItems':
      return invalidError(path, sizeOf(data), `${path} in body should have at least ${limitOf(error)} items`);
    case 'minProperties':
      return invalidError(path, sizeOf(data), `${path} in body should have at least ${limitOf(error)} properties`);
    case 'uniqueItems':
      return invalidError(path, '', `${path} in body shouldn't contain duplicates`);
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      return invalidError(path, name, `${path}.${name} in body is a forbidden property`);
    }
    // Upstream's combinator errors are not field errors, so they come out against a nil path.
    case 'anyOf':
      return invalidError('<nil>', '', `${goQuote(path)} must validate at least one schema (anyOf)`);
    case 'oneOf': {
      const passing = params['passingSchemas'];
      const found = Array.isArray(passing) ? `Found ${passing.length} valid alternatives` : 'Found none valid';
      return invalidError('<nil>', '', `${goQuote(path)} must validate one and only one schema (oneOf). ${found}`);
    }
    case 'not':
      return invalidError('<nil>', '', `${goQuote(path)} must not validate the schema (not)`);
    default:
      return invalidError(path, data, `${path} in body ${error.message ?? `failed ${error.keyword}`}`);
  }
}

// Upstream names an error about the whole object by its nil path; the message keeps the empty one.
const atField = (error: FieldError): FieldError => (error.field === '' ? { ...error, field: '<nil>' } : error);

/** ajv's errors for `root`, as upstream's field errors. */
export const toFieldErrors = (errors: readonly ErrorObject[], root: JsonValue): readonly FieldError[] =>
  errors.filter((error) => !isInsideBranch(error.schemaPath)).map((error) => atField(toFieldError(error, fieldPathOf(error.instancePath, root))));
