// Field errors worded the way kube-apiserver words them (k8s.io/apimachinery/pkg/util/validation/field),
// so a kubectl user sees the same text from edgehive as from a real cluster.

// The error shape, Go quoting and paths are shared with custom-resource validation (one wording for both).
import { childPath, goQuote, indexPath, keyPath, type FieldError, type FieldErrorType } from '../crds/crd-schema.errors.js';

export { childPath, goQuote, indexPath, keyPath, type FieldError, type FieldErrorType };

/** A bad value as Go's fmt would print it: strings are %q-quoted, numbers and booleans are %v, `goSyntax` is verbatim. */
export type BadValue = string | number | boolean | null | { readonly goSyntax: string };

const TYPE_TEXT: Readonly<Record<FieldErrorType, string>> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueTooLong: 'Too long',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooMany: 'Too many',
};

/** Go's `%#v` of a `map[string]string`: keys sorted, `(nil)` when absent. */
export function goStringMap(map: Readonly<Record<string, string>> | undefined): { readonly goSyntax: string } {
  if (map === undefined) return { goSyntax: 'map[string]string(nil)' };
  const entries = Object.keys(map)
    .sort()
    .map((key) => `${goQuote(key)}:${goQuote(map[key] ?? '')}`);
  return { goSyntax: `map[string]string{${entries.join(', ')}}` };
}

const renderBadValue = (value: BadValue): string => {
  if (value === null) return 'null';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value.goSyntax;
};

// Upstream's ErrorBody: Required, Forbidden and TooLong never print the bad value.
const errorBody = (type: FieldErrorType, value: BadValue | undefined, detail: string): string => {
  const head = value === undefined ? TYPE_TEXT[type] : `${TYPE_TEXT[type]}: ${renderBadValue(value)}`;
  return detail === '' ? head : `${head}: ${detail}`;
};

/** `field.Required(path, detail)`. */
export const required = (field: string, detail = ''): FieldError => ({ field, type: 'FieldValueRequired', message: errorBody('FieldValueRequired', undefined, detail) });

/** `field.Invalid(path, value, detail)`; an undefined value is omitted from the message, as upstream's `OmitValueType`. */
export const invalid = (field: string, value: BadValue | undefined, detail: string): FieldError => ({ field, type: 'FieldValueInvalid', message: errorBody('FieldValueInvalid', value, detail) });

/** `field.NotSupported(path, value, validValues)`: the valid values are quoted and listed in the order given. */
export const notSupported = (field: string, value: BadValue, validValues: readonly string[]): FieldError => ({
  field,
  type: 'FieldValueNotSupported',
  message: errorBody('FieldValueNotSupported', value, validValues.length === 0 ? '' : `supported values: ${validValues.map(goQuote).join(', ')}`),
});

/** `field.Duplicate(path, value)`. */
export const duplicate = (field: string, value: BadValue): FieldError => ({ field, type: 'FieldValueDuplicate', message: errorBody('FieldValueDuplicate', value, '') });

/** `field.Forbidden(path, detail)`. */
export const forbidden = (field: string, detail: string): FieldError => ({ field, type: 'FieldValueForbidden', message: errorBody('FieldValueForbidden', undefined, detail) });

/** `field.TooLong(path, value, max)`, worded as in apimachinery up to v1.32 ("must have at most N bytes"). */
export const tooLong = (field: string, maxBytes: number): FieldError => ({ field, type: 'FieldValueTooLong', message: errorBody('FieldValueTooLong', undefined, `must have at most ${maxBytes} bytes`) });

/**
 * kube-openapi's type error (`errors.InvalidType`): the bad value is the JSON type actually sent, e.g.
 * `Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
 */
export const typeInvalid = (field: string, expected: string, actual: string): FieldError => ({
  field,
  type: 'FieldValueTypeInvalid',
  message: errorBody('FieldValueTypeInvalid', actual, `${field} in body must be of type ${expected}: ${goQuote(actual)}`),
});

/** The line kubectl prints for one error: `spec.containers[0].name: Required value`. */
export const formatFieldError = (error: FieldError): string => (error.field === '' ? error.message : `${error.field}: ${error.message}`);

/**
 * The message of upstream's 422 Invalid Status (`errors.NewInvalid`): `Pod "web" is invalid: <errors>`,
 * where several errors are bracketed and comma-joined, and the kind is qualified by its group
 * (`Deployment.apps`) except for the core group.
 */
export function invalidObjectMessage(group: string, kind: string, name: string, errors: readonly FieldError[]): string {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const lines = [...new Set(errors.map(formatFieldError))];
  const aggregate = lines.length === 1 ? (lines[0] ?? '') : `[${lines.join(', ')}]`;
  return `${qualifiedKind} ${goQuote(name)} is invalid: ${aggregate}`;
}
