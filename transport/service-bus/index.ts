// The service bus (KubeEdge's ServiceBus): the cloud calls an HTTP app on an edge's 127.0.0.1
// through the node's stream. These are the names transport/index.ts passes on.
export { serviceBusResponder, type ServiceBusResponderOptions } from './service-bus.edge.js';
export { nodeProxyHandler, type NodeProxyHandler, type NodeProxyOptions, type NodeProxyTarget, type ServiceBusHub } from './service-bus.cloud.js';
export {
  EDGE_APP_TIMEOUT_MS_DEFAULT,
  SERVICE_BUS_BODY_BYTES_MAX_DEFAULT,
  SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT,
} from './service-bus.protocol.js';
