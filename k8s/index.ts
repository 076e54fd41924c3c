// The k8s door: Kubernetes access. For now the embedded Kubernetes-API-compatible server.
export { startEmbeddedApiServer, bodyBytesMaxDefault, type EmbeddedApiServer, type EmbeddedApiServerOptions } from './embedded-api-server.js';
