// Listening and closing for the two HTTPS servers of this folder (bootstrap and stream), so a port
// in use is a value the caller reports, and closing never waits on a client that keeps a socket open.
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Result, err, ok } from '../../kernel/index.js';

export type ListenError = { readonly kind: 'ListenFailed'; readonly message: string };

/** Listens on `host:port` (0 picks a free port) and resolves with the port actually bound. */
export function listenHttps(server: Server, host: string, port: number): Promise<Result<number, ListenError>> {
  return new Promise((resolve) => {
    const onError = (error: Error): void => resolve(err({ kind: 'ListenFailed', message: `cannot listen on ${host}:${port}: ${error.message}` }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(ok((server.address() as AddressInfo).port));
    });
  });
}

/** Stops accepting and drops every open connection, idle or not. */
export function closeHttps(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The host as it goes into a URL: IPv6 literals in brackets. */
export const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);
