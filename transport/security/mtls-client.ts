// The edge's stream connection: a `ws` client that presents the node certificate and trusts only the
// pinned cluster CA (not the system's roots), with the URL and headers KubeEdge's EdgeHub sends.
import { WebSocket } from 'ws';
import { type Result, err, ok } from '../../kernel/index.js';
import { DEFAULT_PROJECT_ID, FRAME_BYTES_MAX_DEFAULT, STREAM_HANDSHAKE_TIMEOUT_MS } from './mtls-server.js';

/** Why no stream was opened. A refusal after the upgrade arrives later, as a close (4403, 1013). */
export type StreamConnectError =
  | { readonly kind: 'CloudUrlInvalid'; readonly message: string }
  /** TCP or TLS failed: unreachable, a server certificate not from the pinned CA, or our certificate refused. */
  | { readonly kind: 'ConnectFailed'; readonly message: string }
  /** The server answered the upgrade with an HTTP status instead of switching protocols. */
  | { readonly kind: 'UpgradeRefused'; readonly message: string; readonly status: number };

export interface MtlsStreamClientOptions {
  /** The cloud's stream base, `wss://<host>:<port>`. */
  readonly cloudUrl: string;
  readonly projectId?: string;
  /** The node's credentials, as `loadNodeCredentials` returns them. */
  readonly credentials: { readonly nodeName: string; readonly caPem: string; readonly certPem: string; readonly keyPem: string };
  readonly frameBytesMax?: number;
  /** `str` opens a byte stream (kubectl logs/exec) for the session the cloud named; `msg` by default. */
  readonly byteStreamSession?: string;
}

/** `wss://<cloud>/<projectID>/<nodeName>/events`, KubeEdge's stream URL (kubeedge-reference §2.1). */
export function streamUrl(cloudUrl: string, projectId: string, nodeName: string): string {
  return `${cloudUrl.replace(/\/+$/, '')}/${encodeURIComponent(projectId)}/${encodeURIComponent(nodeName)}/events`;
}

/**
 * Opens the stream and resolves once the upgrade succeeded. The server may still close right away
 * (4403 if the certificate, path and headers disagree; 1013 when it is full), so the caller treats
 * the socket's 'close' as the answer until the `hello` exchange completes.
 * @example
 * const creds = await loadNodeCredentials(dataDir);
 * const socket = await connectMtlsStream({ cloudUrl: 'wss://10.0.0.1:10000', credentials: creds.value });
 */
export function connectMtlsStream(options: MtlsStreamClientOptions): Promise<Result<WebSocket, StreamConnectError>> {
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  let url: URL;
  try {
    url = new URL(streamUrl(options.cloudUrl, projectId, options.credentials.nodeName));
  } catch {
    return Promise.resolve(err({ kind: 'CloudUrlInvalid', message: `"${options.cloudUrl}" is not a URL; expected wss://<host>:<port>` }));
  }
  if (url.protocol !== 'wss:') {
    return Promise.resolve(err({ kind: 'CloudUrlInvalid', message: `the stream URL must be wss://, got ${url.protocol}//` }));
  }
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      ca: options.credentials.caPem,
      cert: options.credentials.certPem,
      key: options.credentials.keyPem,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      headers: {
        node_id: options.credentials.nodeName,
        project_id: projectId,
        ...(options.byteStreamSession === undefined ? { ConnectionUse: 'msg' } : { ConnectionUse: 'str', stream_session: options.byteStreamSession }),
      },
      maxPayload: options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT,
      handshakeTimeout: STREAM_HANDSHAKE_TIMEOUT_MS,
    });
    const failBeforeOpen = (error: Error): void => resolve(err({ kind: 'ConnectFailed', message: `${url.origin}: ${error.message}${hintFor(error)}` }));
    // 'error' before 'open' is the only signal for TLS failures; from 'open' on, the caller owns errors.
    socket.on('error', failBeforeOpen);
    socket.once('open', () => {
      socket.off('error', failBeforeOpen);
      resolve(ok(socket));
    });
    socket.once('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      socket.terminate();
      resolve(err({ kind: 'UpgradeRefused', status, message: `the cloud answered the upgrade with HTTP ${status}` }));
    });
  });
}

/**
 * With TLS 1.3 the server checks the client certificate after the client considers the handshake
 * done, so a refused certificate reaches the edge as a bare hang-up or reset; say what it likely means.
 */
function hintFor(error: Error): string {
  if (!/socket hang up|ECONNRESET|alert/i.test(error.message)) return '';
  return ' (the cloud ended the TLS session: it likely does not accept this node certificate — signed by another CA, or expired; join again with a token)';
}
