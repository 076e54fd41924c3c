// One websocket as the stream sees it, the same on both ends: every inbound message goes through
// the one frame decoder (1009 when too large, 1007 when undecodable), a keepalive goes out every
// `keepaliveMs`, and a peer silent for `deadPeerMs` is dropped (monotonic clock, as PROTOCOL.md asks).
import type { WebSocket } from 'ws';
import { randomUUID } from 'node:crypto';
import { invariant } from '../../kernel/index.js';
import { decodeFrame, encodeFrame, encodeFrameWithin } from '../frames/codec.js';
import { closeReason, type Frame, type Stamp } from '../frames/frame.js';

/** Liveness settings of a stream end (PROTOCOL.md: keepalive every 15 s, dead after 30 s). */
export interface Liveness {
  readonly keepaliveMs: number;
  readonly deadPeerMs: number;
}

export const defaultLiveness: Liveness = { keepaliveMs: 15_000, deadPeerMs: 30_000 };

/** A fresh beehive stamp: a random msg_id and the wall clock, which only labels the frame. */
export const freshStamp = (): Stamp => ({ msgId: randomUUID(), timestampMs: Date.now() });

/** Why a session ended, as the websocket close says (codes from PROTOCOL.md and RFC 6455). */
export interface SessionEnd {
  readonly code: number;
  readonly reason: string;
  /** True when this end closed it (a decode error, a dead peer, a resume), false when the peer did. */
  readonly local: boolean;
}

export interface SessionHandlers {
  readonly frame: (frame: Frame) => void;
  /** Called once, after which the session sends nothing. */
  readonly closed: (end: SessionEnd) => void;
  /** A keepalive is due; the owner builds it (it may carry an ack). */
  readonly keepaliveDue: () => Frame;
}

const monotonicMs = (): number => performance.now();

/** Close code for a dead peer: 1001 "going away", since the peer may well come back. */
export const CLOSE_DEAD_PEER = 1001;

/**
 * A stream connection with the decoder, keepalive and dead-peer detection applied. The owner gets
 * decoded frames only, and one `closed` call whatever ends the session.
 */
export class StreamSession {
  #open = true;
  #lastHeardMs = monotonicMs();
  #timer: NodeJS.Timeout;
  framesIn = 0;
  framesOut = 0;

  constructor(
    readonly socket: WebSocket,
    private readonly frameBytesMax: number,
    private readonly liveness: Liveness,
    private readonly handlers: SessionHandlers,
  ) {
    invariant(liveness.keepaliveMs > 0 && liveness.deadPeerMs > liveness.keepaliveMs, 'a peer is declared dead only after missing keepalives');
    const tick = Math.min(liveness.keepaliveMs, Math.max(10, Math.floor(liveness.deadPeerMs / 4)));
    let sinceKeepaliveMs = 0;
    this.#timer = setInterval(() => {
      if (monotonicMs() - this.#lastHeardMs > liveness.deadPeerMs) return this.close(CLOSE_DEAD_PEER, `peer silent for more than ${liveness.deadPeerMs} ms`);
      sinceKeepaliveMs += tick;
      if (sinceKeepaliveMs >= liveness.keepaliveMs) {
        sinceKeepaliveMs = 0;
        this.send(handlers.keepaliveDue());
      }
    }, tick);
    this.#timer.unref();
    socket.on('message', (data: Buffer, isBinary: boolean) => this.#received(data, isBinary));
    socket.on('close', (code: number, reason: Buffer) => this.#ended({ code, reason: reason.toString('utf8'), local: false }));
    // An error (a reset socket, a frame over maxPayload) is followed by 'close'; nothing to do here.
    socket.on('error', () => undefined);
  }

  get open(): boolean {
    return this.#open;
  }

  /**
   * Sends a frame; false when the session is closed or the frame would be refused by the peer (the
   * caller decides). `checked`: the frame carries nothing the peer could refuse (an ack) or its
   * content already passed contentProblem (up events, at report time), so only its size is checked
   * here instead of decoding it again.
   */
  send(frame: Frame, checked = false): boolean {
    if (!this.#open) return false;
    let text: string;
    if (checked) {
      text = encodeFrame(frame);
      if (Buffer.byteLength(text, 'utf8') > this.frameBytesMax) return false;
    } else {
      const encoded = encodeFrameWithin(frame, { frameBytesMax: this.frameBytesMax });
      if (!encoded.ok) return false;
      text = encoded.value;
    }
    this.framesOut += 1;
    this.socket.send(text);
    return true;
  }

  /**
   * Sends a frame already written as text by a checked writer; false when closed or over the limit.
   * `measured`: the writer already bounded its size by frameBytesMax, so it is not measured again.
   */
  sendText(text: string, measured = false): boolean {
    if (!this.#open) return false;
    if (!measured && Buffer.byteLength(text, 'utf8') > this.frameBytesMax) return false;
    this.framesOut += 1;
    this.socket.send(text);
    return true;
  }

  /** Closes with a code and a reason (cut to the 123 bytes a close frame holds). */
  close(code: number, reason: string): void {
    if (!this.#open) return;
    const text = closeReason(reason);
    this.socket.close(code, text);
    // A peer that never answers the close must not hold the socket: terminate after a grace period.
    const grace = setTimeout(() => this.socket.terminate(), 2000);
    grace.unref();
    this.#ended({ code, reason: text, local: true });
  }

  /** Drops the connection without a close handshake (a crash, as tests simulate it). */
  terminate(): void {
    this.socket.terminate();
    this.#ended({ code: 1006, reason: 'terminated', local: true });
  }

  #received(data: Buffer, isBinary: boolean): void {
    if (!this.#open) return;
    this.#lastHeardMs = monotonicMs();
    if (isBinary) return this.close(1003, 'the stream carries text frames only');
    // ws has already checked that a text message is UTF-8 (it closes with 1007 otherwise), so the
    // text is decoded without the codec's second, fatal check.
    const decoded = decodeFrame(data.toString('utf8'), { frameBytesMax: this.frameBytesMax }, data.length);
    if (!decoded.ok) return this.close(decoded.error.closeCode, decoded.error.reason);
    this.framesIn += 1;
    this.handlers.frame(decoded.value);
  }

  #ended(end: SessionEnd): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#timer);
    this.handlers.closed(end);
  }
}
