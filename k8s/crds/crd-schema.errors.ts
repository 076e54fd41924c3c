// Field errors worded the way kube-apiserver words custom-resource validation failures
// (k8s.io/apimachinery field.Error over kube-openapi's messages), so kubectl shows edgehive users
// the same text a real cluster would. Bad values are printed the way Go's fmt prints them.
import type { JsonValue } from '../../kernel/index.js';

/** The `reason` of a Status cause: upstream's field.ErrorType names. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTypeInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden';

/**
 * One validation failure, shaped like a Status cause: `field` is upstream's path
 * (`spec.properties[0].name`), `message` is upstream's `ErrorBody()` (`Required value`,
 * `Invalid value: "string": spec.foo in body must be of type integer: "string"`).
 */
export interface FieldError {
  readonly field: string;
  readonly type: FieldErrorType;
  readonly message: string;
}

/** The line kubectl prints for one error, e.g. `spec.properties[0].name: Required value`. */
export const formatFieldError = (error: FieldError): string => `${error.field}: ${error.message}`;

// Go's strconv.Quote: named escapes first, then \xNN for ASCII controls, \u/\U for other non-printables.
const GO_NAMED_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x07, '\\a'], [0x08, '\\b'], [0x0c, '\\f'], [0x0a, '\\n'], [0x0d, '\\r'], [0x09, '\\t'], [0x0b, '\\v'], [0x22, '\\"'], [0x5c, '\\\\'],
]);
const GO_NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

const hex = (code: number, width: number): string => code.toString(16).padStart(width, '0');

const quoteCodePoint = (char: string): string => {
  const code = char.codePointAt(0) ?? 0;
  const named = GO_NAMED_ESCAPES.get(code);
  if (named !== undefined) return named;
  if (code < 0x20 || code === 0x7f) return `\\x${hex(code, 2)}`;
  if (char === ' ' || !GO_NON_PRINTABLE.test(char)) return char;
  return code > 0xffff ? `\\U${hex(code, 8)}` : `\\u${hex(code, 4)}`;
};

/** Go's `%q` of a string (strconv.Quote). */
export function goQuote(value: string): string {
  let quoted = '"';
  for (const char of value) quoted += quoteCodePoint(char);
  return `${quoted}"`;
}

// Go prints a float64 with %v as %g at shortest precision: exponent form below 1e-4 and from 1e6
// up, with at least two exponent digits (`1e+06`, `1.5e-05`).
const GO_EXPONENT_FROM = 6;
const GO_EXPONENT_BELOW = -4;

/** Go's `%v` of a float64. */
export function goFloat(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  if (value === 0) return '0';
  const [mantissa = '0', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= GO_EXPONENT_BELOW && exponent < GO_EXPONENT_FROM) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/**
 * A JSON number as Go holds it after decoding into unstructured content: integral values are
 * int64 (printed plainly), everything else float64 (printed with %v).
 */
export const goNumber = (value: number): string => (Number.isSafeInteger(value) ? String(value) : goFloat(value));

/** Bad values are printed only this deep; deeper parts of a message show as `...`. */
export const badValueDepthMax = 32;

/** Go's `%#v` of an `interface{}` holding decoded JSON (maps sorted by key, as fmt does). */
export function goSyntax(value: JsonValue, depth = 0): string {
  if (value === null) return 'interface {}(nil)';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (depth >= badValueDepthMax) return '...';
  if (Array.isArray(value)) return `[]interface {}{${value.map((item) => goSyntax(item, depth + 1)).join(', ')}}`;
  const object = value as { readonly [key: string]: JsonValue };
  const entries = Object.keys(object)
    .sort()
    .map((key) => `${goQuote(key)}:${goSyntax(object[key] ?? null, depth + 1)}`);
  return `map[string]interface {}{${entries.join(', ')}}`;
}

/** How `field.Error.ErrorBody` prints a bad value: null as "null", scalars with %v/%q, the rest with %#v. */
export function goBadValue(value: JsonValue): string {
  if (value === null) return goQuote('null');
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return String(value);
  return goSyntax(value);
}

const withDetail = (head: string, detail: string): string => (detail === '' ? head : `${head}: ${detail}`);

/** `field.Required(path, detail)`. */
export const requiredError = (field: string, detail = ''): FieldError => ({
  field,
  type: 'FieldValueRequired',
  message: withDetail('Required value', detail),
});

/** `field.Invalid(path, value, detail)`. */
export const invalidError = (field: string, value: JsonValue, detail: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  message: withDetail(`Invalid value: ${goBadValue(value)}`, detail),
});

/** `field.TypeInvalid(path, value, detail)`: worded like Invalid, typed apart. */
export const typeInvalidError = (field: string, value: JsonValue, detail: string): FieldError => ({
  field,
  type: 'FieldValueTypeInvalid',
  message: withDetail(`Invalid value: ${goBadValue(value)}`, detail),
});

/** `field.NotSupported(path, value, validValues)`: the valid values quoted, in schema order. */
export const notSupportedError = (field: string, value: JsonValue, validValues: readonly string[]): FieldError => ({
  field,
  type: 'FieldValueNotSupported',
  message: withDetail(`Unsupported value: ${goBadValue(value)}`, validValues.length === 0 ? '' : `supported values: ${validValues.map(goQuote).join(', ')}`),
});

/** `field.Duplicate(path, value)`. */
export const duplicateError = (field: string, value: JsonValue): FieldError => ({
  field,
  type: 'FieldValueDuplicate',
  message: `Duplicate value: ${goBadValue(value)}`,
});

/** `field.TooLong(path, value, max)` as worded since Kubernetes v1.32; the value is never printed. */
export const tooLongError = (field: string, maxLength: number): FieldError => ({
  field,
  type: 'FieldValueTooLong',
  message: `Too long: may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}`,
});

/** `field.TooMany(path, actual, max)`. */
export const tooManyError = (field: string, actual: number, max: number): FieldError => ({
  field,
  type: 'FieldValueTooMany',
  message: `Too many: ${actual}: must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
});

/** Field paths as upstream's field.Path prints them: `a.b`, `a[0]`, `labels[key]`. */
export const childPath = (parent: string, name: string): string => (parent === '' ? name : `${parent}.${name}`);
export const indexPath = (parent: string, index: number): string => `${parent}[${index}]`;
export const keyPath = (parent: string, key: string): string => `${parent}[${key}]`;
