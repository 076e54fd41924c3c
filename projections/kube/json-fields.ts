// Reading fields of Kubernetes objects that arrive as JSON: each reader returns the field when it
// has the expected type and undefined (or empty) otherwise, so a malformed object is read as one
// without that field instead of throwing.
import { isJsonObject } from '../../kernel/index.js';

type Raw = Record<string, unknown>;

/** `value[key]` when it is an object. */
export const objectAt = (value: unknown, key: string): Raw | undefined => {
  const child = isJsonObject(value) ? value[key] : undefined;
  return isJsonObject(child) ? child : undefined;
};

/** `value[key]` when it is a string. */
export const stringAt = (value: unknown, key: string): string | undefined => {
  const child = isJsonObject(value) ? value[key] : undefined;
  return typeof child === 'string' ? child : undefined;
};

/** `value[key]` when it is an array of strings. */
export const stringsAt = (value: unknown, key: string): string[] | undefined => {
  const child = isJsonObject(value) ? value[key] : undefined;
  return Array.isArray(child) && child.every((s) => typeof s === 'string') ? (child as string[]) : undefined;
};

/** `value[key]` when it is an array, else empty. */
export const arrayAt = (value: unknown, key: string): readonly unknown[] => {
  const child = isJsonObject(value) ? value[key] : undefined;
  return Array.isArray(child) ? child : [];
};

/** Whether `value[key]` is `true`. */
export const isTrueAt = (value: unknown, key: string): boolean => (isJsonObject(value) ? value[key] === true : false);

/** `metadata.name`, empty when missing. */
export const nameOf = (object: unknown): string => stringAt(objectAt(object, 'metadata'), 'name') ?? '';
/** `metadata.uid`, empty when missing. */
export const uidOf = (object: unknown): string => stringAt(objectAt(object, 'metadata'), 'uid') ?? '';
/** `metadata.namespace`, `default` when missing (as a namespaced write without one lands). */
export const namespaceOf = (object: unknown): string => stringAt(objectAt(object, 'metadata'), 'namespace') ?? 'default';
