// Device and DeviceModel objects (devices.kubeedge.io v1beta1) read into what the twin actor is
// told: the properties a new twin starts with, and the cloud sync a changed Device becomes.
import { err, ok, type JsonObject, type Result } from '../../kernel/index.js';
import type { DeviceRef, TwinCommand, TwinState } from '../../actors/index.js';
import { arrayAt, nameOf, namespaceOf, objectAt, stringAt, uidOf } from '../kube/json-fields.js';

/** A property the Device declares, typed: what `AddDevice` takes. */
export type DeclaredProperty = Extract<TwinCommand, { type: 'AddDevice' }>['data']['properties'][number];
/** One property of a cloud sync: the expected value, its type and its version (null deletes it). */
export type CloudTwinMessage = Extract<TwinCommand, { type: 'SyncFromCloud' }>['data']['twin'][string];
type PresentTwin = Extract<TwinState, { readonly status: 'synced' | 'drifted' }>;
type StoredTwins = PresentTwin['twin'];

/** A Device as the twin host needs it. */
export interface HeldDevice {
  readonly ref: DeviceRef;
  /** `metadata.generation`: the twin's cloud version (DESIGN.md), 0 when the server sets none. */
  readonly generation: number;
  /** `spec.deviceModelRef.name`, in the Device's namespace; empty when none is referenced. */
  readonly modelName: string;
  /** `spec.nodeName`, if set. */
  readonly nodeName: string | undefined;
  /** What membership messages show: the `description` annotation, else empty. */
  readonly description: string;
  readonly properties: readonly { readonly name: string; readonly desired: string | null; readonly desiredType: string | undefined }[];
}

/** Properties one Device may declare; the cloud's validation bounds them further. */
export const DEVICE_PROPERTIES_MAX = 1024;

/** The twin value types a DeviceModel property type maps to (KubeEdge lowercases them). */
const modelTypes: Readonly<Record<string, string>> = { INT: 'int', FLOAT: 'float', DOUBLE: 'double', STRING: 'string', BOOLEAN: 'boolean', BYTES: 'bytes' };
/** Types a desired value's `metadata.type` may name (the v1alpha2 way of typing a property). */
const metadataTypes = new Set(['string', 'int', 'integer', 'float', 'double', 'boolean', 'bytes']);

/**
 * Reads a Device object, or says why it cannot have a twin (no name or uid, too many properties).
 * @example readDevice(localView.devices()[0]) // ok({ ref: { namespace, name, uid }, generation: 2, … })
 */
export function readDevice(device: JsonObject): Result<HeldDevice, string> {
  const ref: DeviceRef = { namespace: namespaceOf(device), name: nameOf(device), uid: uidOf(device) };
  if (ref.name === '' || ref.uid === '') return err('a Device needs metadata.name and metadata.uid');
  const metadata = objectAt(device, 'metadata');
  const generation = metadata?.['generation'];
  const spec = objectAt(device, 'spec');
  const declared = arrayAt(spec, 'properties');
  if (declared.length > DEVICE_PROPERTIES_MAX) return err(`the Device declares ${declared.length} properties, more than the ${DEVICE_PROPERTIES_MAX} allowed`);
  const properties = declared.flatMap((p) => {
    const name = stringAt(p, 'name');
    if (name === undefined) return [];
    const desired = objectAt(p, 'desired');
    return [{ name, desired: stringAt(desired, 'value') ?? null, desiredType: stringAt(objectAt(desired, 'metadata'), 'type') }];
  });
  return ok({
    ref,
    generation: typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0 ? generation : 0,
    modelName: stringAt(objectAt(spec, 'deviceModelRef'), 'name') ?? '',
    nodeName: stringAt(spec, 'nodeName'),
    description: stringAt(objectAt(metadata, 'annotations'), 'description') ?? '',
    properties,
  });
}

/** The property types a DeviceModel declares, lowercased the way twins name them (unknown → string). */
export function modelPropertyTypes(model: JsonObject | undefined): ReadonlyMap<string, string> {
  const types = new Map<string, string>();
  for (const p of arrayAt(objectAt(model, 'spec'), 'properties')) {
    const name = stringAt(p, 'name');
    if (name === undefined) continue;
    const type = (stringAt(p, 'type') ?? '').toUpperCase();
    types.set(name, Object.hasOwn(modelTypes, type) ? modelTypes[type]! : 'string');
  }
  return types;
}

/**
 * The Device's properties, typed by its model; a property the model lacks (or a model not yet
 * held: the desired set may deliver the Device first) takes `desired.metadata.type`, else string.
 */
export function declaredProperties(device: HeldDevice, model: JsonObject | undefined): readonly DeclaredProperty[] {
  const types = modelPropertyTypes(model);
  return device.properties.map((p) => {
    const fromMetadata = p.desiredType?.toLowerCase();
    const type = types.get(p.name) ?? (fromMetadata !== undefined && metadataTypes.has(fromMetadata) ? fromMetadata : 'string');
    return { name: p.name, type, desired: p.desired };
  });
}

/** `AddDevice` for a Device this node has no twin of. */
export function addDeviceCommand(device: HeldDevice, model: JsonObject | undefined, at: number): Extract<TwinCommand, { type: 'AddDevice' }> {
  return { type: 'AddDevice', data: { device: device.ref, generation: device.generation, properties: declaredProperties(device, model), at } };
}

/**
 * What the cloud declares now, as one `SyncFromCloud`: every declared property at the Device's
 * generation, and null for a property the cloud declared before (it has a cloud version) that the
 * spec no longer has. Properties a mapper added over MQTT have no cloud version and stay. The
 * decider skips properties that did not change, so syncing the same declaration twice is a no-op.
 */
export function cloudSyncCommand(device: HeldDevice, model: JsonObject | undefined, twins: StoredTwins, at: number): Extract<TwinCommand, { type: 'SyncFromCloud' }> {
  const declared = declaredProperties(device, model);
  const names = new Set(declared.map((p) => p.name));
  const expected_version = { cloud: device.generation, edge: 0 };
  const present: [string, CloudTwinMessage][] = declared.map((p) => [
    p.name,
    { expected: p.desired === null || p.desired === '' ? null : { value: p.desired }, metadata: { type: p.type ?? 'string' }, expected_version },
  ]);
  const dropped: [string, null][] = Object.entries(twins)
    .filter(([key, t]) => !names.has(key) && t.metadata.type !== 'deleted' && t.expected_version !== null)
    .map(([key]) => [key, null]);
  // The held Device is what the cloud desires now: the down stream applies a uid's revisions in
  // order, so a generation below one the twin has seen comes only from an API server restored
  // from a backup. Its versions start over instead of being refused as older (found by the
  // whole-system simulator: the twin kept the newer value forever, unequal to its Device).
  const rebase = Object.values(twins).some((t) => t.expected_version !== null && t.expected_version.cloud > device.generation);
  return { type: 'SyncFromCloud', data: { twin: Object.fromEntries([...present, ...dropped]), at, ...(rebase ? { rebase } : {}) } };
}

/**
 * What the twin of `device` must converge on: changes exactly when the generation or a declared
 * property (its desired value or type) does, so the host syncs only then.
 */
export function declarationSignature(device: HeldDevice, model: JsonObject | undefined): string {
  return JSON.stringify([device.generation, declaredProperties(device, model)]);
}
