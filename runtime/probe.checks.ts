// One probe attempt of each kind, as the kubelet makes it: exec (exit 0), httpGet (2xx/3xx) and
// tcpSocket (connects), each failing after its timeout; containers share the host network.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Result } from '../kernel/index.js';
import type { ExecSession, ProbeAction, ProbeResult, RuntimeError } from './runtime.port.js';

/** What a failed exec probe's message keeps of its output (the kubelet keeps 10 KiB). */
export const probeOutputBytesMax = 10 * 1024;

const success = (message: string): ProbeResult => ({ result: 'Success', message });
const failure = (message: string): ProbeResult => ({ result: 'Failure', message });

/** Runs an exec probe: the session's exit 0 passes; a timeout kills it and fails. */
export async function checkExec(start: () => Promise<Result<ExecSession, RuntimeError>>, timeoutMs: number): Promise<ProbeResult> {
  const started = await start();
  if (!started.ok) return failure(started.error.message);
  const session = started.value;
  const output: Buffer[] = [];
  let kept = 0;
  const keep = (chunk: Buffer): void => {
    if (kept >= probeOutputBytesMax) return;
    output.push(chunk.subarray(0, probeOutputBytesMax - kept));
    kept += Math.min(chunk.length, probeOutputBytesMax - kept);
  };
  session.stdout.on('data', keep);
  session.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    session.kill();
  }, timeoutMs);
  const { exitCode } = await session.exit;
  clearTimeout(timer);
  const text = Buffer.concat(output).toString('utf8');
  if (timedOut) return failure(`command timed out after ${timeoutMs} ms`);
  return exitCode === 0 ? success(text) : failure(`exit code ${exitCode}: ${text}`);
}

/** Runs an httpGet probe against `host` (default 127.0.0.1); 200–399 passes, redirects are not followed. */
export function checkHttp(action: Extract<ProbeAction, { type: 'httpGet' }>, timeoutMs: number): Promise<ProbeResult> {
  const request = action.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  const headers = Object.fromEntries((action.headers ?? []).map((h) => [h.name, h.value]));
  return new Promise((resolve) => {
    const req = request(
      { host: action.host ?? '127.0.0.1', port: action.port, path: action.path, method: 'GET', headers: { 'user-agent': 'kube-probe/edgehive', ...headers }, timeout: timeoutMs, rejectUnauthorized: false },
      (res: IncomingMessage) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? success(`HTTP ${status}`) : failure(`HTTP probe failed with statuscode: ${status}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (e) => resolve(failure(`Get ${action.path}: ${e.message}`)));
    req.end();
  });
}

/** Runs a tcpSocket probe: a connection within the timeout passes. */
export function checkTcp(action: Extract<ProbeAction, { type: 'tcpSocket' }>, timeoutMs: number): Promise<ProbeResult> {
  const host = action.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    const socket = connect({ host, port: action.port });
    const timer = setTimeout(() => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(success(`connected to ${host}:${action.port}`));
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      resolve(failure(`dial tcp ${host}:${action.port}: ${e.message}`));
    });
  });
}
