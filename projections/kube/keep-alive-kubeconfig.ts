// A KubeConfig whose API calls share one keep-alive HTTPS agent. client-node 1.4 builds a new agent
// for every call (applySecurityAuthentication → createAgent; kubernetes-client/javascript#2893), so
// each call opens and handshakes a new TLS connection; at a thousand edges that alone saturated the
// cloud (bench/cloud-scale.bench.ts). Watches take another path (applyToFetchOptions) and keep
// their own connections, so a long watch never holds one of these sockets.
import { Agent as HttpsAgent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** Connections the shared agent opens to the API at most; further calls queue for one. */
export const API_SOCKETS_MAX = 64;
/**
 * An idle kept-alive connection is closed after this, before a server closes it (kube-apiserver's
 * clients idle out at 90 s, the embedded server after 90 s): a request never races a server's close.
 */
const IDLE_SOCKET_MS = 30_000;

/**
 * ```ts
 * const kc = new KeepAliveKubeConfig();
 * kc.loadFromFile(path);
 * const core = kc.makeApiClient(CoreV1Api); // every call on one pool of kept-alive TLS connections
 * ```
 */
export class KeepAliveKubeConfig extends KubeConfig {
  #agent: HttpsAgent | undefined;

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    // Plain HTTP (an --insecure API server) has no TLS to keep; client-node's own agent serves it.
    if (!(fresh instanceof HttpsAgent)) return;
    this.#agent ??= new HttpsAgent({ ...fresh.options, keepAlive: true, maxSockets: API_SOCKETS_MAX, timeout: IDLE_SOCKET_MS });
    context.setAgent(this.#agent);
  }
}
