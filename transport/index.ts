// The transport room's door: the reliable cloud–edge stream (CloudHub, EdgeHub, their SQLite
// adapters), its security (join tokens, node bootstrap, mTLS) and its wire format. The MQTT bridge,
// the service bus and the stream tunnel join later.
export {
  CloudHub,
  type CloudHubOptions,
  type DesiredSetSource,
  type NodeOwnership,
  type NodeStreamStatus,
} from './stream/cloud-hub.js';
export { EdgeHub, type EdgeHubOptions, type EdgeHubStatus, type Backoff, type HubLog, type ReportError, defaultBackoff } from './stream/edge-hub.js';
export { type Liveness, type SessionEnd, defaultLiveness } from './stream/session.js';
export { type QueryError, type QueryRequest, type QueryResponder, QUERY_RATE_DEFAULT, QUERY_TIMEOUT_MS_DEFAULT } from './stream/requests.js';
export { type UpRoute, defaultUpRoute, objectKeyOf, resourceOfKey } from './stream/wire.js';
export {
  type EdgeSyncJournalOpenError,
  type StoredDesiredObject,
  SqliteEdgeSyncJournal,
  openEdgeSyncJournal,
  describeEdgeSyncJournalOpenError,
} from './stream/edge-sync-journal.sqlite.js';
export { KubeNodeSyncStore, type KubeNodeSyncStoreOptions } from './stream/node-sync-store.kube.js';
export { type NodeSyncStoreOpenError, SqliteNodeSyncStore, openNodeSyncStore, describeNodeSyncStoreOpenError } from './stream/node-sync-store.sqlite.js';
export {
  type NodeAuthorizationView,
  type NodeCredentials,
  type MtlsStreamServer,
  type BootstrapServer,
  CLOUD_PKI_DIR_NAME,
  createJoinTokenInDataDir,
  createNodeBootstrapHandler,
  fileJoinTokenStore,
  joinCluster,
  joinTokenAuthority,
  joinTokensPath,
  loadNodeCertificateSigner,
  checkNodeCsr,
  createNodeCsr,
  generateNodeKeys,
  loadNodeCredentials,
  renewNodeCertificate,
  connectMtlsStream,
  startMtlsStreamServer,
  startNodeBootstrapServer,
  nextRotationAtMs,
} from './security/index.js';
export {
  type DesiredChange,
  type DesiredObject,
  type DesiredSet,
  type UpEffects,
  type UpEvent,
  type NodeSyncStore,
  type EdgeSyncJournal,
  type FlowLimits,
  type AckPolicy,
  defaultFlowLimits,
  defaultAckPolicy,
} from './sync/index.js';
export { contentHash, desiredContentOf } from './frames/codec.js';
export { servePodStreams, type EdgePods } from './tunnel/pod-stream.edge.js';
export { podLogHandler, podUpgradeHandler, type CloudPodStreamDeps } from './tunnel/pod-stream.cloud.js';
export {
  type DeviceId,
  type DeviceTopic,
  type InboundDeviceMessage,
  type PayloadProblem,
  MQTT_PAYLOAD_BYTES_MAX_DEFAULT,
  deviceTopics,
  inboundFilters,
  parseDeviceTopic,
} from './mqtt/device-topics.js';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions, type BrokerStartError } from './mqtt/embedded-broker.js';
export { EventBus, parseBrokerUrl, type EventBusOptions } from './mqtt/event-bus.js';
export {
  EVENT_BUS_UPLOADED,
  ROUTER_PAYLOAD_BYTES_MAX,
  decodePayload,
  encodePayload,
  eventBusPublishRequest,
  eventBusResponder,
  readUpload,
  uploadEventOf,
  type EncodedPayload,
  type EventBusPublish,
  type Upload,
} from './mqtt/event-bus.router.js';
export { serviceBusResponder, nodeProxyHandler, type NodeProxyHandler, type ServiceBusResponderOptions } from './service-bus/index.js';
