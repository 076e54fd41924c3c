// Parses what the edge feeds its MetaServer view (objects to hold, references to drop) into checked
// values: a served kind, a name, a namespace exactly when the kind is namespaced, a bounded size.
// Nothing past this file sees an unchecked shape (STYLE R11).
import { err, isJsonObject, ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { ObjectKey } from '../store/object-store.js';
import { apiVersionOf, type ResourceDef } from '../api/resources.js';

/** Finds the served resource of an `apiVersion` and `kind` (the API's resource registry answers it). */
export type ServedKindLookup = (apiVersion: string, kind: string) => ResourceDef | undefined;

/** Why the view refused an object or a reference; `index` names the item of a `replaceAll` batch. */
export type MetaViewError =
  | { readonly kind: 'InvalidObject'; readonly field: string; readonly detail: string; readonly index?: number }
  | { readonly kind: 'UnservedKind'; readonly apiVersion: string; readonly objectKind: string; readonly index?: number }
  | { readonly kind: 'ObjectTooLarge'; readonly ref: string; readonly bytes: number; readonly bytesMax: number; readonly index?: number }
  | { readonly kind: 'DuplicateObject'; readonly ref: string; readonly index: number }
  | { readonly kind: 'ViewFull'; readonly objectsMax: number }
  | { readonly kind: 'Closed' };

/** One line for logs and CLI output. */
export function describeMetaViewError(error: MetaViewError): string {
  const at = 'index' in error && error.index !== undefined ? ` (item ${error.index})` : '';
  switch (error.kind) {
    case 'InvalidObject':
      return `invalid object${at}: ${error.field}: ${error.detail}`;
    case 'UnservedKind':
      return `the edge's local API does not serve ${error.objectKind} in ${error.apiVersion}${at}`;
    case 'ObjectTooLarge':
      return `${error.ref} is ${error.bytes} bytes, over the view's limit of ${error.bytesMax}${at}`;
    case 'DuplicateObject':
      return `${error.ref} appears more than once${at}`;
    case 'ViewFull':
      return `the view holds its limit of ${error.objectsMax} objects`;
    case 'Closed':
      return 'the MetaServer is closed';
  }
}

/** An object the view may hold: where it is stored and a private JSON copy of it. */
export interface MetaObject {
  readonly def: ResourceDef;
  readonly key: ObjectKey;
  /** `namespace/name` with the resource, e.g. `pods default/web`: for messages and duplicates. */
  readonly ref: string;
  readonly uid: string | undefined;
  readonly object: JsonObject;
}

/** Names one held object: by kind and name (the uid, when given, must match), or by uid alone. */
export type MetaObjectRef =
  | { readonly apiVersion: string; readonly kind: string; readonly namespace?: string; readonly name: string; readonly uid?: string }
  | { readonly uid: string };

/** A checked reference: a storage key (and the uid it must carry), or a uid to look up. */
export type ParsedRef = { readonly by: 'key'; readonly key: ObjectKey; readonly uid: string | undefined } | { readonly by: 'uid'; readonly uid: string };

const refOf = (def: ResourceDef, namespace: string, name: string): string => `${def.plural}${def.group === '' ? '' : `.${def.group}`} ${namespace === '' ? '' : `${namespace}/`}${name}`;

/** The key a name has in the store: (group, plural, namespace or '' when cluster-scoped, name). */
export const storeKeyOf = (def: ResourceDef, namespace: string, name: string): ObjectKey => ({ group: def.group, resource: def.plural, namespace: def.namespaced ? namespace : '', name });

/** One string per key, for maps. */
export const keyText = (key: ObjectKey): string => `${key.group}/${key.resource}/${key.namespace}/${key.name}`;

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * The resource, namespace and name an object or reference names, checked against the served kinds;
 * `at` is where name and namespace sit (`metadata.` in an object), for the error's field.
 */
function locate(apiVersion: unknown, kind: unknown, namespace: unknown, name: unknown, served: ServedKindLookup, at: string): Result<{ def: ResourceDef; namespace: string; name: string }, MetaViewError> {
  if (!nonEmpty(apiVersion)) return err({ kind: 'InvalidObject', field: 'apiVersion', detail: 'Required value' });
  if (!nonEmpty(kind)) return err({ kind: 'InvalidObject', field: 'kind', detail: 'Required value' });
  const def = served(apiVersion, kind);
  if (def === undefined) return err({ kind: 'UnservedKind', apiVersion, objectKind: kind });
  if (!nonEmpty(name)) return err({ kind: 'InvalidObject', field: `${at}name`, detail: 'Required value' });
  if (def.namespaced && !nonEmpty(namespace)) return err({ kind: 'InvalidObject', field: `${at}namespace`, detail: `Required value: ${kind} is namespaced` });
  if (!def.namespaced && namespace !== undefined && namespace !== '') return err({ kind: 'InvalidObject', field: `${at}namespace`, detail: `Forbidden: ${kind} is cluster-scoped` });
  return ok({ def, namespace: def.namespaced ? String(namespace) : '', name });
}

/**
 * Checks one object the edge holds and copies it (later changes to the caller's value do not reach
 * the view). Its `metadata.resourceVersion` is dropped: the view stamps its own.
 */
export function parseMetaObject(value: unknown, served: ServedKindLookup, bytesMax: number): Result<MetaObject, MetaViewError> {
  if (!isJsonObject(value)) return err({ kind: 'InvalidObject', field: '<object>', detail: 'not a JSON object' });
  const metadata = value['metadata'];
  if (!isJsonObject(metadata)) return err({ kind: 'InvalidObject', field: 'metadata', detail: 'Required value: an object' });
  const located = locate(value['apiVersion'], value['kind'], metadata['namespace'], metadata['name'], served, 'metadata.');
  if (!located.ok) return located;
  const { def, namespace, name } = located.value;
  const uid = metadata['uid'];
  if (uid !== undefined && !nonEmpty(uid)) return err({ kind: 'InvalidObject', field: 'metadata.uid', detail: 'a non-empty string when given' });
  const ref = refOf(def, namespace, name);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return err({ kind: 'InvalidObject', field: '<object>', detail: `not serializable as JSON: ${(error as Error).message}` });
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > bytesMax) return err({ kind: 'ObjectTooLarge', ref, bytes, bytesMax });
  const copy = JSON.parse(text) as { metadata: Record<string, unknown> } & Record<string, unknown>;
  delete copy.metadata['resourceVersion'];
  return ok({ def, key: storeKeyOf(def, namespace, name), ref, uid, object: copy as JsonObject });
}

/** Checks a reference to a held object. */
export function parseMetaObjectRef(value: unknown, served: ServedKindLookup): Result<ParsedRef, MetaViewError> {
  if (!isJsonObject(value)) return err({ kind: 'InvalidObject', field: '<reference>', detail: 'not an object' });
  const uid = value['uid'];
  if (uid !== undefined && !nonEmpty(uid)) return err({ kind: 'InvalidObject', field: 'uid', detail: 'a non-empty string when given' });
  if (value['apiVersion'] === undefined && value['kind'] === undefined && value['name'] === undefined) {
    return uid === undefined ? err({ kind: 'InvalidObject', field: '<reference>', detail: 'Required value: apiVersion, kind and name, or uid' }) : ok({ by: 'uid', uid });
  }
  const located = locate(value['apiVersion'], value['kind'], value['namespace'], value['name'], served, '');
  if (!located.ok) return located;
  return ok({ by: 'key', key: storeKeyOf(located.value.def, located.value.namespace, located.value.name), uid });
}

/** The lookup over a resource list: the served version of `apiVersion` and `kind`. */
export const servedKindsOf =
  (all: () => readonly ResourceDef[]): ServedKindLookup =>
  (apiVersion, kind) =>
    all().find((def) => def.kind === kind && apiVersionOf(def) === apiVersion);
