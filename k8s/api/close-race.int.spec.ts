// Shutting down while a client is mid-handshake. Method: given a TCP connection accepted before
// close(), when that client then opens a watch, then close() still finishes (every socket is ended).
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, caPemOf, waitFor } from './api-server.testing.js';

const fixture = new ApiServerFixture();
afterEach(() => fixture.teardown());

describe('given a client whose TCP connection was accepted before close()', () => {
  it('close() finishes even though that client then sends a watch request', async () => {
    const server = await fixture.start();
    const tcp = tcpConnect({ host: '127.0.0.1', port: server.port });
    await new Promise<void>((resolve, reject) => tcp.once('connect', resolve).once('error', reject));
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    const tls = tlsConnect({ socket: tcp, ca: caPemOf(server), servername: 'localhost' });
    tls.on('error', () => undefined);
    tls.on('data', () => undefined);
    // A server that drops the half-open connection on close is fine too: then there is nothing to send.
    const handshaken = await new Promise<boolean>((resolve) => {
      tls.once('secureConnect', () => resolve(true));
      tls.once('close', () => resolve(false));
    });
    if (handshaken) tls.write(`GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${server.token}\r\n\r\n`);
    try {
      await waitFor('close() to finish', () => (closed ? true : undefined), 5_000);
      expect(closed).toBe(true);
    } finally {
      tls.destroy();
      await closing;
    }
  });
});
