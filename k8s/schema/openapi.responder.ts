// Answers the OpenAPI endpoints of kube-apiserver for one set of served group-versions: /openapi/v3 (the
// index), /openapi/v3/api/v1 and /openapi/v3/apis/<group>/<version> (documents, built on first request
// and cached with their hashes) and /openapi/v2 (protobuf, or JSON when asked for JSON). The server makes
// a new responder whenever what it serves changes (a CRD added, removed or changed).
import { type DocumentedGroupVersion } from './openapi-document.builder.js';
import { OPENAPI_V2_PROTOBUF_RESPONSE_CONTENT_TYPE, openApiV2Document } from './openapi-v2.js';
import { encodeOpenApiV2Protobuf } from './openapi-v2.protobuf.js';
import { groupVersionOfOpenApiV3Path, openApiDocumentHash, openApiV3Document, openApiV3Path, openApiV3Root } from './openapi-v3.js';
import type { JsonObject, OpenApiOptions } from './openapi.types.js';

/** What to send back: a content type and a JSON text or protobuf bytes. */
export interface OpenApiResponse {
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

/** Answers one OpenAPI request path (no query string); undefined means 404. */
export type OpenApiResponder = (path: string, accept: string) => OpenApiResponse | undefined;

const JSON_CONTENT_TYPE = 'application/json';

/**
 * A responder over the served group-versions. kubectl sends `?hash=` and `timeout=` query parameters;
 * the documents do not depend on them, so only the path is needed.
 * @example const respond = openApiResponder(served); respond('/openapi/v3', 'application/json')
 */
export function openApiResponder(groupVersions: readonly DocumentedGroupVersion[], options: OpenApiOptions = {}): OpenApiResponder {
  const byPath = new Map(groupVersions.map((gv) => [openApiV3Path(gv), gv]));
  const v3Documents = new Map<string, { document: JsonObject; text: string; hash: string }>();
  const v3Of = (path: string): { document: JsonObject; text: string; hash: string } | undefined => {
    const gv = byPath.get(path);
    if (gv === undefined) return undefined;
    let cached = v3Documents.get(path);
    if (cached === undefined) {
      const document = openApiV3Document(gv.group, gv.version, gv.resources, gv.crdSchemas, options);
      cached = { document, text: JSON.stringify(document), hash: openApiDocumentHash(document) };
      v3Documents.set(path, cached);
    }
    return cached;
  };
  let v2: { json: string; protobuf: Uint8Array } | undefined;
  const v2Of = (): { json: string; protobuf: Uint8Array } => {
    if (v2 === undefined) {
      const document = openApiV2Document(groupVersions, options);
      v2 = { json: JSON.stringify(document), protobuf: encodeOpenApiV2Protobuf(document) };
    }
    return v2;
  };
  return (path, accept) => {
    if (path === '/openapi/v3') {
      const root = openApiV3Root(groupVersions, (gv) => v3Of(openApiV3Path(gv))?.hash ?? '');
      return { contentType: JSON_CONTENT_TYPE, body: JSON.stringify(root) };
    }
    if (path === '/openapi/v2') {
      const wantsProtobuf = accept.includes('protobuf') || !accept.includes('json');
      return wantsProtobuf ? { contentType: OPENAPI_V2_PROTOBUF_RESPONSE_CONTENT_TYPE, body: v2Of().protobuf } : { contentType: JSON_CONTENT_TYPE, body: v2Of().json };
    }
    const gv = groupVersionOfOpenApiV3Path(path);
    const document = gv === undefined ? undefined : v3Of(openApiV3Path(gv));
    return document === undefined ? undefined : { contentType: JSON_CONTENT_TYPE, body: document.text };
  };
}
