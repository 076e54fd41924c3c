// Types shared by the OpenAPI v2 and v3 builders.
import type { JsonObject, JsonValue } from '../../kernel/index.js';

/** One served resource of a group-version, as the API server routes it. */
export interface ResourceInfo {
  /** The plural resource name in URLs: `pods`. */
  readonly plural: string;
  /** The kind: `Pod`. */
  readonly kind: string;
  readonly namespaced: boolean;
  readonly subresources: readonly 'status'[];
}

/** A group-version the server serves; the core group is `''`. */
export interface GroupVersion {
  readonly group: string;
  readonly version: string;
}

/**
 * Extra vendor extensions for one field of a built-in type, keyed by client-node model name and JSON
 * field name, e.g. `('V1PodSpec', 'containers')` → `{ 'x-kubernetes-patch-strategy': 'merge',
 * 'x-kubernetes-patch-merge-key': 'name' }`. kubectl computes client-side apply patches from these.
 */
export type ExtensionsOf = (typeName: string, field: string) => Readonly<Record<string, JsonValue>> | undefined;

/** Options common to every document builder. */
export interface OpenApiOptions {
  /** Adds vendor extensions (patch strategies, list types) to built-in fields; none when absent. */
  readonly extensionsOf?: ExtensionsOf;
  /** `info.version` of the documents; defaults to the version of the type graph's models. */
  readonly kubernetesVersion?: string;
}

/** The two OpenAPI dialects kubectl reads: v2 (swagger, `#/definitions/`) and v3 (`#/components/schemas/`). */
export type OpenApiDialect = 'v2' | 'v3';

/** A mutable JSON object, for building documents before they are handed out as `JsonObject`. */
export type JsonBuilder = { [key: string]: JsonValue };

export type { JsonObject, JsonValue };

/** The models' Kubernetes version (client-node 1.4.0 is generated from the v1.34.0 OpenAPI). */
export const MODELS_KUBERNETES_VERSION = 'v1.34.0';

/** The `$ref` to a definition in the given dialect. */
export const refTo = (dialect: OpenApiDialect, definition: string): string =>
  dialect === 'v3' ? `#/components/schemas/${definition}` : `#/definitions/${definition}`;
