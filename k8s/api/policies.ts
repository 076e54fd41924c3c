// The default validator, patcher, OpenAPI and bundled CRDs the embedded server is assembled with.
// INTERIM: filled in from k8s/schema, k8s/patch and k8s/crds as those land.
import type { JsonObject, JsonValue, Result } from '../../kernel/index.js';
import { ok } from '../../kernel/index.js';
import type { ObjectValidator, Patcher } from './kube-api.js';

function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, JsonValue> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, JsonValue>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key] ?? null, value);
  }
  return base;
}

export const defaultValidator: ObjectValidator = { unknownFields: () => [], validate: () => [], prune: (_def, object) => object };
export const defaultPatcher: Patcher = {
  patch: (_type, _def, current, body) => ok(mergePatch(current, body) as JsonObject),
  apply: (_def, live, applied) => ok(mergePatch(live ?? {}, applied) as JsonObject),
  recordUpdate: (_def, _before, after) => after,
};
export const defaultOpenApi = (): JsonValue | undefined => undefined;
export const bundledCrds = (): Result<readonly JsonObject[], string> => ok([]);
