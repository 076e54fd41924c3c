// Kubernetes `Status` errors, with the codes, reasons and wording kube-apiserver uses, so kubectl
// prints the same `Error from server (Reason): …` lines as against a real cluster.
import type { JsonObject } from '../../kernel/index.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

export interface ApiError {
  readonly code: number;
  readonly reason: StatusReason;
  readonly message: string;
  readonly details?: { readonly name?: string; readonly group?: string; readonly kind?: string; readonly causes?: readonly StatusCause[]; readonly retryAfterSeconds?: number };
}

export function statusBody(error: ApiError): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    ...(error.details === undefined ? {} : { details: error.details as JsonObject }),
    code: error.code,
  };
}

/** `pods`, or `deployments.apps` for a named group, as in the real messages. */
export const qualifiedResource = (group: string, resource: string): string => (group === '' ? resource : `${resource}.${group}`);

export const badRequest = (message: string, causes?: readonly StatusCause[]): ApiError => ({ code: 400, reason: 'BadRequest', message, ...(causes === undefined ? {} : { details: { causes } }) });
export const unauthorized = (): ApiError => ({ code: 401, reason: 'Unauthorized', message: 'Unauthorized' });
export const forbidden = (message: string, details?: ApiError['details']): ApiError => ({ code: 403, reason: 'Forbidden', message, ...(details === undefined ? {} : { details }) });
export const notFound = (group: string, resource: string, name: string): ApiError => ({
  code: 404,
  reason: 'NotFound',
  message: `${qualifiedResource(group, resource)} "${name}" not found`,
  details: { name, ...(group === '' ? {} : { group }), kind: resource },
});
export const pathNotFound = (): ApiError => ({ code: 404, reason: 'NotFound', message: 'the server could not find the requested resource', details: {} });
export const methodNotAllowed = (method: string, what: string): ApiError => ({ code: 405, reason: 'MethodNotAllowed', message: `the server does not allow this method on the requested resource (${method} ${what})`, details: {} });
/**
 * 405 from a read-only API (the edge's MetaServer): `why` says where writes go instead. 405 and not
 * 403, because no identity could be allowed the write: the verb is not served here at all, as
 * kube-apiserver answers for a resource without it (403 would read as an RBAC denial to retry as
 * someone else).
 */
export const readOnlyRefusal = (method: string, path: string, why: string): ApiError => ({ code: 405, reason: 'MethodNotAllowed', message: `${why} (refused ${method} ${path})`, details: {} });
export const alreadyExists = (group: string, resource: string, name: string): ApiError => ({
  code: 409,
  reason: 'AlreadyExists',
  message: `${qualifiedResource(group, resource)} "${name}" already exists`,
  details: { name, ...(group === '' ? {} : { group }), kind: resource },
});
export const conflict = (group: string, resource: string, name: string, why: string): ApiError => ({
  code: 409,
  reason: 'Conflict',
  message: `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`,
  details: { name, ...(group === '' ? {} : { group }), kind: resource },
});
/**
 * 403 for a create in a namespace being deleted, as kube-apiserver's NamespaceLifecycle admission
 * answers (`name` is the new object's name, or its generateName before one is made).
 */
export const namespaceTerminating = (group: string, resource: string, name: string, namespace: string): ApiError => {
  const named = name === '' ? 'Unknown' : name;
  return {
    code: 403,
    reason: 'Forbidden',
    message: `${qualifiedResource(group, resource)} "${named}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
    details: { name: named, ...(group === '' ? {} : { group }), kind: resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] },
  };
};
export const staleObject = (group: string, resource: string, name: string): ApiError =>
  conflict(group, resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
export const expired = (message: string): ApiError => ({ code: 410, reason: 'Expired', message });
export const tooLarge = (limit: number): ApiError => ({ code: 413, reason: 'RequestEntityTooLarge', message: `Request entity too large: limit is ${limit}` });
export const unsupportedMediaType = (contentType: string): ApiError => ({ code: 415, reason: 'UnsupportedMediaType', message: `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})` });
export const tooManyRequests = (message: string): ApiError => ({ code: 429, reason: 'TooManyRequests', message, details: { retryAfterSeconds: 1 } });
export const internalError = (message: string): ApiError => ({ code: 500, reason: 'InternalError', message: `Internal error occurred: ${message}` });

export interface FieldError {
  readonly field: string;
  readonly type: string;
  readonly message: string;
}

/** 422: `Pod "web" is invalid: spec.containers[0].image: Required value` (errors joined like upstream's aggregate). */
export function invalid(group: string, kind: string, name: string, errors: readonly FieldError[]): ApiError {
  const summary = errors.map((e) => `${e.field}: ${e.message}`);
  const text = summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`;
  return {
    code: 422,
    reason: 'Invalid',
    message: `${kind}${group === '' ? '' : `.${group}`} "${name}" is invalid: ${text}`,
    details: { name, ...(group === '' ? {} : { group }), kind, causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })) },
  };
}
