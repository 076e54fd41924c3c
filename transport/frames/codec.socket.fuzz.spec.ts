// The decoder behind a real websocket. Method: a tiny `ws` server on 127.0.0.1 (random port) decodes
// every message with `decodeFrame`, echoes valid frames re-encoded and closes with the error's code
// and reason at the first bad one. fast-check opens one connection per run and sends it a burst of
// frames (arbitrary bytes, arbitrary text, valid frames, valid frames with bytes overwritten), while
// another connection keeps exchanging valid frames throughout. Each bad connection must see the
// echoes of the valid frames before its first bad one, then exactly the close code and reason the
// decoder gives for that frame; the good connection must never be disturbed; nothing may error.
// Arbitrary bytes go as binary messages: a text message with invalid UTF-8 would be refused by `ws`
// itself before the decoder sees it.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { decodeFrame, encodeFrame } from './codec.js';
import { frameArbitrary } from './frame.arbitraries.testing.js';

const limits = { frameBytesMax: 2048 };
const errors: unknown[] = [];
let server: WebSocketServer;
let url = '';

const bytesOf = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
  server.on('error', (e) => errors.push(e));
  server.on('wsClientError', (e) => errors.push(e));
  server.on('connection', (socket) => {
    socket.on('error', (e) => errors.push(e));
    socket.on('message', (data) => {
      // Messages already in flight when the close was sent are not answered.
      if (socket.readyState !== WebSocket.OPEN) return;
      const decoded = decodeFrame(bytesOf(data), limits);
      if (decoded.ok) socket.send(encodeFrame(decoded.value));
      else socket.close(decoded.error.closeCode, decoded.error.reason);
    });
  });
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
});

async function connect(): Promise<WebSocket> {
  const socket = new WebSocket(url);
  socket.on('error', (e) => errors.push(e));
  await once(socket, 'open');
  return socket;
}

/** The next message on a socket as text; rejects if the socket closes first. */
const nextMessage = (socket: WebSocket): Promise<string> =>
  new Promise((resolve, reject) => {
    const onClose = (code: number) => reject(new Error(`good connection closed with ${code}`));
    socket.once('close', onClose);
    socket.once('message', (data) => {
      socket.off('close', onClose);
      resolve(bytesOf(data).toString('utf8'));
    });
  });

type Payload = { readonly data: Buffer | string; readonly binary: boolean };
/** What the server receives for a payload: text goes out as UTF-8, lone surrogates replaced. */
const received = (p: Payload): Buffer => (typeof p.data === 'string' ? Buffer.from(p.data, 'utf8') : p.data);

const payloadArbitrary: fc.Arbitrary<Payload> = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((b) => ({ data: Buffer.from(b), binary: true })),
  fc.string({ unit: 'binary', maxLength: 1200 }).map((s) => ({ data: s, binary: false })),
  frameArbitrary.map((f) => ({ data: encodeFrame(f), binary: false })),
  fc.tuple(frameArbitrary, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, value]) => {
    const bytes = Buffer.from(encodeFrame(f), 'utf8');
    bytes[at % bytes.length] = value;
    return { data: bytes, binary: true };
  }),
);

type Outcome = { readonly messages: readonly string[]; readonly code: number; readonly reason: string };

/** Sends a burst and collects echoes until the server closes, or until every echo is in and the client closes. */
async function sendBurst(payloads: readonly Payload[], echoesIfAllValid: number | undefined): Promise<Outcome> {
  const socket = await connect();
  try {
    const outcome = new Promise<Outcome>((resolve) => {
      const messages: string[] = [];
      socket.on('message', (data) => {
        messages.push(bytesOf(data).toString('utf8'));
        if (messages.length === echoesIfAllValid) socket.close(1000, 'done');
      });
      socket.on('close', (code, reason) => resolve({ messages, code, reason: reason.toString('utf8') }));
    });
    if (echoesIfAllValid === 0) socket.close(1000, 'done');
    for (const p of payloads) socket.send(p.data, { binary: p.binary });
    return await outcome;
  } finally {
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  }
}

describe('the decoder behind a websocket', () => {
  it('closes a connection at its first bad frame with that frame\'s code and reason, and leaves the others alone', async () => {
    const good = await connect();
    const goodFrames = fc.sample(frameArbitrary, { numRuns: 50, seed: 7 }).map(encodeFrame).filter((t) => Buffer.byteLength(t) <= limits.frameBytesMax);
    let exchanged = 0;
    let exchangedAtFirstClose: number | undefined;
    let stop = false;
    let goodError: unknown;
    const waiters: (() => void)[] = [];
    // Resolves after the good connection's next completed exchange.
    const anotherExchange = () => new Promise<void>((resolve) => waiters.push(resolve));
    const goodLoop = (async () => {
      while (!stop) {
        const text = goodFrames[exchanged % goodFrames.length] ?? '';
        const reply = nextMessage(good);
        good.send(text);
        expect(await reply).toBe(text);
        exchanged += 1;
        for (const wake of waiters.splice(0)) wake();
      }
    })().catch((e: unknown) => {
      goodError = e;
    });

    try {
      await fc.assert(
        fc.asyncProperty(fc.array(payloadArbitrary, { minLength: 1, maxLength: 5 }), async (payloads) => {
          const results = payloads.map((p) => decodeFrame(received(p), limits));
          const firstBad = results.findIndex((r) => !r.ok);
          const valid = results.slice(0, firstBad < 0 ? results.length : firstBad).map((r) => (r.ok ? encodeFrame(r.value) : ''));
          const outcome = await sendBurst(payloads, firstBad < 0 ? valid.length : undefined);
          expect(outcome.messages).toEqual(valid);
          const bad = results[firstBad];
          if (bad === undefined || bad.ok) {
            expect(outcome.code).toBe(1000);
            return;
          }
          expect([1007, 1009]).toContain(outcome.code);
          expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code: bad.error.closeCode, reason: bad.error.reason });
          exchangedAtFirstClose ??= exchanged;
        }),
        { numRuns: 120 },
      );
      // The good connection completes another exchange after the last bad close (or its loop failed).
      await Promise.race([anotherExchange(), goodLoop]);
    } finally {
      stop = true;
      await goodLoop;
    }

    expect(goodError).toBeUndefined();
    expect(exchangedAtFirstClose).toBeDefined();
    expect(exchanged).toBeGreaterThan(exchangedAtFirstClose ?? Infinity);
    expect(good.readyState).toBe(WebSocket.OPEN);
    good.close(1000, 'done');
    await once(good, 'close');
    expect(errors).toEqual([]);
  });
});
