// The embedded Kubernetes API: routes a request to discovery, OpenAPI or a resource verb, and
// answers as kube-apiserver does (codes, Status reasons, Table output, watch streams). Transport
// (HTTP(S), auth, body limits) is in http-server.ts; storage is the ObjectStore.
import { parse as parseYaml } from 'yaml';
import { err, ok, type Clock, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import type { Change, ObjectKey, ObjectStore, WriteError } from '../store/object-store.js';
import { acceptedMedia, aggregatedDiscovery, aggregatedDiscoveryAccepted, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import {
  applyKindDefaults,
  finalizersOf,
  generatedName,
  isBeingDeleted,
  labelsOf,
  mergeUpdate,
  metadataOf,
  namespaceFinalizersOf,
  podSpecUpdateErrors,
  withCreationMetadata,
  withTidyMetadata,
} from './object-rules.js';
import { apiVersionOf, ResourceRegistry, type ResourceDef } from './resources.js';
import { checkFieldSelector, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  internalError,
  invalid,
  methodNotAllowed,
  namespaceTerminating as namespaceTerminatingError,
  notFound,
  pathNotFound,
  readOnlyRefusal,
  staleObject,
  statusBody,
  unsupportedMediaType,
  type ApiError,
  type FieldError,
} from './status.js';
import { toTable } from './tables.js';
import { decodeProtobufBody } from './protobuf-body.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  /** Who is asking, for default field managers (`kubectl`, `edgehive-cloud`…). */
  readonly userAgent: string;
}

/** A watch: started by the transport, which writes each line and ends the response on `end`. */
export interface WatchReply {
  readonly kind: 'watch';
  readonly contentType: string;
  start(write: (line: string) => void, end: () => void): () => void;
}

export type ApiReply =
  | { readonly kind: 'json'; readonly status: number; readonly body: JsonValue; readonly contentType?: string; readonly warnings?: readonly string[] }
  | { readonly kind: 'raw'; readonly status: number; readonly text: string | Uint8Array; readonly contentType: string; readonly warnings?: readonly string[] }
  | WatchReply
  | { readonly kind: 'delegate'; readonly handle: string };

/** Checks objects against schemas: built-in kinds against upstream's, custom ones against their CRD. */
export interface ObjectValidator {
  unknownFields(def: ResourceDef, object: JsonObject): readonly string[];
  validate(def: ResourceDef, object: JsonObject, old: JsonObject | undefined): readonly FieldError[];
  /** Drops fields the schema does not declare (custom resources are pruned on write). */
  prune(def: ResourceDef, object: JsonObject): JsonObject;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchFailure {
  readonly code: 409 | 422 | 400 | 500;
  readonly error: ApiError;
}

/** Patch formats and field ownership; the patch room implements it. */
export interface Patcher {
  patch(type: Exclude<PatchType, 'apply'>, def: ResourceDef, current: JsonObject, body: JsonValue): Result<JsonObject, ApiError>;
  /** Server-side apply: the merged object with managedFields, or a 409 conflict. */
  apply(def: ResourceDef, live: JsonObject | undefined, applied: JsonObject, manager: string, force: boolean, now: string): Result<JsonObject, ApiError>;
  /** Records `manager` as owner of what a create/update/patch changed. */
  recordUpdate(def: ResourceDef, before: JsonObject | undefined, after: JsonObject, manager: string, now: string, subresource: string | undefined): JsonObject;
}

export interface KubeApiLimits {
  readonly listPageMax: number;
  readonly bookmarkIntervalMs: number;
}

export interface KubeApiDeps {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly newUid: () => string;
  readonly random: () => number;
  readonly validator: ObjectValidator;
  readonly patcher: Patcher;
  /** The OpenAPI documents (v3 index and documents, v2) of what `registry` serves now. */
  readonly openApi: (path: string, accept: string, registry: ResourceRegistry) => { readonly contentType: string; readonly body: string | Uint8Array } | undefined;
  readonly serverAddress: string;
  readonly version: { readonly major: string; readonly minor: string; readonly gitVersion: string };
  readonly limits: KubeApiLimits;
  /** Custom resource definitions installed at every start (e.g. KubeEdge's devices). */
  readonly bundledCrds: readonly JsonObject[];
  /**
   * Set for a read-only API (the edge's MetaServer, whose objects are fed by its owner, never by
   * clients): every method but GET and HEAD answers 405 MethodNotAllowed with `why` in its message,
   * and discovery lists only the read verbs.
   */
  readonly readOnly?: { readonly why: string };
}

const json = (status: number, body: JsonValue, extra: { contentType?: string; warnings?: readonly string[] } = {}): ApiReply => ({ kind: 'json', status, body, ...extra });
const failure = (error: ApiError): ApiReply => json(error.code, statusBody(error));

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
const undeletableNamespaces = new Set(['default', 'kube-system', 'kube-public']);

interface Target {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

const storageKey = (def: ResourceDef, namespace: string | undefined, name: string): ObjectKey => ({ group: def.group, resource: def.plural, namespace: def.namespaced ? (namespace ?? '') : '', name });

const writeError = (def: ResourceDef, error: WriteError): ApiError => {
  switch (error.kind) {
    case 'AlreadyExists':
      return alreadyExists(def.group, def.plural, error.key.name);
    case 'NotFound':
      return notFound(def.group, def.plural, error.key.name);
    case 'Conflict':
      return staleObject(def.group, def.plural, error.key.name);
  }
};

/** How a DELETE treats dependents (ownerReferences): Background (default) and Orphan here, Foreground with the garbage collector. */
type Propagation = 'Background' | 'Foreground' | 'Orphan';
const propagationOf = (policy: unknown): Propagation => (policy === 'Orphan' || policy === 'Foreground' ? policy : 'Background');
/** The finalizer of an owner deleted in the foreground, removed by the garbage collector. */
const FOREGROUND_FINALIZER = 'foregroundDeletion';

const isApiError = (value: unknown): value is ApiError => typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;

export class KubeApi {
  readonly registry = new ResourceRegistry();
  readonly #deps: KubeApiDeps;
  #serviceIps = 0;

  constructor(deps: KubeApiDeps) {
    this.#deps = deps;
  }

  /** Namespaces and bundled CRDs exist from the first start; stored CRDs are served again. */
  bootstrap(): Result<{ readonly clusterId: string }, string> {
    const nsDef = this.#builtin('', 'Namespace');
    for (const name of systemNamespaces) {
      if (this.#deps.store.get(storageKey(nsDef, undefined, name)) === undefined) {
        const created = this.#create(nsDef, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, 'edgehive', false);
        if (!created.ok) return err(`cannot create namespace ${name}: ${created.error.message}`);
      }
    }
    const crdDef = this.#builtin('apiextensions.k8s.io', 'CustomResourceDefinition');
    for (const crd of this.#deps.store.list({ group: crdDef.group, resource: crdDef.plural }).items) this.registry.setCrd(metadataOf(crd).name, crd);
    for (const crd of this.#deps.bundledCrds) {
      const name = String(metadataOf(crd).name);
      if (this.#deps.store.get(storageKey(crdDef, undefined, name)) !== undefined) continue;
      const created = this.#create(crdDef, undefined, crd, 'edgehive', false);
      if (!created.ok) return err(`cannot install CRD ${name}: ${created.error.message}`);
    }
    const kubeSystem = this.#deps.store.get(storageKey(nsDef, undefined, 'kube-system'));
    this.#serviceIps = this.#deps.store.list({ group: '', resource: 'services' }).items.length;
    return ok({ clusterId: String(metadataOf(kubeSystem ?? {}).uid ?? '') });
  }

  handle(request: ApiRequest): ApiReply {
    try {
      return this.#route(request);
    } catch (error) {
      return failure(internalError(error instanceof Error ? error.message : String(error)));
    }
  }

  #builtin(group: string, kind: string): ResourceDef {
    const def = this.registry.byKind(group, kind);
    if (def === undefined) throw new Error(`no built-in ${kind}`);
    return def;
  }

  #now(): string {
    return new Date(this.#deps.clock.nowMs()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #route(request: ApiRequest): ApiReply {
    // Before any routing, so no write path (subresources and dry runs included) is reachable.
    if (this.#deps.readOnly !== undefined && request.method !== 'GET' && request.method !== 'HEAD') return failure(readOnlyRefusal(request.method, request.path, this.#deps.readOnly.why));
    const segments = request.path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const accept = request.headers['accept'];
    const access = this.#deps.readOnly === undefined ? 'read-write' : 'read-only';
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (segments.length === 1 && segments[0] === 'version') return json(200, { ...this.#deps.version, gitCommit: 'edgehive', gitTreeState: 'clean', buildDate: '2026-11-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' });
      if (segments.length === 1 && ['healthz', 'livez', 'readyz'].includes(segments[0] ?? '')) return { kind: 'json', status: 200, body: 'ok', contentType: 'text/plain' };
      if (segments[0] === 'openapi') {
        const doc = this.#deps.openApi(request.path, accept ?? '', this.registry);
        return doc === undefined ? failure(pathNotFound()) : { kind: 'raw', status: 200, contentType: doc.contentType, text: doc.body };
      }
      if (segments.length === 1 && (segments[0] === 'api' || segments[0] === 'apis')) {
        const aggregated = aggregatedDiscoveryAccepted(accept);
        const core = segments[0] === 'api';
        if (aggregated !== undefined) {
          return json(200, aggregatedDiscovery(aggregated, core, this.registry.groups(), this.registry.all(), access), { contentType: `application/json;g=apidiscovery.k8s.io;v=${aggregated};as=APIGroupDiscoveryList` });
        }
        return json(200, core ? apiVersions(this.#deps.serverAddress) : apiGroupList(this.registry.groups()));
      }
      if (segments[0] === 'apis' && segments.length === 2) {
        const versions = this.registry.groups().get(segments[1] ?? '');
        return versions === undefined ? failure(pathNotFound()) : json(200, apiGroup(segments[1] ?? '', versions));
      }
      const gv = segments[0] === 'api' && segments.length === 2 ? { group: '', version: segments[1] } : segments[0] === 'apis' && segments.length === 3 ? { group: segments[1], version: segments[2] } : undefined;
      if (gv !== undefined) {
        const defs = this.registry.all().filter((d) => d.group === gv.group && d.version === gv.version);
        if (defs.length === 0) return failure(pathNotFound());
        return json(200, apiResourceList(gv.group === '' ? gv.version ?? '' : `${gv.group}/${gv.version}`, defs, access));
      }
    }
    const target = this.#target(segments);
    if (!target.ok) return failure(target.error);
    return this.#verb(request, target.value);
  }

  #target(segments: readonly string[]): Result<Target, ApiError> {
    let group: string;
    let version: string;
    let rest: readonly string[];
    if (segments[0] === 'api' && segments.length >= 3) {
      group = '';
      version = segments[1] ?? '';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 4) {
      group = segments[1] ?? '';
      version = segments[2] ?? '';
      rest = segments.slice(3);
    } else return err(pathNotFound());
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural = '', name, subresource, ...extra] = rest;
    const def = this.registry.find(group, version, plural);
    if (def === undefined || extra.length > 0) return err(pathNotFound());
    if (!def.namespaced && namespace !== undefined) return err(pathNotFound());
    if (subresource !== undefined && !def.subresources.includes(subresource as never) && !(def.kind === 'Namespace' && subresource === 'finalize')) return err(pathNotFound());
    return ok({ def, namespace, name, subresource });
  }

  #verb(request: ApiRequest, target: Target): ApiReply {
    const { def, name, subresource } = target;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (subresource !== undefined && ['log', 'exec', 'attach', 'portforward'].includes(subresource)) return { kind: 'delegate', handle: subresource };
    if (name === undefined) {
      if (method === 'GET') return request.query.get('watch') === 'true' || request.query.get('watch') === '1' ? this.#watch(request, target) : this.#list(request, target);
      if (method === 'POST') return this.#createRequest(request, target);
      if (method === 'DELETE') return this.#deleteCollection(request, target);
      return failure(methodNotAllowed(method, def.plural));
    }
    if (subresource === 'binding') return method === 'POST' ? this.#bind(request, target, name) : failure(methodNotAllowed(method, `${def.plural}/binding`));
    if (subresource === 'scale') return this.#scale(request, target, name);
    if (subresource === 'finalize') return method === 'PUT' ? this.#finalize(request, target, name) : failure(methodNotAllowed(method, `${def.plural}/finalize`));
    switch (method) {
      case 'GET':
        return this.#get(request, target, name);
      case 'PUT':
        return this.#updateRequest(request, target, name);
      case 'PATCH':
        return this.#patchRequest(request, target, name);
      case 'DELETE':
        return subresource === undefined ? this.#deleteRequest(request, target, name) : failure(methodNotAllowed(method, `${def.plural}/${subresource}`));
      default:
        return failure(methodNotAllowed(method, def.plural));
    }
  }

  // ---- reads ----

  #wantsTable(request: ApiRequest): boolean {
    return acceptedMedia(request.headers['accept']).some((m) => m.params.get('as') === 'Table');
  }

  #get(request: ApiRequest, target: Target, name: string): ApiReply {
    const object = this.#deps.store.get(storageKey(target.def, target.namespace, name));
    if (object === undefined) return failure(notFound(target.def.group, target.def.plural, name));
    if (target.subresource === 'status' || target.subresource === undefined) {
      if (this.#wantsTable(request)) return json(200, toTable(target.def.columns, [object], { resourceVersion: String(metadataOf(object).resourceVersion) }, this.#deps.clock.nowMs()));
      return json(200, object);
    }
    return failure(pathNotFound());
  }

  #selectors(request: ApiRequest, def: ResourceDef): Result<{ labels: LabelSelector; fields: readonly FieldRequirement[] }, ApiError> {
    const labels = parseLabelSelector(request.query.get('labelSelector') ?? undefined);
    if (!labels.ok) return err(badRequest(labels.error));
    const fields = parseFieldSelector(request.query.get('fieldSelector') ?? undefined);
    if (!fields.ok) return err(badRequest(fields.error));
    const supported = checkFieldSelector(def.kind, fields.value);
    if (!supported.ok) return err(badRequest(supported.error));
    return ok({ labels: labels.value, fields: fields.value });
  }

  #matches(def: ResourceDef, selectors: { labels: LabelSelector; fields: readonly FieldRequirement[] }, object: JsonObject): boolean {
    return matchesLabels(selectors.labels, labelsOf(object)) && matchesFields(def.kind, selectors.fields, object);
  }

  #list(request: ApiRequest, target: Target): ApiReply {
    const { def } = target;
    const selectors = this.#selectors(request, def);
    if (!selectors.ok) return failure(selectors.error);
    const limitText = request.query.get('limit');
    const limit = Math.min(limitText === null || Number(limitText) <= 0 ? this.#deps.limits.listPageMax : Number(limitText), this.#deps.limits.listPageMax);
    if (limitText !== null && !/^\d+$/.test(limitText)) return failure(badRequest(`invalid limit: ${limitText}`));
    // Pages are bounded; a larger limit is served in pages, and the client is told why.
    const warnings = limitText !== null && Number(limitText) > this.#deps.limits.listPageMax ? [`limit ${limitText} exceeds this server's page size ${this.#deps.limits.listPageMax}; the rest follows through metadata.continue`] : [];
    let after: { namespace: string; name: string } | undefined;
    let listRv: number | undefined;
    const token = request.query.get('continue');
    if (token !== null && token !== '') {
      const decoded = decodeContinue(token);
      if (decoded === undefined) return failure(badRequest('continue key is not valid: illegal base64 data'));
      if (decoded.rv < this.#deps.store.compactedRv) return failure(expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'));
      after = { namespace: decoded.namespace, name: decoded.name };
      listRv = decoded.rv;
    }
    const rvParam = request.query.get('resourceVersion');
    if (rvParam !== null && rvParam !== '' && rvParam !== '0' && request.query.get('resourceVersionMatch') === 'Exact') {
      if (Number(rvParam) < this.#deps.store.compactedRv) return failure(expired(`too old resource version: ${rvParam} (${this.#deps.store.compactedRv})`));
    }
    const scope = { group: def.group, resource: def.plural, ...(def.namespaced && target.namespace !== undefined ? { namespace: target.namespace } : {}) };
    if (selectors.value.labels.length === 0 && selectors.value.fields.length === 0 && !this.#wantsTable(request)) {
      // Nothing to look inside the objects for: the stored JSON goes out as it is.
      const page = this.#deps.store.listTexts(scope, { ...(after === undefined ? {} : { after }), limit });
      const listMeta: Any = { resourceVersion: String(listRv ?? page.rv) };
      if (page.continueAfter !== undefined) listMeta.continue = encodeContinue({ rv: listRv ?? page.rv, ...page.continueAfter });
      const head = JSON.stringify({ kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: listMeta });
      return { kind: 'raw', status: 200, contentType: 'application/json', text: `${head.slice(0, -1)},"items":[${page.texts.join(',')}]}`, warnings };
    }
    // Selection happens while paging, so `limit` counts matching items as the real server does.
    const items: JsonObject[] = [];
    let rv: number | undefined;
    let cursor = after;
    let hasMore = false;
    pages: for (;;) {
      const page = this.#deps.store.list(scope, { ...(cursor === undefined ? {} : { after: cursor }), limit: this.#deps.limits.listPageMax });
      rv ??= page.rv;
      for (const item of page.items) {
        if (items.length === limit) {
          hasMore = true;
          break pages;
        }
        cursor = { namespace: String(metadataOf(item).namespace ?? ''), name: String(metadataOf(item).name) };
        if (this.#matches(def, selectors.value, item)) items.push(item);
      }
      if (page.continueAfter === undefined) break;
    }
    const listMeta: Any = { resourceVersion: String(listRv ?? rv) };
    if (hasMore && cursor !== undefined) listMeta.continue = encodeContinue({ rv: listRv ?? rv ?? 0, ...cursor });
    if (this.#wantsTable(request)) return json(200, toTable(def.columns, items, listMeta, this.#deps.clock.nowMs()), { warnings });
    return json(200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: listMeta, items }, { warnings });
  }

  #watch(request: ApiRequest, target: Target): ApiReply {
    const { def } = target;
    const selectors = this.#selectors(request, def);
    if (!selectors.ok) return failure(selectors.error);
    const rvParam = request.query.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) return failure(badRequest(`invalid resource version: ${rvParam}`));
    const table = this.#wantsTable(request);
    const bookmarks = request.query.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = Number(request.query.get('timeoutSeconds') ?? '0');
    const inScope = (key: ObjectKey): boolean => key.group === def.group && key.resource === def.plural && (!def.namespaced || target.namespace === undefined || key.namespace === target.namespace);
    const store = this.#deps.store;
    const clock = this.#deps.clock;
    const bookmarkIntervalMs = this.#deps.limits.bookmarkIntervalMs;
    let sentHeader = false;
    const render = (type: string, object: JsonObject): string => {
      if (!table || type === 'ERROR' || type === 'BOOKMARK') return JSON.stringify({ type, object });
      const t = toTable(def.columns, [object], { resourceVersion: String(metadataOf(object).resourceVersion ?? '') }, clock.nowMs()) as Any;
      if (sentHeader) t.columnDefinitions = [];
      sentHeader = true;
      return JSON.stringify({ type, object: t });
    };
    return {
      kind: 'watch',
      contentType: 'application/json',
      start: (write, end) => {
        let lastRv = 0;
        const pending: Change[] = [];
        let caughtUp = false;
        const emit = (change: Change): void => {
          if (change.rv <= lastRv || !inScope(change.key)) return;
          lastRv = change.rv;
          const matchesNow = this.#matches(def, selectors.value, change.object);
          if (change.type !== 'MODIFIED') {
            if (matchesNow) write(render(change.type, change.object));
            return;
          }
          // As the watch cache does: an object entering the selection is ADDED, one leaving it DELETED.
          const matchedBefore = change.previous === undefined ? matchesNow : this.#matches(def, selectors.value, change.previous);
          if (matchedBefore && matchesNow) write(render('MODIFIED', change.object));
          else if (matchesNow) write(render('ADDED', change.object));
          else if (matchedBefore) write(render('DELETED', change.object));
        };
        const unsubscribe = store.onChange((change) => {
          if (caughtUp) emit(change);
          else pending.push(change);
        });
        if (rvParam === '' || rvParam === '0') {
          // Start from the current state, each object as ADDED, then follow.
          const scope = { group: def.group, resource: def.plural, ...(def.namespaced && target.namespace !== undefined ? { namespace: target.namespace } : {}) };
          if (!table && selectors.value.labels.length === 0 && selectors.value.fields.length === 0) {
            const page = store.listTexts(scope);
            for (const text of page.texts) write(`{"type":"ADDED","object":${text}}`);
            lastRv = page.rv;
          } else {
            const page = store.list(scope);
            for (const item of page.items) if (this.#matches(def, selectors.value, item)) write(render('ADDED', item));
            lastRv = page.rv;
          }
        } else {
          const backlog = store.changesSince(Number(rvParam));
          if (!backlog.ok) {
            unsubscribe();
            write(render('ERROR', statusBody(expired(`too old resource version: ${rvParam} (${backlog.error.compactedRv})`))));
            end();
            return () => undefined;
          }
          lastRv = Number(rvParam);
          for (const change of backlog.value) emit(change);
        }
        caughtUp = true;
        for (const change of pending) emit(change);
        pending.length = 0;
        const timers: NodeJS.Timeout[] = [];
        let stopped = false;
        const stop = (): void => {
          if (stopped) return;
          stopped = true;
          unsubscribe();
          for (const t of timers) clearTimeout(t);
        };
        if (bookmarks) {
          const tick = (): void => {
            write(JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(Math.max(lastRv, store.rv)) } } }));
            timers.push(setTimeout(tick, bookmarkIntervalMs));
          };
          timers.push(setTimeout(tick, bookmarkIntervalMs));
        }
        if (timeoutSeconds > 0) {
          timers.push(
            setTimeout(() => {
              stop();
              end();
            }, timeoutSeconds * 1000),
          );
        }
        return stop;
      },
    };
  }

  // ---- writes ----

  #parseBody(request: ApiRequest, allowYaml: boolean): Result<JsonValue, ApiError> {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    if (contentType === 'application/vnd.kubernetes.protobuf') {
      const decoded = decodeProtobufBody(request.body);
      return decoded.ok ? ok(decoded.value) : err({ ...unsupportedMediaType(contentType), message: decoded.error });
    }
    if (contentType === 'application/cbor') return err(unsupportedMediaType(contentType));
    const text = request.body.toString('utf8');
    if (text.trim() === '') return err(badRequest('the body of the request was empty'));
    try {
      return ok(JSON.parse(text) as JsonValue);
    } catch (jsonError) {
      if (allowYaml) {
        try {
          return ok(parseYaml(text) as JsonValue);
        } catch (yamlError) {
          return err(badRequest(`error decoding YAML: ${(yamlError as Error).message}`));
        }
      }
      return err(badRequest(`the object provided is unrecognized: json parse error: ${(jsonError as Error).message}`));
    }
  }

  #checkKind(def: ResourceDef, object: JsonValue): Result<JsonObject, ApiError> {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) return err(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): not a JSON object`));
    const o = object as Any;
    const expected = apiVersionOf(def);
    if (o.kind !== undefined && o.kind !== def.kind) return err(badRequest(`the object provided is unrecognized (must be of type ${def.kind}): kind "${String(o.kind)}" does not match the expected kind "${def.kind}" of ${def.plural}`));
    if (o.apiVersion !== undefined && o.apiVersion !== expected) return err(badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${expected})`));
    if (o.metadata !== undefined && (typeof o.metadata !== 'object' || o.metadata === null || Array.isArray(o.metadata))) return err(badRequest('metadata must be an object'));
    return ok({ ...o, apiVersion: expected, kind: def.kind, metadata: o.metadata ?? {} });
  }

  /** fieldValidation=Strict (kubectl's default) refuses unknown fields; Warn reports them; Ignore drops them. */
  #fieldValidation(request: ApiRequest, def: ResourceDef, object: JsonObject): Result<{ object: JsonObject; warnings: readonly string[] }, ApiError> {
    const mode = request.query.get('fieldValidation') ?? 'Warn';
    if (!['Strict', 'Warn', 'Ignore'].includes(mode)) return err(badRequest(`fieldValidation parameter unsupported: ${mode}`));
    const unknown = this.#deps.validator.unknownFields(def, object);
    if (unknown.length > 0 && mode === 'Strict') return err(badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f.replace(/^\./, '')}"`).join(', ')}`));
    const warnings = mode === 'Warn' ? unknown.map((f) => `unknown field "${f.replace(/^\./, '')}"`) : [];
    return ok({ object: unknown.length > 0 ? this.#deps.validator.prune(def, object) : object, warnings });
  }

  #manager(request: ApiRequest, fallback: string): string {
    const fromQuery = request.query.get('fieldManager');
    if (fromQuery !== null && fromQuery !== '') return fromQuery;
    const agent = request.userAgent.split('/')[0] ?? '';
    return agent === '' ? fallback : agent;
  }

  #dryRun(request: ApiRequest): Result<boolean, ApiError> {
    const values = request.query.getAll('dryRun');
    if (values.some((v) => v !== 'All')) return err(badRequest(`unsupported dry run option: ${values.join(',')}`));
    return ok(values.length > 0);
  }

  #createRequest(request: ApiRequest, target: Target): ApiReply {
    if (target.subresource !== undefined) return failure(methodNotAllowed('POST', `${target.def.plural}/${target.subresource}`));
    const body = this.#parseBody(request, false);
    if (!body.ok) return failure(body.error);
    const object = this.#checkKind(target.def, body.value);
    if (!object.ok) return failure(object.error);
    const checked = this.#fieldValidation(request, target.def, object.value);
    if (!checked.ok) return failure(checked.error);
    const dryRun = this.#dryRun(request);
    if (!dryRun.ok) return failure(dryRun.error);
    const created = this.#create(target.def, target.namespace, checked.value.object, this.#manager(request, 'unknown'), dryRun.value);
    return created.ok ? json(201, created.value, { warnings: checked.value.warnings }) : failure(created.error);
  }

  /** `creating` names what is created (its name, or generateName before one is made), for the refusal in a Terminating namespace. */
  #namespaceCheck(def: ResourceDef, namespace: string | undefined, creating: { readonly name: string } | undefined): Result<void, ApiError> {
    if (!def.namespaced) return ok(undefined);
    if (namespace === undefined || namespace === '') return err(badRequest('the server could not find the requested resource (a namespaced resource needs a namespace)'));
    const ns = this.#deps.store.get({ group: '', resource: 'namespaces', namespace: '', name: namespace });
    if (ns === undefined) return err(notFound('', 'namespaces', namespace));
    if (creating !== undefined && isBeingDeleted(ns)) return err(namespaceTerminatingError(def.group, def.plural, creating.name, namespace));
    return ok(undefined);
  }

  /** The create path shared by POST, server-side apply of a new object, and bootstrap. */
  /** `manager` undefined: ownership was recorded already (server-side apply). */
  #create(def: ResourceDef, urlNamespace: string | undefined, input: JsonObject, manager: string | undefined, dryRun: boolean): Result<JsonObject, ApiError> {
    const meta = metadataOf(input);
    if (def.namespaced && meta.namespace !== undefined && urlNamespace !== undefined && meta.namespace !== urlNamespace) {
      return err(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
    }
    const namespace = def.namespaced ? (urlNamespace ?? meta.namespace) : undefined;
    let name: string | undefined = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
    if (name === undefined && typeof meta.generateName === 'string' && meta.generateName !== '') name = generatedName(meta.generateName, this.#deps.random);
    if (name === undefined) return err(invalid(def.group, def.kind, '', [{ field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required' }]));
    const nsOk = this.#namespaceCheck(def, namespace, { name: typeof meta.name === 'string' && meta.name !== '' ? meta.name : String(meta.generateName ?? '') });
    if (!nsOk.ok) return nsOk;
    const now = this.#now();
    let object = withTidyMetadata(withCreationMetadata(input, { name, namespace, uid: this.#deps.newUid(), now, tracksGeneration: def.tracksGeneration }));
    object = applyKindDefaults(def.kind, object, { allocateClusterIp: () => this.#allocateServiceIp() });
    if (def.kind === 'Namespace') object = withKubernetesFinalizer(object);
    if (def.typeName === undefined && def.crdSchema !== undefined) object = this.#deps.validator.prune(def, object);
    if (def.kind === 'CustomResourceDefinition') object = withCrdStatus(object);
    const errors = this.#deps.validator.validate(def, object, undefined);
    if (errors.length > 0) return err(invalid(def.group, def.kind, name, errors));
    if (manager !== undefined) object = this.#deps.patcher.recordUpdate(def, undefined, object, manager, now, undefined);
    if (dryRun) return ok(object);
    const key = storageKey(def, namespace, name);
    const created = this.#deps.store.create(key, () => object);
    if (!created.ok) return err(writeError(def, created.error));
    this.#afterWrite(def, undefined, created.value);
    return ok(created.value);
  }

  #allocateServiceIp(): string {
    this.#serviceIps += 1;
    const n = this.#serviceIps;
    return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }

  #updateRequest(request: ApiRequest, target: Target, name: string): ApiReply {
    const body = this.#parseBody(request, false);
    if (!body.ok) return failure(body.error);
    const object = this.#checkKind(target.def, body.value);
    if (!object.ok) return failure(object.error);
    const meta = metadataOf(object.value);
    if (meta.name !== undefined && meta.name !== name) return failure(badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`));
    if (target.def.namespaced && meta.namespace !== undefined && meta.namespace !== target.namespace) return failure(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
    const checked = this.#fieldValidation(request, target.def, object.value);
    if (!checked.ok) return failure(checked.error);
    const dryRun = this.#dryRun(request);
    if (!dryRun.ok) return failure(dryRun.error);
    const updated = this.#update(target, name, meta.resourceVersion === undefined ? undefined : String(meta.resourceVersion), () => ok(checked.value.object), this.#manager(request, 'unknown'), dryRun.value);
    return updated.ok ? json(200, updated.value, { warnings: checked.value.warnings }) : failure(updated.error);
  }

  /** Read-modify-write with optimistic concurrency; `change` sees the current object. */
  #update(target: Target, name: string, expectedRv: string | undefined, change: (current: JsonObject) => Result<JsonObject, ApiError>, manager: string | undefined, dryRun: boolean): Result<JsonObject, ApiError> {
    const { def } = target;
    const key = storageKey(def, target.namespace, name);
    const nsOk = this.#namespaceCheck(def, target.namespace, undefined);
    if (!nsOk.ok) return nsOk;
    let before: JsonObject | undefined;
    const build = (current: JsonObject): Result<JsonObject, ApiError> => {
      before = current;
      const changed = change(current);
      if (!changed.ok) return changed;
      let next = mergeUpdate(current, withTidyMetadata(changed.value), { subresource: target.subresource === 'status' ? 'status' : undefined, hasStatusSubresource: def.subresources.includes('status'), tracksGeneration: def.tracksGeneration });
      // Only namespaces/finalize changes a namespace's spec.finalizers, as upstream's update strategy keeps them.
      if (def.kind === 'Namespace' && target.subresource !== 'finalize') next = { ...next, spec: { ...((next as Any).spec ?? {}), finalizers: namespaceFinalizersOf(current) } };
      // Defaults apply on every write, as upstream decodes every body through its defaulters.
      const keptIp = (current as Any).spec?.clusterIP as string | undefined;
      next = applyKindDefaults(def.kind, next, { allocateClusterIp: () => keptIp ?? this.#allocateServiceIp() });
      if (def.typeName === undefined && def.crdSchema !== undefined) next = this.#deps.validator.prune(def, next);
      if (def.kind === 'CustomResourceDefinition') next = withCrdStatus(next);
      const errors = [...(def.kind === 'Pod' && target.subresource === undefined ? podSpecUpdateErrors(current, next) : []), ...this.#deps.validator.validate(def, next, current)];
      if (errors.length > 0) return err(invalid(def.group, def.kind, name, errors));
      if (isBeingDeleted(current) && finalizersOf(next).some((f) => !finalizersOf(current).includes(f))) {
        return err(invalid(def.group, def.kind, name, [{ field: 'metadata.finalizers', type: 'FieldValueForbidden', message: 'Forbidden: no new finalizers can be added if the object is being deleted' }]));
      }
      return ok(manager === undefined ? next : this.#deps.patcher.recordUpdate(def, current, next, manager, this.#now(), target.subresource));
    };
    if (dryRun) {
      const current = this.#deps.store.get(key);
      if (current === undefined) return err(notFound(def.group, def.plural, name));
      if (expectedRv !== undefined && expectedRv !== String(metadataOf(current).resourceVersion)) return err(staleObject(def.group, def.plural, name));
      return build(current);
    }
    const updated = this.#deps.store.update<ApiError>(key, expectedRv, (current) => build(current));
    if (!updated.ok) return err(isApiError(updated.error) ? updated.error : writeError(def, updated.error));
    this.#afterWrite(def, before, updated.value);
    // The last finalizer removed from an object being deleted: now it goes (a namespace once its spec.finalizers are gone too).
    const waitsForGrace = def.kind === 'Pod' && metadataOf(updated.value).deletionGracePeriodSeconds > 0;
    const waitsForNamespaceFinalizers = def.kind === 'Namespace' && namespaceFinalizersOf(updated.value).length > 0;
    if (isBeingDeleted(updated.value) && finalizersOf(updated.value).length === 0 && !waitsForGrace && !waitsForNamespaceFinalizers) {
      const removed = this.#deps.store.delete(key, undefined);
      if (removed.ok) this.#afterDelete(def, removed.value);
    }
    return ok(updated.value);
  }

  #patchRequest(request: ApiRequest, target: Target, name: string): ApiReply {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const type: PatchType | undefined = {
      'application/json-patch+json': 'json' as const,
      'application/merge-patch+json': 'merge' as const,
      'application/strategic-merge-patch+json': 'strategic' as const,
      'application/apply-patch+yaml': 'apply' as const,
      'application/apply-patch+cbor': undefined,
    }[contentType];
    if (type === undefined) return failure(unsupportedMediaType(contentType));
    if (type === 'strategic' && target.def.typeName === undefined) return failure({ ...unsupportedMediaType(contentType), message: `strategic merge patch is not supported for ${target.def.plural}.${target.def.group}; use a JSON merge patch (--type=merge) or a JSON patch` });
    const body = this.#parseBody(request, type === 'apply');
    if (!body.ok) return failure(body.error);
    const dryRun = this.#dryRun(request);
    if (!dryRun.ok) return failure(dryRun.error);
    const warnings: string[] = [];
    if (type === 'apply') return this.#applyRequest(request, target, name, body.value, dryRun.value);
    const manager = this.#manager(request, 'unknown');
    const patched = this.#update(
      target,
      name,
      undefined,
      (current) => {
        const result = this.#deps.patcher.patch(type, target.def, current, body.value);
        if (!result.ok) return result;
        const kindOk = this.#checkKind(target.def, result.value);
        if (!kindOk.ok) return kindOk;
        const checked = this.#fieldValidation(request, target.def, kindOk.value);
        if (!checked.ok) return checked;
        warnings.push(...checked.value.warnings);
        const rv = metadataOf(kindOk.value).resourceVersion;
        // A patch that carries a resourceVersion is a precondition, as upstream.
        if (rv !== undefined && String(rv) !== String(metadataOf(current).resourceVersion)) return err(staleObject(target.def.group, target.def.plural, name));
        return ok(checked.value.object);
      },
      manager,
      dryRun.value,
    );
    return patched.ok ? json(200, patched.value, { warnings }) : failure(patched.error);
  }

  #applyRequest(request: ApiRequest, target: Target, name: string, body: JsonValue, dryRun: boolean): ApiReply {
    const manager = request.query.get('fieldManager');
    if (manager === null || manager === '') return failure(badRequest('PATCH, application/apply-patch+yaml requests must have a fieldManager query parameter'));
    const force = request.query.get('force') === 'true';
    const object = this.#checkKind(target.def, body);
    if (!object.ok) return failure(object.error);
    if (metadataOf(object.value).name !== undefined && metadataOf(object.value).name !== name) return failure(badRequest(`the name of the object (${String(metadataOf(object.value).name)}) does not match the name on the URL (${name})`));
    const checked = this.#fieldValidation(request, target.def, object.value);
    if (!checked.ok) return failure(checked.error);
    const applied = { ...checked.value.object, metadata: { ...metadataOf(checked.value.object), name } };
    const key = storageKey(target.def, target.namespace, name);
    if (this.#deps.store.get(key) === undefined) {
      const merged = this.#deps.patcher.apply(target.def, undefined, applied, manager, force, this.#now());
      if (!merged.ok) return failure(merged.error);
      const created = this.#create(target.def, target.namespace, merged.value, undefined, dryRun);
      if (!created.ok) return failure(created.error);
      return json(201, created.value, { warnings: checked.value.warnings });
    }
    const precondition = metadataOf(applied).resourceVersion;
    const updated = this.#update(
      target,
      name,
      // A resourceVersion in the applied object is a precondition, as upstream.
      precondition === undefined ? undefined : String(precondition),
      (current) => this.#deps.patcher.apply(target.def, current, applied, manager, force, this.#now()),
      undefined,
      dryRun,
    );
    return updated.ok ? json(200, updated.value, { warnings: checked.value.warnings }) : failure(updated.error);
  }

  #bind(request: ApiRequest, target: Target, name: string): ApiReply {
    const body = this.#parseBody(request, false);
    if (!body.ok) return failure(body.error);
    const binding = body.value as Any;
    const node = binding?.target?.name;
    if (typeof node !== 'string' || node === '') return failure(invalid('', 'Binding', name, [{ field: 'target.name', type: 'FieldValueRequired', message: 'Required value' }]));
    // Through pods/binding, as upstream: the one write that may set spec.nodeName, which a pod update may not change.
    const bound = this.#update(
      { ...target, subresource: 'binding' },
      name,
      undefined,
      (current) => {
        const spec = (current as Any).spec ?? {};
        if (spec.nodeName !== undefined && spec.nodeName !== '') return err(conflict('', 'pods', name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`));
        return ok({ ...current, spec: { ...spec, nodeName: node } });
      },
      this.#manager(request, 'unknown'),
      false,
    );
    return bound.ok ? json(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }) : failure(bound.error);
  }

  #scale(request: ApiRequest, target: Target, name: string): ApiReply {
    const { def } = target;
    const key = storageKey(def, target.namespace, name);
    const toScale = (object: JsonObject): JsonObject => {
      const o = object as Any;
      const labels = (o.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
        spec: { replicas: o.spec?.replicas ?? 0 },
        status: { replicas: o.status?.replicas ?? 0, selector: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') },
      };
    };
    const current = this.#deps.store.get(key);
    if (current === undefined) return failure(notFound(def.group, def.plural, name));
    if (request.method === 'GET') return json(200, toScale(current));
    if (request.method !== 'PUT' && request.method !== 'PATCH') return failure(methodNotAllowed(request.method, `${def.plural}/scale`));
    const body = this.#parseBody(request, false);
    if (!body.ok) return failure(body.error);
    let replicas: unknown;
    if (request.method === 'PUT') replicas = (body.value as Any)?.spec?.replicas;
    else {
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim();
      const patched = this.#deps.patcher.patch(contentType === 'application/json-patch+json' ? 'json' : 'merge', def, toScale(current), body.value);
      if (!patched.ok) return failure(patched.error);
      replicas = (patched.value as Any).spec?.replicas;
    }
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) return failure(invalid('autoscaling', 'Scale', name, [{ field: 'spec.replicas', type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` }]));
    const updated = this.#update({ ...target, subresource: undefined }, name, undefined, (o) => ok({ ...o, spec: { ...((o as Any).spec ?? {}), replicas } }), this.#manager(request, 'unknown'), false);
    return updated.ok ? json(200, toScale(updated.value)) : failure(updated.error);
  }

  // ---- deletes ----

  #deleteOptions(request: ApiRequest): Result<Any, ApiError> {
    if (request.body.length === 0) return ok({});
    const body = this.#parseBody(request, false);
    if (!body.ok) return body;
    return ok((body.value ?? {}) as Any);
  }

  #deleteRequest(request: ApiRequest, target: Target, name: string): ApiReply {
    const options = this.#deleteOptions(request);
    if (!options.ok) return failure(options.error);
    const dryRun = this.#dryRun(request);
    if (!dryRun.ok) return failure(dryRun.error);
    const grace = request.query.get('gracePeriodSeconds') ?? options.value.gracePeriodSeconds;
    const deleted = this.#delete(target.def, target.namespace, name, {
      preconditions: options.value.preconditions ?? {},
      gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
      propagation: propagationOf(request.query.get('propagationPolicy') ?? options.value.propagationPolicy),
      dryRun: dryRun.value || (options.value.dryRun ?? []).includes('All'),
    });
    return deleted.ok ? json(200, deleted.value) : failure(deleted.error);
  }

  #delete(def: ResourceDef, namespace: string | undefined, name: string, options: { preconditions: Any; gracePeriodSeconds: number | undefined; propagation: Propagation; dryRun: boolean }): Result<JsonObject, ApiError> {
    if (def.kind === 'Namespace' && undeletableNamespaces.has(name)) return err(forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' }));
    const key = storageKey(def, namespace, name);
    const current = this.#deps.store.get(key);
    if (current === undefined) return err(notFound(def.group, def.plural, name));
    const meta = metadataOf(current);
    if (options.preconditions.uid !== undefined && options.preconditions.uid !== meta.uid) {
      return err(conflict(def.group, def.plural, name, `Precondition failed: UID in precondition: ${String(options.preconditions.uid)}, UID in object meta: ${String(meta.uid)}`));
    }
    if (options.preconditions.resourceVersion !== undefined && String(options.preconditions.resourceVersion) !== String(meta.resourceVersion)) {
      return err(conflict(def.group, def.plural, name, `Precondition failed: ResourceVersion in precondition: ${String(options.preconditions.resourceVersion)}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`));
    }
    if (options.dryRun) return ok(current);
    if (def.kind === 'Namespace') return this.#deleteNamespace(def, key, current, options.propagation === 'Orphan');
    // Foreground: the owner stays, being deleted, until the garbage collector has deleted its
    // blocking dependents and removed the finalizer. Pods own nothing here: theirs is a background delete.
    if (options.propagation === 'Foreground' && !isBeingDeleted(current) && def.kind !== 'Pod') {
      const updated = this.#deps.store.update<ApiError>(key, undefined, (o) =>
        ok({ ...o, metadata: { ...metadataOf(o), deletionTimestamp: this.#now(), finalizers: [...finalizersOf(o).filter((f) => f !== FOREGROUND_FINALIZER), FOREGROUND_FINALIZER] } }),
      );
      return updated.ok ? ok(updated.value) : err(isApiError(updated.error) ? updated.error : writeError(def, updated.error));
    }
    // Pods on a node are deleted gracefully: the node stops them and then deletes with grace 0.
    const podGrace = def.kind === 'Pod' && (current as Any).spec?.nodeName ? (options.gracePeriodSeconds ?? (current as Any).spec?.terminationGracePeriodSeconds ?? 30) : 0;
    const graceful = podGrace > 0 && !(isBeingDeleted(current) && options.gracePeriodSeconds === 0);
    if (finalizersOf(current).length > 0 || graceful) {
      if (isBeingDeleted(current) && !graceful) return ok(current);
      const updated = this.#deps.store.update<ApiError>(key, undefined, (o) =>
        ok({ ...o, metadata: { ...metadataOf(o), deletionTimestamp: metadataOf(o).deletionTimestamp ?? this.#now(), ...(graceful ? { deletionGracePeriodSeconds: podGrace } : {}) } }),
      );
      if (!updated.ok) return err(isApiError(updated.error) ? updated.error : writeError(def, updated.error));
      return ok(updated.value);
    }
    const removed = this.#deps.store.delete(key, undefined);
    if (!removed.ok) return err(writeError(def, removed.error));
    this.#afterDelete(def, removed.value, options.propagation === 'Orphan');
    return ok(removed.value);
  }

  #deleteCollection(request: ApiRequest, target: Target): ApiReply {
    const selectors = this.#selectors(request, target.def);
    if (!selectors.ok) return failure(selectors.error);
    const { def } = target;
    const items = this.#deps.store.list({ group: def.group, resource: def.plural, ...(def.namespaced && target.namespace !== undefined ? { namespace: target.namespace } : {}) }).items.filter((o) => this.#matches(def, selectors.value, o));
    const deleted: JsonObject[] = [];
    for (const item of items) {
      const result = this.#delete(def, metadataOf(item).namespace, String(metadataOf(item).name), { preconditions: {}, gracePeriodSeconds: undefined, propagation: 'Background', dryRun: false });
      if (result.ok) deleted.push(result.value);
    }
    return json(200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.#deps.store.rv) }, items: deleted });
  }

  /**
   * A namespace is deleted in two steps, as upstream: the first DELETE marks it Terminating (the
   * namespace controller then empties it and removes its `kubernetes` finalizer through /finalize);
   * it goes once spec.finalizers and metadata.finalizers are both empty. A DELETE while content is
   * still being removed is a 409, as kube-apiserver answers.
   */
  #deleteNamespace(def: ResourceDef, key: ObjectKey, current: JsonObject, orphan: boolean): Result<JsonObject, ApiError> {
    let namespace = current;
    if (!isBeingDeleted(current)) {
      const updated = this.#deps.store.update<ApiError>(key, undefined, (o) =>
        ok({ ...o, metadata: { ...metadataOf(o), deletionTimestamp: this.#now() }, status: { ...((o as Any).status ?? {}), phase: 'Terminating' } }),
      );
      if (!updated.ok) return err(isApiError(updated.error) ? updated.error : writeError(def, updated.error));
      namespace = updated.value;
      if (namespaceFinalizersOf(namespace).length > 0 || finalizersOf(namespace).length > 0) return ok(namespace);
    } else if (namespaceFinalizersOf(namespace).length > 0) {
      return err(conflict('', 'namespaces', String(metadataOf(namespace).name), 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.'));
    } else if (finalizersOf(namespace).length > 0) {
      return ok(namespace);
    }
    const removed = this.#deps.store.delete(key, undefined);
    if (!removed.ok) return err(writeError(def, removed.error));
    this.#afterDelete(def, removed.value, orphan);
    return ok(removed.value);
  }

  /** PUT namespaces/{name}/finalize: replaces spec.finalizers, and nothing else, as upstream's finalize subresource. */
  #finalize(request: ApiRequest, target: Target, name: string): ApiReply {
    const body = this.#parseBody(request, false);
    if (!body.ok) return failure(body.error);
    const object = this.#checkKind(target.def, body.value);
    if (!object.ok) return failure(object.error);
    const spec = (object.value as Any).spec;
    const finalizers: unknown = spec?.finalizers ?? [];
    if (!Array.isArray(finalizers) || !finalizers.every((f) => typeof f === 'string' && f !== '')) {
      return failure(invalid('', 'Namespace', name, [{ field: 'spec.finalizers', type: 'FieldValueInvalid', message: 'Invalid value: finalizers must be non-empty strings' }]));
    }
    const dryRun = this.#dryRun(request);
    if (!dryRun.ok) return failure(dryRun.error);
    const rv = metadataOf(object.value).resourceVersion;
    const updated = this.#update(target, name, rv === undefined ? undefined : String(rv), (current) => ok({ ...current, spec: { ...((current as Any).spec ?? {}), finalizers } }), this.#manager(request, 'unknown'), dryRun.value);
    return updated.ok ? json(200, updated.value) : failure(updated.error);
  }

  #afterWrite(def: ResourceDef, _before: JsonObject | undefined, after: JsonObject): void {
    if (def.kind === 'CustomResourceDefinition') this.registry.setCrd(String(metadataOf(after).name), after);
  }

  /** Garbage collection of dependents (ownerReferences), and CRDs taking their objects with them. */
  #afterDelete(def: ResourceDef, deleted: JsonObject, orphan = false): void {
    if (def.kind === 'CustomResourceDefinition') {
      const name = String(metadataOf(deleted).name);
      for (const served of this.registry.all().filter((r) => `${r.plural}.${r.group}` === name)) {
        for (const item of this.#deps.store.list({ group: served.group, resource: served.plural }).items) {
          this.#deps.store.delete(storageKey(served, metadataOf(item).namespace, String(metadataOf(item).name)), undefined);
        }
      }
      this.registry.setCrd(name, undefined);
    }
    if (orphan) return;
    const uid = metadataOf(deleted).uid;
    const namespace = metadataOf(deleted).namespace;
    for (const dependentDef of this.registry.all()) {
      if (def.namespaced && !dependentDef.namespaced) continue;
      const scope = { group: dependentDef.group, resource: dependentDef.plural, ...(dependentDef.namespaced && namespace !== undefined ? { namespace } : {}) };
      for (const item of this.#deps.store.list(scope).items) {
        const owners = (metadataOf(item).ownerReferences ?? []) as Any[];
        if (owners.some((o) => o.uid === uid)) this.#delete(dependentDef, metadataOf(item).namespace, String(metadataOf(item).name), { preconditions: {}, gracePeriodSeconds: undefined, propagation: 'Background', dryRun: false });
      }
    }
  }
}

/**
 * A new namespace always carries the `kubernetes` finalizer, whatever spec.finalizers it was sent
 * with (upstream's PrepareForCreate): its deletion then waits for the namespace controller to empty
 * it, and no content outlives it.
 */
function withKubernetesFinalizer(namespace: JsonObject): JsonObject {
  const spec = ((namespace as Any).spec ?? {}) as Any;
  const finalizers: string[] = Array.isArray(spec.finalizers) ? spec.finalizers : [];
  if (finalizers.includes('kubernetes')) return namespace;
  return { ...namespace, spec: { ...spec, finalizers: [...finalizers, 'kubernetes'] } };
}

/** A CRD is established at once: names accepted, conditions as upstream writes them. */
function withCrdStatus(crd: JsonObject): JsonObject {
  const spec = (crd as Any).spec ?? {};
  const now = (crd as Any).metadata?.creationTimestamp ?? null;
  return {
    ...crd,
    status: {
      acceptedNames: spec.names ?? {},
      storedVersions: ((spec.versions ?? []) as Any[]).filter((v) => v.storage).map((v) => v.name),
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
    },
  };
}

function encodeContinue(token: { rv: number; namespace: string; name: string }): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: `${token.namespace}/${token.name}` })).toString('base64url');
}

function decodeContinue(text: string): { rv: number; namespace: string; name: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
    if (typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') return undefined;
    const slash = parsed.start.indexOf('/');
    return { rv: parsed.rv, namespace: parsed.start.slice(0, slash), name: parsed.start.slice(slash + 1) };
  } catch {
    return undefined;
  }
}
