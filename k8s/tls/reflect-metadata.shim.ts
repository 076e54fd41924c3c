// A minimal Reflect metadata polyfill, because @peculiar/x509's dependency tsyringe refuses to load
// without one and the project does not carry `reflect-metadata`. It installs itself only when no
// polyfill is present, so adding the real package later (imported first) takes over unchanged.

type MetadataKey = unknown;
type PropertyKeyOrUndefined = string | symbol | undefined;
type MetadataMap = Map<MetadataKey, unknown>;

// Weak on the target, so decorated classes can still be collected.
const metadataByTarget = new WeakMap<object, Map<PropertyKeyOrUndefined, MetadataMap>>();

function ownMetadataMap(target: object, property: PropertyKeyOrUndefined, create: boolean): MetadataMap | undefined {
  let byProperty = metadataByTarget.get(target);
  if (byProperty === undefined) {
    if (!create) return undefined;
    byProperty = new Map();
    metadataByTarget.set(target, byProperty);
  }
  let metadata = byProperty.get(property);
  if (metadata === undefined) {
    if (!create) return undefined;
    metadata = new Map();
    byProperty.set(property, metadata);
  }
  return metadata;
}

function installReflectMetadata(reflect: Record<string, unknown>): void {
  const defineMetadata = (key: MetadataKey, value: unknown, target: object, property?: PropertyKeyOrUndefined): void => {
    ownMetadataMap(target, property, true)?.set(key, value);
  };
  const getOwnMetadata = (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined): unknown =>
    ownMetadataMap(target, property, false)?.get(key);
  const hasOwnMetadata = (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined): boolean =>
    ownMetadataMap(target, property, false)?.has(key) ?? false;
  // Inherited lookup walks the prototype chain, as class metadata is read from subclasses.
  const getMetadata = (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined): unknown => {
    for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current) as object | null) {
      const metadata = ownMetadataMap(current, property, false);
      if (metadata?.has(key) === true) return metadata.get(key);
    }
    return undefined;
  };
  const hasMetadata = (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined): boolean => {
    for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current) as object | null) {
      if (hasOwnMetadata(key, current, property)) return true;
    }
    return false;
  };
  const getOwnMetadataKeys = (target: object, property?: PropertyKeyOrUndefined): MetadataKey[] => [
    ...(ownMetadataMap(target, property, false)?.keys() ?? []),
  ];
  const deleteMetadata = (key: MetadataKey, target: object, property?: PropertyKeyOrUndefined): boolean =>
    ownMetadataMap(target, property, false)?.delete(key) ?? false;
  const metadata =
    (key: MetadataKey, value: unknown) =>
    (target: object, property?: PropertyKeyOrUndefined): void =>
      defineMetadata(key, value, target, property);

  Object.assign(reflect, {
    defineMetadata,
    getOwnMetadata,
    hasOwnMetadata,
    getMetadata,
    hasMetadata,
    getOwnMetadataKeys,
    deleteMetadata,
    metadata,
  });
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') installReflectMetadata(reflect);
