// The OpenAPI v2 (swagger) document kube-apiserver serves at /openapi/v2: one document for every served
// group-version. kubectl up to v1.28 reads it for `explain`, and newer kubectl falls back to it; kubectl
// asks for it as protobuf only (see openapi-v2.protobuf.ts), so the server encodes this JSON before serving.
// Building it walks every served type (a few hundred ms): build once per set of served kinds and cache.
import type { JsonObject } from '../../kernel/index.js';
import { type DocumentedGroupVersion, documentParts } from './openapi-document.builder.js';
import { MODELS_KUBERNETES_VERSION, type OpenApiOptions } from './openapi.types.js';

export type { DocumentedGroupVersion } from './openapi-document.builder.js';

/** The media type kubectl asks /openapi/v2 for (its only Accept; it has no JSON alternative). */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * The Content-Type to answer with. kube-apiserver answers the '@' name with this dotted one: kubectl
 * parses the response type with Go's mime package, which refuses the '@' (`mime: unexpected content
 * after media subtype`, surfaced as an InternalError).
 */
export const OPENAPI_V2_PROTOBUF_RESPONSE_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/**
 * The swagger 2.0 document for all served group-versions; custom group-versions carry their CRD schemas.
 * @example encodeOpenApiV2Protobuf(openApiV2Document([{ group: '', version: 'v1', resources }]))
 */
export function openApiV2Document(groupVersions: readonly DocumentedGroupVersion[], options: OpenApiOptions = {}): JsonObject {
  const { paths, definitions } = documentParts(groupVersions, 'v2', options);
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: options.kubernetesVersion ?? MODELS_KUBERNETES_VERSION },
    paths,
    definitions,
    securityDefinitions: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
}
