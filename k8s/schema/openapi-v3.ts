// OpenAPI v3 documents as kube-apiserver serves them under /openapi/v3: the index of group-versions and
// one document per group-version, built from the type graph (built-in kinds) or from CRD schemas. This
// is what `kubectl explain` prints from (v1.27+, after v1.27/v1.28 first fetch /openapi/v2) and what
// `kubectl apply` checks `fieldValidation` support in and computes strategic merge patches from.
// Building a document walks every type its kinds reach (a few hundred ms the first time): build once per
// set of served kinds and cache it together with its hash.
import { createHash } from 'node:crypto';
import type { JsonObject } from '../../kernel/index.js';
import { documentParts } from './openapi-document.builder.js';
import { type GroupVersion, MODELS_KUBERNETES_VERSION, type OpenApiOptions, type ResourceInfo } from './openapi.types.js';

export type { ExtensionsOf, GroupVersion, OpenApiOptions, ResourceInfo } from './openapi.types.js';

/** A custom resource with its CRD version's `openAPIV3Schema`. */
export interface CustomResourceInfo extends ResourceInfo {
  readonly schema: JsonObject;
}

/** The path of a group-version under /openapi/v3 and in the index: `api/v1`, `apis/apps/v1`. */
export const openApiV3Path = (gv: GroupVersion): string => (gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`);

/** The group-version a request path names: `/openapi/v3/apis/apps/v1` → apps/v1; undefined for others. */
export function groupVersionOfOpenApiV3Path(path: string): GroupVersion | undefined {
  const core = /^\/openapi\/v3\/api\/([a-z0-9]+)$/.exec(path);
  if (core !== null) return { group: '', version: core[1] ?? '' };
  const named = /^\/openapi\/v3\/apis\/([a-z0-9.-]+)\/([a-z0-9]+)$/.exec(path);
  return named === null ? undefined : { group: named[1] ?? '', version: named[2] ?? '' };
}

/**
 * The /openapi/v3 index: `paths["api/v1"].serverRelativeURL = "/openapi/v3/api/v1?hash=<H>"`. kubectl
 * fetches the documents by these URLs and caches them by hash, so the hash must change with the document.
 * @example openApiV3Root([{ group: '', version: 'v1' }], (gv) => openApiDocumentHash(docs.get(gv)))
 */
export function openApiV3Root(groupVersions: readonly GroupVersion[], hashOf: (gv: GroupVersion) => string): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const gv of groupVersions) {
    const path = openApiV3Path(gv);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(gv)}` };
  }
  return { paths };
}

/** Upstream's document hash: SHA-512 of the JSON, upper-case hex. */
export const openApiDocumentHash = (document: JsonObject): string => createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();

/**
 * The OpenAPI v3 document of one group-version. Built-in kinds come from the type graph; a kind listed
 * in `crdSchemas` (kind → `openAPIV3Schema`) is documented from its CRD schema instead, as is any kind the
 * type graph does not know in this group (free-form when it has no schema).
 */
export function openApiV3Document(group: string, version: string, resources: readonly ResourceInfo[], crdSchemas?: ReadonlyMap<string, JsonObject>, options: OpenApiOptions = {}): JsonObject {
  const { paths, definitions } = documentParts([{ group, version, resources, ...(crdSchemas === undefined ? {} : { crdSchemas }) }], 'v3', options);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: options.kubernetesVersion ?? MODELS_KUBERNETES_VERSION },
    paths,
    components: {
      schemas: definitions,
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    },
  };
}

/** The OpenAPI v3 document of a custom group-version (e.g. devices.kubeedge.io/v1beta1) from CRD schemas. */
export function openApiV3CustomResourceDocument(group: string, version: string, resources: readonly CustomResourceInfo[], options: OpenApiOptions = {}): JsonObject {
  const crdSchemas = new Map(resources.map((r) => [r.kind, r.schema]));
  const plain = resources.map(({ plural, kind, namespaced, subresources }) => ({ plural, kind, namespaced, subresources }));
  return openApiV3Document(group, version, plain, crdSchemas, options);
}
