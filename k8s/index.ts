// The k8s door: Kubernetes access. For now the embedded Kubernetes-API-compatible server.
export { startEmbeddedApiServer, bodyBytesMaxDefault, type EmbeddedApiServer, type EmbeddedApiServerOptions } from './embedded-api-server.js';
// The cluster PKI and its file helpers are shared with transport/security, which issues node
// certificates under the same CA the API server's kubeconfig pins.
export { PKI_FILE_NAMES, ensureClusterPki, type ClusterPki } from './tls/cluster-pki.js';
export { NOT_BEFORE_BACKDATE_MS, importSigningKey } from './tls/certificate.issue.js';
export { x509 } from './tls/x509.setup.js';
export { PUBLIC_FILE_MODE, SECRET_FILE_MODE, writeFileAtomic } from './tls/atomic-file.fs.js';
// The edge's read-only local API (KubeEdge's MetaServer), fed by the edge agent from its journal.
export { startMetaServer, describeMetaServerStartError, metaServerPortDefault, metaServerLimitsDefault, metaServerReadOnlyWhy, type MetaServer, type MetaServerOptions, type MetaServerStartError } from './meta-server/meta-server.js';
export { type MetaView, type PutOutcome, type RemoveOutcome, type ReplaceSummary } from './meta-server/meta-view.store.js';
export { describeMetaViewError, type MetaObjectRef, type MetaViewError } from './meta-server/meta-object.parse.js';
export { loadBundledCrds } from './crds/crd-schema.js';
