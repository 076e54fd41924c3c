// Back-pressure for the tunnel's relays: a source that writes into a websocket faster than the
// peer reads is paused while the socket holds too much, and resumed once it has drained by half.
import type { WebSocket } from 'ws';

/** How often a paused source looks at the socket again. */
const DRAIN_CHECK_MS = 10;

/**
 * Sends `data` on `socket` and pauses `source` while more than `bufferedBytesMax` wait in the
 * socket; a socket that closes meanwhile resumes it too (its reader then sees the close).
 */
export function sendPaced(socket: WebSocket, source: { pause(): unknown; resume(): unknown }, data: Buffer, bufferedBytesMax: number): void {
  socket.send(data, { binary: true });
  if (socket.bufferedAmount <= bufferedBytesMax) return;
  source.pause();
  const check = setInterval(() => {
    if (socket.bufferedAmount > bufferedBytesMax / 2 && socket.readyState === socket.OPEN) return;
    clearInterval(check);
    source.resume();
  }, DRAIN_CHECK_MS);
}
