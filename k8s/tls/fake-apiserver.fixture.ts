// A tiny HTTPS stand-in for the Kubernetes API server, for the TLS specs: it serves /version and the
// namespace list with a given certificate and checks the bearer token, as the real server's
// authentication layer does, so real clients (kubectl, client-node) can be pointed at it.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const FAKE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.4' } as const;

/** One request as the fake server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

export interface FakeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly requests: readonly SeenRequest[];
  close(): Promise<void>;
}

const namespaceList = {
  kind: 'NamespaceList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '1' },
  items: [
    {
      metadata: {
        name: 'default',
        uid: '5c8f7d2e-0000-4000-8000-000000000001',
        resourceVersion: '1',
        creationTimestamp: '2025-01-01T00:00:00Z',
        labels: { 'kubernetes.io/metadata.name': 'default' },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    },
  ],
};

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendJson(response: ServerResponse, code: number, body: object): void {
  response.writeHead(code, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

function answer(request: IncomingMessage, response: ServerResponse, token: string): void {
  // Every request authenticates first, as in kube-apiserver: a missing or wrong token is a 401.
  if (request.headers.authorization !== `Bearer ${token}`) {
    sendJson(response, 401, status(401, 'Unauthorized', 'Unauthorized'));
    return;
  }
  const path = new URL(request.url ?? '/', 'https://fake').pathname;
  if (request.method === 'GET' && path === '/version') {
    sendJson(response, 200, { ...FAKE_VERSION, platform: 'linux/amd64' });
  } else if (request.method === 'GET' && path === '/api/v1/namespaces') {
    sendJson(response, 200, namespaceList);
  } else {
    sendJson(response, 404, status(404, 'NotFound', `the server could not find the requested resource ${path}`));
  }
}

/** Starts the fake on a free port of 127.0.0.1, serving `certPem`/`keyPem`. */
export async function startFakeApiServer(options: {
  readonly certPem: string;
  readonly keyPem: string;
  readonly token: string;
}): Promise<FakeApiServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer({ cert: options.certPem, key: options.keyPem }, (request, response) => {
    const path = new URL(request.url ?? '/', 'https://fake').pathname;
    requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization });
    answer(request, response, options.token);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
