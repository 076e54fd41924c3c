// Defensive readers for objects that arrive as `unknown`: semantic rules run even when schema checks
// already failed, so every read tolerates a wrong type by returning undefined.

export type JsonRecord = Readonly<Record<string, unknown>>;

export const asRecord = (value: unknown): JsonRecord | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;

export const asArray = (value: unknown): readonly unknown[] | undefined => (Array.isArray(value) ? value : undefined);

export const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export const asInteger = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);

/** The string-valued entries of a map (other entries are schema errors, reported elsewhere). */
export function asStringMap(value: unknown): Readonly<Record<string, string>> | undefined {
  const record = asRecord(value);
  if (record === undefined) return undefined;
  const strings: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record)) if (typeof entry === 'string') strings[key] = entry;
  return strings;
}

/** Reads a nested field: `fieldAt(obj, 'spec', 'template')`. */
export function fieldAt(value: unknown, ...keys: readonly string[]): unknown {
  let current = value;
  for (const key of keys) current = asRecord(current)?.[key];
  return current;
}
