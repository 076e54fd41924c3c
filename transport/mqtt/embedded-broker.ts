// The edge's embedded MQTT broker (KubeEdge's internal mode): aedes on 127.0.0.1 only, with an
// optional username/password and a payload limit, so `edgehive edge` serves devices without an
// external mosquitto.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { err, invariant, ok, type Result } from '../../kernel/index.js';
import { MQTT_PAYLOAD_BYTES_MAX_DEFAULT } from './device-topics.js';

/** How the embedded broker listens and whom it lets in. */
export interface EmbeddedBrokerOptions {
  /** 0 picks a free port; the broker always binds 127.0.0.1 only. */
  readonly port: number;
  /** When set, a CONNECT without exactly these is refused (CONNACK 4, "bad user name or password"); unset allows anonymous clients. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /**
   * A PUBLISH whose payload exceeds this is not delivered to anyone (nor retained). Like
   * mosquitto's `message_size_limit`, the QoS flow still completes: closing the publisher's
   * connection instead would make an MQTT client resend the same message after every reconnect.
   * Default `MQTT_PAYLOAD_BYTES_MAX_DEFAULT * 4`.
   */
  readonly payloadBytesMax?: number;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Closes the listener, every client connection and the aedes instance. */
  close(): Promise<void>;
}

/** Why the broker did not start. */
export type BrokerStartError = { readonly kind: 'PortInUse' | 'ListenFailed'; readonly message: string };

const LISTEN_HOST = '127.0.0.1';
const BROKER_CONNECT_TIMEOUT_MS = 10_000;
/** A subscriber that stops reading is disconnected after this, so it cannot stall delivery to the others. */
const BROKER_DRAIN_TIMEOUT_MS = 30_000;
const SYS_PREFIX = '$SYS/';
/** MQTT 3.1.1 CONNACK return code 4. */
const BAD_USERNAME_OR_PASSWORD = 4;

const payloadBytesOf = (payload: PublishPacket['payload']): number => (typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length);

/** Whether a CONNECT's username and password are exactly the configured ones (constant time on the password). */
export function credentialsMatch(
  expected: { readonly username: string; readonly password: string },
  username: string | undefined,
  password: Buffer | undefined,
): boolean {
  if (username !== expected.username || password === undefined) return false;
  const wanted = Buffer.from(expected.password, 'utf8');
  return password.length === wanted.length && timingSafeEqual(password, wanted);
}

/**
 * Starts aedes behind a TCP server on 127.0.0.1. A port already taken is a `PortInUse` value.
 *
 * ```ts
 * const started = await startEmbeddedBroker({ port: 1884, credentials: { username: 'edge', password: secret } });
 * if (!started.ok) return fail(started.error.message);
 * log.info({ url: started.value.url }, 'MQTT broker listening');
 * ```
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<Result<EmbeddedBroker, BrokerStartError>> {
  const payloadBytesMax = options.payloadBytesMax ?? MQTT_PAYLOAD_BYTES_MAX_DEFAULT * 4;
  invariant(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65_535, 'the broker port is a TCP port or 0');
  invariant(Number.isInteger(payloadBytesMax) && payloadBytesMax > 0, 'the broker payload limit is a positive byte count');
  const credentials = options.credentials;
  const aedes = await Aedes.createBroker({
    connectTimeout: BROKER_CONNECT_TIMEOUT_MS,
    drainTimeout: BROKER_DRAIN_TIMEOUT_MS,
    authenticate: (_client, username, password, done) => {
      if (credentials === undefined || credentialsMatch(credentials, username, password)) return done(null, true);
      const refusal = Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }) as AuthenticateError;
      done(refusal, false);
    },
    authorizePublish: (_client, packet, done) => {
      // aedes' default rule, kept: a client may not publish under $SYS/ (platform-notes.md §4).
      if (packet.topic.startsWith(SYS_PREFIX)) return done(new Error(`${SYS_PREFIX} topic is reserved`));
      // Oversized: acknowledged but neither retained here nor forwarded by authorizeForward below.
      if (payloadBytesOf(packet.payload) > payloadBytesMax) packet.retain = false;
      done(null);
    },
    authorizeForward: (_client: Client, packet) => (payloadBytesOf(packet.payload) > payloadBytesMax ? null : packet),
  });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  const listening = await listen(server, options.port);
  if (!listening.ok) {
    await closeAedes(aedes);
    return listening;
  }
  const port = listening.value;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all([serverClosed, closeAedes(aedes)]);
    })();
    return closing;
  };
  return ok({ url: `mqtt://${LISTEN_HOST}:${port}`, port, close });
}

function listen(server: Server, port: number): Promise<Result<number, BrokerStartError>> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.removeListener('listening', onListening);
      const kind = error.code === 'EADDRINUSE' ? 'PortInUse' : 'ListenFailed';
      resolve(err({ kind, message: `MQTT broker cannot listen on ${LISTEN_HOST}:${port}: ${error.message}` }));
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      const address = server.address();
      invariant(address !== null && typeof address === 'object', 'a TCP server has an address once listening');
      resolve(ok(address.port));
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: LISTEN_HOST, port, exclusive: true });
  });
}

const closeAedes = (aedes: Aedes): Promise<void> => new Promise((resolve) => aedes.close(() => resolve()));
