// The validator, patcher, OpenAPI documents and bundled CRDs the embedded server is assembled with:
// adapters from the KubeApi ports onto the schema, patch and crds modules.
import type { JsonObject, Result } from '../../kernel/index.js';
import { err, ok } from '../../kernel/index.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import { mergePatchObject } from '../patch/merge-patch.js';
import { patchErrorStatus, type PatchError } from '../patch/patch.errors.js';
import { strategicMergePatch } from '../patch/strategic-merge-patch.js';
import { applyErrorStatus, applyPatch, recordUpdate, type ListTypeLookup } from '../patch/server-side-apply.js';
import { compileCrdSchema, loadBundledCrds, type CrdSchema } from '../crds/crd-schema.js';
import { unknownFields as builtinUnknownFields, validateBuiltin } from '../schema/builtin-validation.js';
import { listTypes, patchStrategies } from '../patch/patch-strategies.data.js';
import { openApiResponder, type OpenApiResponder, type OpenApiResponse } from '../schema/openapi.responder.js';
import type { DocumentedGroupVersion } from '../schema/openapi-document.builder.js';
import type { ExtensionsOf, ResourceInfo } from '../schema/openapi.types.js';
import type { ObjectValidator, Patcher } from './kube-api.js';
import { apiVersionOf, type ResourceDef, type ResourceRegistry } from './resources.js';
import type { ApiError, StatusReason } from './status.js';

const patchFailure = (error: PatchError): ApiError => {
  const status = patchErrorStatus(error);
  return {
    code: status.code,
    reason: (status.reason === '' ? 'InternalError' : status.reason) as StatusReason,
    message: status.message,
    ...(status.details === undefined ? {} : { details: { causes: status.details.causes.map((c) => ({ message: c.message, ...(c.type === undefined ? {} : { reason: c.type }), ...(c.field === undefined ? {} : { field: c.field }) })) } }),
  };
};

/** A custom resource's compiled schema; undefined for built-ins and schemaless CRDs. */
function crdSchemaOf(def: ResourceDef): CrdSchema | undefined {
  if (def.typeName !== undefined || def.crdSchema === undefined) return undefined;
  const compiled = compileCrdSchema(def.crdSchema);
  return compiled.ok ? compiled.value : undefined;
}

/** `.spec.containers[0].bogus` → ['spec', 'containers', 0, 'bogus']. */
const segmentsOf = (path: string): (string | number)[] =>
  [...path.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] === undefined ? (m[1] ?? '') : Number(m[2])));

/** A copy of `object` without the fields at `paths` (as reported by unknown-field detection). */
export function withoutPaths(object: JsonObject, paths: readonly string[]): JsonObject {
  if (paths.length === 0) return object;
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const path of paths) {
    const segments = segmentsOf(path);
    const last = segments.pop();
    let at: unknown = copy;
    for (const segment of segments) at = typeof at === 'object' && at !== null ? (at as Record<string | number, unknown>)[segment] : undefined;
    if (typeof at === 'object' && at !== null && last !== undefined && !Array.isArray(at)) delete (at as Record<string, unknown>)[String(last)];
  }
  return copy as JsonObject;
}

export const defaultValidator: ObjectValidator = {
  unknownFields: (def, object) => (def.typeName !== undefined ? builtinUnknownFields(apiVersionOf(def), def.kind, object) : (crdSchemaOf(def)?.unknownFields(object) ?? [])),
  validate: (def, object) => {
    if (def.typeName !== undefined) return validateBuiltin(apiVersionOf(def), def.kind, object);
    const schema = crdSchemaOf(def);
    return schema === undefined ? [] : schema.validate(object);
  },
  // What upstream stores: built-ins lose what their Go types cannot hold; custom resources are
  // pruned by their schema and defaulted.
  prune: (def, object) => {
    if (def.typeName !== undefined) return withoutPaths(object, builtinUnknownFields(apiVersionOf(def), def.kind, object));
    const schema = crdSchemaOf(def);
    return schema === undefined ? object : (schema.applyDefaults(schema.prune(object)) as JsonObject);
  },
};

export const defaultPatcher: Patcher = {
  patch: (type, def, current, body) => {
    switch (type) {
      case 'json': {
        const patched = applyJsonPatch(current, body);
        if (!patched.ok) return err(patchFailure(patched.error));
        const value = patched.value;
        return typeof value === 'object' && value !== null && !Array.isArray(value) ? ok(value as JsonObject) : err(patchFailure({ kind: 'UnprocessablePatch', message: 'the patched document is not an object' }));
      }
      case 'merge': {
        const patched = mergePatchObject(current, body);
        return patched.ok ? patched : err(patchFailure(patched.error));
      }
      case 'strategic': {
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return err(patchFailure({ kind: 'InvalidPatch', message: 'strategic merge patch must be a JSON object' }));
        const patched = strategicMergePatch(current, body as JsonObject, def.typeName ?? '');
        return patched.ok ? patched : err(patchFailure(patched.error));
      }
    }
  },
  apply: (def, live, applied, manager, force, now) => {
    const result = applyPatch({ live, applied, manager, force, now, ...ownership(def, undefined) });
    if (result.ok) return ok(result.value.object);
    const status = applyErrorStatus(result.error);
    return err({
      code: status.code,
      reason: (status.reason === '' ? 'InternalError' : status.reason) as StatusReason,
      message: status.message,
      ...(status.details === undefined ? {} : { details: { causes: status.details.causes.map((c) => ({ message: c.message, ...(c.type === undefined ? {} : { reason: c.type }), ...(c.field === undefined ? {} : { field: c.field }) })) } }),
    });
  },
  // Ownership of a non-apply write; if it cannot be computed the write still goes through unowned.
  recordUpdate: (def, before, after, manager, now, subresource) => {
    const result = recordUpdate({ before, after, manager, operation: 'Update', now, ...ownership(def, subresource) });
    return result.ok ? result.value.object : after;
  },
};

/** What server-side apply needs to know of a resource: its type, list types, and reset subtrees. */
function ownership(def: ResourceDef, subresource: string | undefined): { typeName: string | undefined; lookupListType?: ListTypeLookup; subresource?: string; resetFields?: readonly (readonly string[])[] } {
  const resetFields = !def.subresources.includes('status') ? undefined : subresource === 'status' ? [['spec'], ['metadata']] : [['status']];
  return {
    typeName: def.typeName,
    ...(def.crdSchema === undefined ? {} : { lookupListType: crdListTypes(def.crdSchema) }),
    ...(subresource === undefined ? {} : { subresource }),
    ...(resetFields === undefined ? {} : { resetFields }),
  };
}

type SchemaNode = { readonly properties?: Record<string, SchemaNode>; readonly items?: SchemaNode; readonly additionalProperties?: SchemaNode | boolean; readonly 'x-kubernetes-list-type'?: string; readonly 'x-kubernetes-list-map-keys'?: readonly string[] };

/** `x-kubernetes-list-type` of a CRD schema by path (`['spec', 'routes', '[]', 'hosts']`). */
function crdListTypes(schema: JsonObject): ListTypeLookup {
  return (path) => {
    let node: SchemaNode | undefined = schema as SchemaNode;
    for (const segment of path) {
      if (node === undefined) return undefined;
      node = segment === '[]' ? node.items : (node.properties?.[segment] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined));
    }
    const listType = node?.['x-kubernetes-list-type'];
    if (listType === 'set') return { type: 'set' };
    if (listType === 'map') return { type: 'map', keys: node?.['x-kubernetes-list-map-keys'] ?? [] };
    return undefined;
  };
}

/** Patch strategies and list types as OpenAPI extensions, so kubectl computes apply patches as against a real server. */
const extensionsOf: ExtensionsOf = (typeName, field) => {
  const key = `${typeName}.${field}`;
  const strategy = patchStrategies[key];
  const listType = listTypes[key];
  if (strategy === undefined && listType === undefined) return undefined;
  return {
    ...(strategy?.strategy === undefined ? {} : { 'x-kubernetes-patch-strategy': strategy.strategy }),
    ...(strategy?.mergeKey === undefined ? {} : { 'x-kubernetes-patch-merge-key': strategy.mergeKey }),
    ...(listType === undefined ? {} : { 'x-kubernetes-list-type': listType.type, ...(listType.type === 'map' ? { 'x-kubernetes-list-map-keys': [...listType.keys] } : {}) }),
  };
};

/** The served group-versions as the OpenAPI builders take them. */
function documented(registry: ResourceRegistry): DocumentedGroupVersion[] {
  const out = new Map<string, { group: string; version: string; resources: ResourceInfo[]; crdSchemas: Map<string, JsonObject> }>();
  for (const def of registry.all()) {
    const key = `${def.group}/${def.version}`;
    const gv = out.get(key) ?? { group: def.group, version: def.version, resources: [], crdSchemas: new Map<string, JsonObject>() };
    gv.resources.push({ plural: def.plural, kind: def.kind, namespaced: def.namespaced, subresources: def.subresources.includes('status') ? ['status'] : [] });
    if (def.crdSchema !== undefined) gv.crdSchemas.set(def.kind, def.crdSchema);
    out.set(key, gv);
  }
  return [...out.values()].map((gv) => (gv.crdSchemas.size === 0 ? { group: gv.group, version: gv.version, resources: gv.resources } : gv));
}

/** One responder per set of served resources; a CRD change makes the next request build anew. */
export function openApiFor(): (path: string, accept: string, registry: ResourceRegistry) => OpenApiResponse | undefined {
  let cached: { generation: number; respond: OpenApiResponder } | undefined;
  return (path, accept, registry) => {
    if (cached?.generation !== registry.generation) cached = { generation: registry.generation, respond: openApiResponder(documented(registry), { extensionsOf }) };
    return cached.respond(path, accept);
  };
}
export function bundledCrds(): Result<readonly JsonObject[], string> {
  try {
    return ok(loadBundledCrds());
  } catch (error) {
    return err(`cannot read the bundled CRD manifests: ${(error as Error).message}`);
  }
}
