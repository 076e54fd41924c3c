// Byte streams (kubectl logs/exec) on their own connection, as KubeEdge's `ConnectionUse: str`:
// the cloud asks the edge over the message stream to open one for a session id; the edge opens a
// second mTLS websocket naming that session; the cloud hands it to whoever asked. A busy log thus
// never stalls state sync, and each byte stream has TCP's own flow control.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { QueryFrame } from '../frames/frame.js';
import type { QueryError } from './requests.js';

/** Byte-stream sessions a cloud process waits for at once. */
export const BYTE_STREAMS_PENDING_MAX = 256;

/** The session a byte-stream query names, or undefined when the query is not one. */
export function byteStreamSessionOf(query: QueryFrame): { readonly session: string; readonly request: JsonValue } | undefined {
  const content = query.content;
  if (!isJsonObject(content) || typeof content['byteStream'] !== 'string') return undefined;
  return { session: content['byteStream'], request: content['request'] ?? null };
}

/** The query content that asks an edge for a byte stream. */
export const byteStreamQueryContent = (session: string, request: JsonValue): JsonValue => ({ byteStream: session, request });

interface Waiting {
  readonly nodeName: string;
  readonly settle: (result: Result<WebSocket, QueryError>) => void;
}

/** The cloud's sessions waiting for their edge connection. */
export class ByteStreamSessions {
  #waiting = new Map<string, Waiting>();

  /** A new session for `nodeName`; resolves with the edge's socket, or an error (timeout, refusal). */
  open(nodeName: string, timeoutMs: number): { readonly session: string; readonly socket: Promise<Result<WebSocket, QueryError>>; readonly fail: (error: QueryError) => void } {
    const session = randomUUID();
    if (this.#waiting.size >= BYTE_STREAMS_PENDING_MAX) {
      const error: QueryError = { kind: 'QueriesPendingMax', pendingMax: BYTE_STREAMS_PENDING_MAX, message: `${BYTE_STREAMS_PENDING_MAX} byte streams are already being opened` };
      return { session, socket: Promise.resolve(err(error)), fail: () => undefined };
    }
    let settle!: (result: Result<WebSocket, QueryError>) => void;
    const socket = new Promise<Result<WebSocket, QueryError>>((resolve) => {
      const timer = setTimeout(() => done(err({ kind: 'QueryTimedOut', timeoutMs, message: `edge ${nodeName} opened no byte stream within ${timeoutMs} ms` })), timeoutMs);
      timer.unref();
      const done = (result: Result<WebSocket, QueryError>): void => {
        if (!this.#waiting.delete(session)) return;
        clearTimeout(timer);
        resolve(result);
      };
      settle = done;
    });
    this.#waiting.set(session, { nodeName, settle });
    return { session, socket, fail: (error) => settle(err(error)) };
  }

  /** An edge connection naming `session` arrived; false (and the caller closes it) when no such session waits for this node. */
  arrived(nodeName: string, session: string, socket: WebSocket): boolean {
    const waiting = this.#waiting.get(session);
    if (waiting === undefined || waiting.nodeName !== nodeName) return false;
    waiting.settle(ok(socket));
    return true;
  }

  failAll(message: string): void {
    for (const waiting of [...this.#waiting.values()]) waiting.settle(err({ kind: 'StreamStopped', message }));
  }
}
