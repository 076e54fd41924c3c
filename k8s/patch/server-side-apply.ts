// Server-side apply (`application/apply-patch+yaml`) and the field ownership every other write
// records, kept in `metadata.managedFields` in kube-apiserver's format. Re-expressed from
// structured-merge-diff v4 (merge/update.go: Apply, Update, prune) and k8s.io/apiserver's
// fieldmanager (managed fields encoding, conflict messages).
//
// Done: ownership sets per manager (Apply entries keyed by manager, Update entries by manager +
// apiVersion), FieldsV1 with `f:`/`k:`/`v:`/`.`, merge of the applied configuration (maps per
// field, associative lists by key with upstream's item order, sets as unions, atomic lists and
// structs whole), conflicts with other managers on changed fields (409 with FieldManagerConflict
// causes and upstream's message), `force` taking ownership, pruning of fields the applier owned
// before and omits now unless another manager owns them (structs holding owned fields stay),
// removal of removed fields from every manager, Update ownership of added and modified fields.
//
// NOT done (the README lists the same):
// - no version conversion: every manager's set is read as if at the applied apiVersion;
// - no cap on Update managers (upstream folds the oldest beyond 10 into "ancient-changes");
// - "." entries of Update managers on create follow a baseline of `{metadata:{}, spec:{}, status:{}}`
//   (upstream's typed zero object also has non-omitempty lists as null, e.g. `spec.containers`,
//   so upstream writes no "." on `f:containers` where this writes one);
// - unknown fields of built-in types are accepted and treated like custom-resource fields
//   (upstream refuses them: "field not declared in schema");
// - no `resourceVersion` precondition, defaulting or validation: the caller's job;
// - the timestamp of a manager that is new but changed nothing is `now` (upstream leaves it unset).

import { err, ok, type JsonObject, type Result } from '../../kernel/index.js';
import {
  copyFieldSet,
  differenceFieldSets,
  emptyFieldSet,
  fromFieldsV1,
  insertPath,
  intersectFieldSets,
  isEmptyFieldSet,
  memberPaths,
  formatFieldPath,
  toFieldsV1,
  unionFieldSets,
  type FieldPath,
  type FieldSet,
} from './field-set.model.js';
import {
  compareObjects,
  ensureNamedFieldsAreMembers,
  fieldSetOf,
  mergeObjects,
  removeItems,
  schemaFor,
  type ApplySchema,
  type ListTypeLookup,
} from './field-set.walks.js';
import { cloneJsonMap, isJsonMap, jsonEqual, type Json, type JsonMap } from './patch.json.js';
import { fieldTypeOf } from '../schema/type-graph.js';
import type { PatchErrorStatus } from './patch.errors.js';

export type { ListTypeLookup } from './field-set.walks.js';

/** One entry of `metadata.managedFields`, field for field as kube-apiserver writes it. */
export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly time?: string;
  readonly fieldsType: 'FieldsV1';
  readonly fieldsV1: JsonObject;
  readonly subresource?: string;
}

/** Another manager owns fields the apply changes: 409 Conflict. */
export interface ApplyConflict {
  readonly kind: 'ApplyConflict';
  readonly message: string;
  readonly conflicts: readonly { readonly manager: string; readonly field: string; readonly message: string }[];
}

/** The applied configuration is malformed: `InvalidApply` is 400 BadRequest, `ApplyFailed` 500 (empty reason) as upstream. */
export type ApplyError = { readonly kind: 'InvalidApply'; readonly message: string } | { readonly kind: 'ApplyFailed'; readonly message: string };

/** Options shared by apply and update. */
interface OwnershipOptions {
  /** client-node model name (`V1Deployment`); undefined for custom resources. */
  readonly typeName: string | undefined;
  /** RFC 3339 time of the request (commands carry time, STYLE R3). */
  readonly now: string;
  /** For custom resources: the CRD schema's `x-kubernetes-list-type` by schema path. */
  readonly lookupListType?: ListTypeLookup;
  readonly subresource?: string;
  /**
   * Subtrees the endpoint resets and so never owns, as field-name paths: `[['status']]` for the
   * main resource of a kind with a status subresource, `[['spec'], ['metadata']]`-style for `/status`.
   */
  readonly resetFields?: readonly (readonly string[])[];
}

export interface ApplyRequest extends OwnershipOptions {
  readonly live: JsonObject | undefined;
  readonly applied: JsonObject;
  readonly manager: string;
  readonly force: boolean;
}

export interface UpdateRequest extends OwnershipOptions {
  /** The stored object before the write; undefined for a create. */
  readonly before: JsonObject | undefined;
  /** The object about to be stored (after a create, update or non-apply patch). */
  readonly after: JsonObject;
  readonly manager: string;
  readonly operation: 'Update';
}

export interface OwnershipOutcome {
  /** The object to store, `metadata.managedFields` included. */
  readonly object: JsonObject;
  readonly managedFields: readonly ManagedFieldsEntry[];
  /** False when the object (managed fields aside) is what was stored before: a no-op apply. */
  readonly changed: boolean;
}

interface Manager {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Fields no manager ever owns (fieldmanager's stripSet). */
const strippedPaths: readonly FieldPath[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => ['f:metadata', `f:${f}`]),
];

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined: create).
 * @example
 * const result = applyPatch({ live, applied, manager: 'kubectl', force: false, typeName: 'V1Pod', now });
 * if (!result.ok && result.error.kind === 'ApplyConflict') respond(409, applyErrorStatus(result.error));
 */
export function applyPatch(request: ApplyRequest): Result<OwnershipOutcome, ApplyConflict | ApplyError> {
  const applied = request.applied as Json;
  if (!isJsonMap(applied) || typeof applied['apiVersion'] !== 'string' || typeof applied['kind'] !== 'string') {
    return err({ kind: 'InvalidApply', message: 'apiVersion and kind must be set in an applied configuration' });
  }
  const metadata = applied['metadata'];
  if (isJsonMap(metadata) && metadata['managedFields'] !== undefined && metadata['managedFields'] !== null) {
    return err({ kind: 'InvalidApply', message: 'metadata.managedFields must be nil' });
  }
  const schema = schemaFor(request.typeName, request.lookupListType);
  const live = request.live === undefined ? {} : withoutManagedFields(request.live);
  const managers = request.live === undefined ? new Map<string, Manager>() : decodeManagers(request.live);
  const configSet = fieldSetOf(cloneJsonMap(request.applied), schema);
  if (!configSet.ok) return err({ kind: 'ApplyFailed', message: `failed to create typed patch object (${gvkOf(applied)}): ${configSet.error}` });
  const merged = mergeObjects(live, cloneJsonMap(request.applied), schema);
  if (!merged.ok) return err({ kind: 'ApplyFailed', message: `failed to merge config: ${merged.error}` });
  const id = managerId(request.manager, 'Apply', applied['apiVersion'], request.subresource);
  const previous = managers.get(id);
  managers.set(id, {
    manager: request.manager,
    operation: 'Apply',
    apiVersion: applied['apiVersion'],
    ...(request.subresource !== undefined ? { subresource: request.subresource } : {}),
    ...(previous?.time !== undefined ? { time: previous.time } : {}),
    set: ownedOnly(configSet.value, request.resetFields),
  });
  const pruned = previous === undefined ? merged.value : prune(merged.value, managers, previous.set, schema);
  const settled = settleOwnership(live, pruned, managers, id, request.force, schema);
  if (!settled.ok) return settled;
  const changed = !jsonEqual(live, pruned);
  const applier = managers.get(id);
  if (applier !== undefined && (changed || applier.time === undefined)) applier.time = rfc3339Seconds(request.now);
  return ok(withManagedFields(pruned, managers, changed));
}

/**
 * Records the ownership a create, update or non-apply patch by `manager` takes: the fields it
 * added or changed become its own (taken from any other manager), removed fields leave every manager.
 */
export function recordUpdate(request: UpdateRequest): Result<OwnershipOutcome, ApplyError> {
  const schema = schemaFor(request.typeName, request.lookupListType);
  const before = request.before === undefined ? creationBaseline(request.typeName) : withoutManagedFields(request.before);
  const after = withoutManagedFields(request.after);
  const managers = decodeManagers(request.before ?? request.after);
  const comparison = compareObjects(before, after, schema);
  if (!comparison.ok) return err({ kind: 'ApplyFailed', message: `failed to compare objects: ${comparison.error}` });
  const changedSet = ownedOnly(unionFieldSets(comparison.value.modified, comparison.value.added), request.resetFields);
  for (const [key, m] of managers) {
    m.set = differenceFieldSets(differenceFieldSets(m.set, changedSet), comparison.value.removed);
    if (isEmptyFieldSet(m.set)) managers.delete(key);
  }
  const apiVersion = typeof after['apiVersion'] === 'string' ? after['apiVersion'] : '';
  if (!isEmptyFieldSet(changedSet)) {
    const id = managerId(request.manager, 'Update', apiVersion, request.subresource);
    const previous = managers.get(id);
    managers.set(id, {
      manager: request.manager,
      operation: 'Update',
      apiVersion,
      ...(request.subresource !== undefined ? { subresource: request.subresource } : {}),
      time: rfc3339Seconds(request.now),
      set: previous === undefined ? changedSet : unionFieldSets(previous.set, changedSet),
    });
  }
  return ok(withManagedFields(after, managers, !jsonEqual(before, after)));
}

/** Conflicts with other managers on what changed; with force, or for removed fields, they lose those fields. */
function settleOwnership(live: JsonMap, next: JsonMap, managers: Map<string, Manager>, applierId: string, force: boolean, schema: ApplySchema): Result<null, ApplyConflict | ApplyError> {
  const comparison = compareObjects(live, next, schema);
  if (!comparison.ok) return err({ kind: 'ApplyFailed', message: `failed to compare objects: ${comparison.error}` });
  const changed = unionFieldSets(comparison.value.modified, comparison.value.added);
  const conflicts: { id: string; paths: FieldPath[] }[] = [];
  for (const [id, m] of managers) {
    if (id === applierId) continue;
    const conflict = intersectFieldSets(m.set, changed);
    if (!isEmptyFieldSet(conflict)) conflicts.push({ id, paths: memberPaths(conflict) });
    if (force) m.set = differenceFieldSets(m.set, conflict);
  }
  if (conflicts.length > 0 && !force) return err(conflictError(conflicts, managers));
  for (const [id, m] of managers) {
    if (id !== applierId) m.set = differenceFieldSets(m.set, comparison.value.removed);
    if (isEmptyFieldSet(m.set)) managers.delete(id);
  }
  return ok(null);
}

/**
 * Removes what the applier owned last time and no longer applies, unless some manager (the
 * applier's new configuration included) owns it; a struct holding owned fields counts as owned.
 */
function prune(merged: JsonMap, managers: Map<string, Manager>, lastSet: FieldSet, schema: ApplySchema): JsonMap {
  if (isEmptyFieldSet(lastSet)) return merged;
  let owned = emptyFieldSet();
  for (const m of managers.values()) owned = unionFieldSets(owned, m.set);
  const mergedSet = fieldSetOf(merged, schema);
  if (!mergedSet.ok) return merged;
  const candidates = intersectFieldSets(ensureNamedFieldsAreMembers(mergedSet.value, schema), ensureNamedFieldsAreMembers(lastSet, schema));
  const toRemove = differenceFieldSets(candidates, ensureNamedFieldsAreMembers(owned, schema));
  return isEmptyFieldSet(toRemove) ? merged : removeItems(merged, toRemove, schema);
}

/** The set without the fields no manager owns and without the endpoint's reset subtrees. */
function ownedOnly(set: FieldSet, resetFields: OwnershipOptions['resetFields']): FieldSet {
  const stripped = emptyFieldSet();
  for (const path of strippedPaths) insertPath(stripped, path);
  const out = differenceFieldSets(set, stripped);
  for (const path of resetFields ?? []) {
    let node: FieldSet | undefined = out;
    const elements = path.map((f) => `f:${f}`);
    for (const element of elements.slice(0, -1)) node = node?.children.get(element);
    node?.children.delete(elements[elements.length - 1] ?? '');
  }
  return out;
}

function conflictError(conflicts: readonly { id: string; paths: FieldPath[] }[], managers: ReadonlyMap<string, Manager>): ApplyConflict {
  const sorted = [...conflicts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const described = sorted.map(({ id, paths }) => {
    const m = managers.get(id) as Manager;
    return { name: m.manager, who: printManager(m), fields: paths.map(formatFieldPath) };
  });
  const flat = described.flatMap(({ name, who, fields }) => fields.map((field) => ({ manager: name, field, message: `conflict with ${who}` })));
  const first = flat[0];
  const message =
    flat.length === 1 && first !== undefined
      ? `Apply failed with 1 conflict: ${first.message}: ${first.field}`
      : `Apply failed with ${flat.length} conflicts: ${described.map(({ who, fields }) => [`conflicts with ${who}:`, ...fields.map((f) => `- ${f}`)].join('\n')).join('\n')}`;
  return { kind: 'ApplyConflict', message, conflicts: flat };
}

/** `"kubectl-client-side-apply" using v1` for updaters, `"kubectl"` for appliers (fieldmanager's printManager). */
function printManager(m: Manager): string {
  let who = JSON.stringify(m.manager);
  if (m.subresource !== undefined && m.subresource !== '') who = `${who} with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${who} using ${m.apiVersion}` : who;
}

/** Appliers are one entry per manager whatever the apiVersion; updaters one per manager and apiVersion. */
function managerId(manager: string, operation: 'Apply' | 'Update', apiVersion: string, subresource: string | undefined): string {
  return JSON.stringify({ manager, operation, ...(operation === 'Update' ? { apiVersion } : {}), ...(subresource ? { subresource } : {}) });
}

/** Managed fields of a stored object; entries that do not decode are dropped, as upstream resets them. */
function decodeManagers(object: JsonObject): Map<string, Manager> {
  const managers = new Map<string, Manager>();
  const metadata = object['metadata'];
  const entries = isJsonMap(metadata as Json) ? (metadata as JsonMap)['managedFields'] : undefined;
  if (!Array.isArray(entries)) return managers;
  for (const entry of entries) {
    if (!isJsonMap(entry) || typeof entry['manager'] !== 'string' || typeof entry['apiVersion'] !== 'string') continue;
    const operation = entry['operation'];
    if ((operation !== 'Apply' && operation !== 'Update') || entry['fieldsType'] !== 'FieldsV1') continue;
    const set = fromFieldsV1(entry['fieldsV1']);
    if (!set.ok) continue;
    const subresource = typeof entry['subresource'] === 'string' && entry['subresource'] !== '' ? entry['subresource'] : undefined;
    managers.set(managerId(entry['manager'], operation, entry['apiVersion'], subresource), {
      manager: entry['manager'],
      operation,
      apiVersion: entry['apiVersion'],
      ...(subresource !== undefined ? { subresource } : {}),
      ...(typeof entry['time'] === 'string' ? { time: entry['time'] } : {}),
      set: set.value,
    });
  }
  return managers;
}

/** Entries sorted as fieldmanager sorts them: operation, time, manager, apiVersion, subresource. */
function encodeManagers(managers: ReadonlyMap<string, Manager>): ManagedFieldsEntry[] {
  const seconds = (t: string | undefined): number => (t === undefined ? 0 : Math.floor(Date.parse(t) / 1000));
  const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...managers.values()]
    .filter((m) => !isEmptyFieldSet(m.set))
    .sort((a, b) => compare(a.operation, b.operation) || seconds(a.time) - seconds(b.time) || compare(a.manager, b.manager) || compare(a.apiVersion, b.apiVersion) || compare(a.subresource ?? '', b.subresource ?? ''))
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time !== undefined ? { time: m.time } : {}),
      fieldsType: 'FieldsV1' as const,
      fieldsV1: toFieldsV1(copyFieldSet(m.set)) as JsonObject,
      ...(m.subresource !== undefined ? { subresource: m.subresource } : {}),
    }));
}

function withManagedFields(object: JsonMap, managers: ReadonlyMap<string, Manager>, changed: boolean): OwnershipOutcome {
  const managedFields = encodeManagers(managers);
  const metadata: JsonMap = { ...(isJsonMap(object['metadata']) ? object['metadata'] : {}) };
  if (managedFields.length > 0) metadata['managedFields'] = managedFields as unknown as Json;
  return { object: { ...object, metadata } as JsonObject, managedFields, changed };
}

function withoutManagedFields(object: JsonObject): JsonMap {
  const copy = cloneJsonMap(object);
  const metadata = copy['metadata'];
  if (isJsonMap(metadata)) delete metadata['managedFields'];
  return copy;
}

/** What a create is compared against: the typed zero object's always-present structs. */
function creationBaseline(typeName: string | undefined): JsonMap {
  const baseline: JsonMap = { metadata: {} };
  for (const field of ['spec', 'status']) {
    if (typeName !== undefined && fieldTypeOf(typeName, field)?.kind === 'object') baseline[field] = {};
  }
  return baseline;
}

/** metav1.Time is RFC 3339 at second precision. */
const rfc3339Seconds = (iso: string): string => new Date(iso).toISOString().replace(/\.\d+Z$/, 'Z');

/** `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`: how Go prints a GroupVersionKind. */
function gvkOf(object: JsonMap): string {
  const apiVersion = String(object['apiVersion']);
  return `${apiVersion.includes('/') ? apiVersion : `/${apiVersion}`}, Kind=${String(object['kind'])}`;
}

/**
 * The metav1.Status for an apply failure: 409 Conflict with one FieldManagerConflict cause per
 * field, 400 for a malformed configuration, 500 (empty reason) for what upstream leaves unmapped.
 */
export function applyErrorStatus(error: ApplyConflict | ApplyError): PatchErrorStatus {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' } as const;
  if (error.kind === 'ApplyConflict') {
    const causes = error.conflicts.map((c) => ({ type: 'FieldManagerConflict', message: c.message, field: c.field }));
    return { ...base, message: error.message, reason: 'Conflict', details: { causes }, code: 409 };
  }
  if (error.kind === 'InvalidApply') return { ...base, message: error.message, reason: 'BadRequest', code: 400 };
  return { ...base, message: error.message, reason: '', code: 500 };
}
