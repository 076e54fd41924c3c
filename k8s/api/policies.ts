// The validator, patcher, OpenAPI documents and bundled CRDs the embedded server is assembled with:
// adapters from the KubeApi ports onto the schema, patch and crds modules.
import type { JsonObject, JsonValue, Result } from '../../kernel/index.js';
import { err, ok } from '../../kernel/index.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import { mergePatch, mergePatchObject } from '../patch/merge-patch.js';
import { patchErrorStatus, type PatchError } from '../patch/patch.errors.js';
import { strategicMergePatch } from '../patch/strategic-merge-patch.js';
import { compileCrdSchema, loadBundledCrds, type CrdSchema } from '../crds/crd-schema.js';
import { unknownFields as builtinUnknownFields, validateBuiltin } from '../schema/builtin-validation.js';
import type { ObjectValidator, Patcher } from './kube-api.js';
import { apiVersionOf, type ResourceDef } from './resources.js';
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

export const defaultValidator: ObjectValidator = {
  unknownFields: (def, object) => (def.typeName !== undefined ? builtinUnknownFields(apiVersionOf(def), def.kind, object) : (crdSchemaOf(def)?.unknownFields(object) ?? [])),
  validate: (def, object) => {
    if (def.typeName !== undefined) return validateBuiltin(apiVersionOf(def), def.kind, object);
    const schema = crdSchemaOf(def);
    return schema === undefined ? [] : schema.validate(object);
  },
  // Custom resources are pruned and defaulted as upstream stores them; built-ins are checked strictly instead.
  prune: (def, object) => {
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
  apply: (_def, live, applied) => ok(mergePatch(live ?? {}, applied) as JsonObject),
  recordUpdate: (_def, _before, after) => after,
};

export const defaultOpenApi = (): JsonValue | undefined => undefined;
export function bundledCrds(): Result<readonly JsonObject[], string> {
  try {
    return ok(loadBundledCrds());
  } catch (error) {
    return err(`cannot read the bundled CRD manifests: ${(error as Error).message}`);
  }
}
