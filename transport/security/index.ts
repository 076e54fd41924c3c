// The security corner of the transport room: join tokens, node bootstrap and rotation, the mTLS
// stream listener and client, and the per-frame node authorizer. transport/index.ts re-exports
// what other rooms need (cmd/ wires `token create`, `cloud` and `edge` from these).
export {
  type JoinTokenAuthority,
  type JoinTokenAuthorityOptions,
  type JoinTokenStore,
  type JoinTokenRecord,
  type JoinTokenError,
  type JoinTokenCreateError,
  type JoinTokenStoreError,
  type CreatedJoinToken,
  type VerifiedJoinToken,
  type ParsedJoinToken,
  JOIN_TOKEN_PATTERN,
  JOIN_TOKEN_TTL_MS_DEFAULT,
  JOIN_TOKEN_TTL_MS_MIN,
  JOIN_TOKEN_TTL_MS_MAX,
  JOIN_TOKENS_MAX,
  joinTokenAuthority,
  parseJoinToken,
  caCertificateSha256,
  inMemoryJoinTokenStore,
} from './join-token.js';
export { JOIN_TOKENS_FILE_NAME, fileJoinTokenStore, joinTokensPath } from './join-token-store.fs.js';
export { type DataDirTokenError, CLOUD_PKI_DIR_NAME, createJoinTokenInDataDir } from './join-token.data-dir.js';
export {
  type CsrRefusal,
  type CheckedNodeCsr,
  type SignedNodeCertificate,
  type NodeCertificateSigner,
  type SignerLoadError,
  NODE_CERT_VALIDITY_DAYS,
  NODE_ORGANIZATION,
  loadNodeCertificateSigner,
  checkNodeCsr,
  nodeCommonName,
  isNodeName,
  rotationWindow,
  nextRotationAtMs,
} from './node-certificate.signer.js';
export {
  type NodeCertificateResponse,
  type BootstrapRefusal,
  type BootstrapAuditEntry,
  type NodeBootstrapOptions,
  type BootstrapHandler,
  type BootstrapServerOptions,
  type BootstrapServer,
  BOOTSTRAP_PATHS,
  BOOTSTRAP_REQUEST_BYTES_MAX,
  createNodeBootstrapHandler,
  startNodeBootstrapServer,
} from './node-bootstrap.js';
export {
  type JoinError,
  type JoinedNode,
  type JoinClusterOptions,
  type RenewNodeCertificateOptions,
  joinCluster,
  renewNodeCertificate,
  createNodeCsr,
  generateNodeKeys,
} from './node-bootstrap.edge.js';
export {
  type NodeCredentials,
  type NodeCredentialPaths,
  type CredentialsError,
  EDGE_PKI_DIR_NAME,
  nodeCredentialPaths,
  loadNodeCredentials,
  storeNodeCredentials,
} from './node-credentials.fs.js';
export { type NodeIdentity, type IdentityRefusal, nodeIdentityOf } from './node-identity.js';
export { type ListenError } from './https-listener.js';
export {
  type MtlsStreamServer,
  type MtlsStreamServerOptions,
  type StreamConnectionInfo,
  type StreamRefusal,
  DEFAULT_PROJECT_ID,
  CONNECTIONS_MAX_DEFAULT,
  FRAME_BYTES_MAX_DEFAULT,
  CLOSE_TRY_AGAIN_LATER,
  startMtlsStreamServer,
} from './mtls-server.js';
export { type MtlsStreamClientOptions, type StreamConnectError, connectMtlsStream, streamUrl } from './mtls-client.js';
export {
  type NodeAuthorizationView,
  type AuthorizationGrant,
  type AuthorizationRefusal,
  type ViolationLimits,
  type ViolationWindow,
  type ViolationVerdict,
  NODE_LEASE_NAMESPACE,
  VIOLATION_LIMITS_DEFAULT,
  authorizeEdgeFrame,
  emptyViolationWindow,
  recordViolation,
} from './node-authorizer.js';
