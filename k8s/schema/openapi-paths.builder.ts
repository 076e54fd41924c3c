// Builds the `paths` of an OpenAPI document for served resources, shaped as kube-apiserver publishes
// them: per-resource get/list/create/update/patch/delete operations (and the status subresource), each
// with `x-kubernetes-action` and `x-kubernetes-group-version-kind`. kubectl reads the PATCH operation's
// query parameters to learn that the server supports `fieldValidation` (and so sends `Strict`), and
// its request body content types to decide whether to compute strategic merge patches from the schema.
import { type GroupVersion, type JsonBuilder, type JsonObject, type OpenApiDialect, type ResourceInfo, refTo } from './openapi.types.js';

const DRY_RUN = 'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed';
const FIELD_MANAGER =
  'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.';
const FIELD_MANAGER_PATCH = `${FIELD_MANAGER} This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).`;
const FIELD_VALIDATION =
  'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.';
const FORCE = 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.';
const PRETTY = "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).";

const LIST_PARAMETERS: readonly (readonly [string, string, string])[] = [
  ['allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion.'],
  ['continue', 'string', 'The continue option should be set when retrieving more results from the server.'],
  ['fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'],
  ['labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'],
  ['limit', 'integer', 'limit is a maximum number of responses to return for a list call.'],
  ['resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'],
  ['resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'],
  ['timeoutSeconds', 'integer', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.'],
  ['watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'],
];
const DELETE_PARAMETERS: readonly (readonly [string, string, string])[] = [
  ['dryRun', 'string', DRY_RUN],
  ['gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.'],
  ['propagationPolicy', 'string', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background' and 'Foreground'."],
];
const WRITE_PARAMETERS: readonly (readonly [string, string, string])[] = [
  ['dryRun', 'string', DRY_RUN],
  ['fieldManager', 'string', FIELD_MANAGER],
  ['fieldValidation', 'string', FIELD_VALIDATION],
];
const PATCH_PARAMETERS: readonly (readonly [string, string, string])[] = [
  ['dryRun', 'string', DRY_RUN],
  ['fieldManager', 'string', FIELD_MANAGER_PATCH],
  ['fieldValidation', 'string', FIELD_VALIDATION],
  ['force', 'boolean', FORCE],
];

/** The patch types a resource accepts; strategic merge exists only for built-in types. */
const patchContentTypes = (builtin: boolean): readonly string[] => [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  ...(builtin ? ['application/strategic-merge-patch+json'] : []),
];

/** How a kind appears in paths: its definition and list definition names, and whether it is built in. */
export interface ResourceDefinitions {
  readonly resource: ResourceInfo;
  readonly definition: string;
  readonly listDefinition: string;
  readonly builtin: boolean;
}

type Verb = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete';

interface OperationSpec {
  readonly verb: Verb;
  readonly operationId: string;
  readonly description: string;
  readonly query: readonly (readonly [string, string, string])[];
  readonly requestTypes?: readonly string[];
  readonly requestDefinition?: string;
  readonly responseDefinition: string;
  readonly responseCodes: readonly string[];
}

const queryParameter = (dialect: OpenApiDialect, [name, type, description]: readonly [string, string, string]): JsonObject =>
  dialect === 'v3' ? { name, in: 'query', description, schema: { type, uniqueItems: true } } : { name, in: 'query', description, type, uniqueItems: true };

const pathParameter = (dialect: OpenApiDialect, name: string, description: string): JsonObject =>
  dialect === 'v3' ? { name, in: 'path', required: true, description, schema: { type: 'string', uniqueItems: true } } : { name, in: 'path', required: true, description, type: 'string', uniqueItems: true };

/** `core` → `Core`, `coordination.k8s.io` → `Coordination`, `devices.kubeedge.io` → `DevicesKubeedgeIo`. */
export function groupToken(group: string): string {
  const words = group === '' ? ['core'] : group.replace(/\.k8s\.io$/, '').split('.');
  return words.map((w) => `${w.charAt(0).toUpperCase()}${w.slice(1)}`).join('');
}

function operation(spec: OperationSpec, gv: GroupVersion, kind: string, dialect: OpenApiDialect): JsonObject {
  const token = groupToken(gv.group);
  const responseSchema = { $ref: refTo(dialect, spec.responseDefinition) };
  const responses: JsonBuilder = {};
  for (const code of spec.responseCodes) {
    responses[code] = dialect === 'v3' ? { description: code === '201' ? 'Created' : 'OK', content: { 'application/json': { schema: responseSchema }, 'application/yaml': { schema: responseSchema } } } : { description: code === '201' ? 'Created' : 'OK', schema: responseSchema };
  }
  responses['401'] = { description: 'Unauthorized' };
  const parameters = spec.query.map((q) => queryParameter(dialect, q));
  const op: JsonBuilder = {
    tags: [`${token.charAt(0).toLowerCase()}${token.slice(1)}_${gv.version}`],
    description: spec.description,
    operationId: `${spec.operationId}`,
    responses,
    'x-kubernetes-action': spec.verb,
    'x-kubernetes-group-version-kind': { group: gv.group, version: gv.version, kind },
  };
  const requestSchema = { $ref: refTo(dialect, spec.requestDefinition ?? spec.responseDefinition) };
  if (dialect === 'v3') {
    if (spec.requestTypes !== undefined) op['requestBody'] = { content: Object.fromEntries(spec.requestTypes.map((t) => [t, { schema: requestSchema }])), required: true };
    op['parameters'] = parameters;
  } else {
    if (spec.requestTypes !== undefined) op['consumes'] = [...spec.requestTypes];
    op['produces'] = ['application/json', 'application/yaml'];
    op['parameters'] = spec.requestTypes === undefined ? parameters : [{ name: 'body', in: 'body', required: true, schema: requestSchema }, ...parameters];
  }
  return op;
}

const withPathParameters = (operations: JsonBuilder, parameters: readonly JsonObject[]): JsonObject => ({ ...operations, parameters: [...parameters] });

/** The operations of one resource (`/api/v1/namespaces/{namespace}/pods[/{name}[/status]]`, `/api/v1/pods`). */
export function resourcePaths(gv: GroupVersion, defs: ResourceDefinitions, dialect: OpenApiDialect): JsonBuilder {
  const { resource, definition, listDefinition, builtin } = defs;
  const kind = resource.kind;
  const token = `${groupToken(gv.group)}${gv.version.charAt(0).toUpperCase()}${gv.version.slice(1)}`;
  const scope = resource.namespaced ? 'Namespaced' : '';
  const base = `${gv.group === '' ? '/api' : `/apis/${gv.group}`}/${gv.version}`;
  const collection = `${base}${resource.namespaced ? '/namespaces/{namespace}' : ''}/${resource.plural}`;
  const nsParam = resource.namespaced ? [pathParameter(dialect, 'namespace', 'object name and auth scope, such as for teams and projects')] : [];
  const nameParam = pathParameter(dialect, 'name', `name of the ${kind}`);
  const pretty = queryParameter(dialect, ['pretty', 'string', PRETTY]);
  const op = (spec: OperationSpec): JsonObject => operation(spec, gv, kind, dialect);
  const paths: JsonBuilder = {};
  paths[collection] = withPathParameters(
    {
      get: op({ verb: 'list', operationId: `list${token}${scope}${kind}`, description: `list or watch objects of kind ${kind}`, query: LIST_PARAMETERS, responseDefinition: listDefinition, responseCodes: ['200'] }),
      post: op({ verb: 'post', operationId: `create${token}${scope}${kind}`, description: `create a ${kind}`, query: WRITE_PARAMETERS, requestTypes: ['*/*'], responseDefinition: definition, responseCodes: ['200', '201'] }),
    },
    [...nsParam, pretty],
  );
  paths[`${collection}/{name}`] = withPathParameters(objectOperations(op, token, scope, kind, definition, builtin, ''), [nameParam, ...nsParam, pretty]);
  if (resource.subresources.includes('status')) {
    paths[`${collection}/{name}/status`] = withPathParameters(objectOperations(op, token, scope, kind, definition, builtin, 'Status'), [nameParam, ...nsParam, pretty]);
  }
  if (resource.namespaced) {
    paths[`${base}/${resource.plural}`] = withPathParameters(
      { get: op({ verb: 'list', operationId: `list${token}${kind}ForAllNamespaces`, description: `list or watch objects of kind ${kind}`, query: LIST_PARAMETERS, responseDefinition: listDefinition, responseCodes: ['200'] }) },
      [pretty],
    );
  }
  return paths;
}

function objectOperations(op: (spec: OperationSpec) => JsonObject, token: string, scope: string, kind: string, definition: string, builtin: boolean, suffix: '' | 'Status'): JsonBuilder {
  const what = suffix === '' ? `the specified ${kind}` : `status of the specified ${kind}`;
  const operations: JsonBuilder = {
    get: op({ verb: 'get', operationId: `read${token}${scope}${kind}${suffix}`, description: `read ${what}`, query: [], responseDefinition: definition, responseCodes: ['200'] }),
    put: op({ verb: 'put', operationId: `replace${token}${scope}${kind}${suffix}`, description: `replace ${what}`, query: WRITE_PARAMETERS, requestTypes: ['*/*'], responseDefinition: definition, responseCodes: ['200', '201'] }),
    patch: op({
      verb: 'patch',
      operationId: `patch${token}${scope}${kind}${suffix}`,
      description: `partially update ${what}`,
      query: PATCH_PARAMETERS,
      requestTypes: patchContentTypes(builtin),
      requestDefinition: 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
      responseDefinition: definition,
      responseCodes: ['200', '201'],
    }),
  };
  if (suffix === '') {
    operations['delete'] = op({
      verb: 'delete',
      operationId: `delete${token}${scope}${kind}`,
      description: `delete a ${kind}`,
      query: DELETE_PARAMETERS,
      requestTypes: ['*/*'],
      requestDefinition: 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
      responseDefinition: 'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
      responseCodes: ['200'],
    });
  }
  return operations;
}
