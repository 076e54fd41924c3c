// The edge end of kubectl logs/exec/attach (KubeEdge's EdgeStream): a byte stream the cloud opened
// for a pod is served from the container runtime — a log as raw bytes after one opening message, an
// exec or an attach in kubectl's v5 channel framing, which the cloud relays unchanged.
import type { WebSocket } from 'ws';
import { err, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { ContainerRuntime } from '../../runtime/index.js';
import type { QueryFrame } from '../frames/frame.js';
import { sendPaced } from './socket-backpressure.js';
import { Channel, LOG_OPENED, LogClose, execFailure, execStatus, framed, parsePodStreamContent, type PodStreamRequest } from './pod-stream.protocol.js';

/** The pods the edge runs: uid and container names by namespace and name. */
export interface EdgePods {
  pod(namespace: string, name: string): { readonly uid: string; readonly containers: readonly string[] } | undefined;
}

/** Bytes buffered toward the cloud before a log pauses reading (back-pressure on a busy log). */
const LOG_BUFFERED_BYTES_MAX = 1024 * 1024;

/**
 * The EdgeHub `byteStream` option: checks the request names a pod this edge runs and one of its
 * containers, then serves it on the socket.
 */
export function servePodStreams(runtime: Pick<ContainerRuntime, 'logs' | 'exec'>, pods: EdgePods) {
  return (content: JsonValue, query: QueryFrame): Result<(socket: WebSocket) => void, string> => {
    const target = query.target;
    if (target.kind !== 'object' || target.type !== 'pod') return err('a byte stream names a pod');
    const request = parsePodStreamContent(content);
    if (!request.ok) return request;
    const pod = pods.pod(target.namespace ?? 'default', target.name);
    if (pod === undefined) return err(`pod ${target.namespace ?? 'default'}/${target.name} does not run on this node`);
    const container = request.value.container ?? (pod.containers.length === 1 ? pod.containers[0]! : null);
    if (container === null || !pod.containers.includes(container)) {
      return err(`a container name must be given for pod ${target.name}, one of [${pod.containers.join(' ')}]`);
    }
    return ok((socket) => void serve(runtime, pod.uid, container, request.value, socket));
  };
}

async function serve(runtime: Pick<ContainerRuntime, 'logs' | 'exec'>, uid: string, container: string, request: PodStreamRequest, socket: WebSocket): Promise<void> {
  socket.on('error', () => undefined);
  if (request.kind === 'log') return serveLog(runtime, uid, container, request, socket);
  if (request.kind === 'attach') return serveAttach(runtime, uid, container, socket);
  // kubectl may send stdin (and its end) before the command has started: hold it until then.
  const early: Buffer[] = [];
  let deliver = (data: Buffer): void => void early.push(data);
  socket.on('message', (data: Buffer) => deliver(data));
  const session = await runtime.exec(uid, container, request.command, { stdin: request.stdin });
  if (!session.ok) {
    socket.send(framed(Channel.error, JSON.stringify(execFailure(session.error.message))));
    socket.close(1000);
    return;
  }
  const { stdin, stdout, stderr, exit } = session.value;
  stdout.on('data', (chunk: Buffer) => socket.send(framed(Channel.stdout, chunk)));
  stderr.on('data', (chunk: Buffer) => socket.send(framed(Channel.stderr, chunk)));
  deliver = (data: Buffer): void => {
    if (data.length === 0 || stdin === null) return;
    if (data[0] === Channel.stdin) stdin.write(data.subarray(1));
    else if (data[0] === Channel.close && data[1] === Channel.stdin) stdin.end();
  };
  for (const data of early.splice(0)) deliver(data);
  socket.on('close', () => session.value.kill());
  const { exitCode } = await exit;
  // Output still in the pipes is flushed before the status, which kubectl takes as the end.
  await Promise.all([ended(stdout), ended(stderr)]);
  socket.send(framed(Channel.error, JSON.stringify(execStatus(exitCode))));
  socket.close(1000);
}

async function serveLog(runtime: Pick<ContainerRuntime, 'logs'>, uid: string, container: string, request: Extract<PodStreamRequest, { kind: 'log' }>, socket: WebSocket): Promise<void> {
  const log = await runtime.logs(uid, container, { previous: request.previous, tailLines: request.tailLines, follow: request.follow });
  if (!log.ok) {
    socket.close(log.error.reason === 'NotFound' ? LogClose.notFound : LogClose.badRequest, log.error.message.slice(0, 120));
    return;
  }
  const stream = log.value;
  socket.send(LOG_OPENED);
  stream.on('data', (chunk: Buffer) => sendPaced(socket, stream, chunk, LOG_BUFFERED_BYTES_MAX));
  stream.on('end', () => socket.close(1000, 'end of log'));
  stream.on('error', () => socket.close(1011, 'log read failed'));
  socket.on('close', () => stream.destroy());
}

/**
 * Attach without a terminal or stdin: the container's output from now on (its log, followed from
 * the end), on the stdout channel, until the container ends; then a Success status, as the kubelet
 * ends an attach whose process exited.
 */
async function serveAttach(runtime: Pick<ContainerRuntime, 'logs'>, uid: string, container: string, socket: WebSocket): Promise<void> {
  const log = await runtime.logs(uid, container, { previous: false, tailLines: 0, follow: true });
  if (!log.ok) {
    socket.send(framed(Channel.error, JSON.stringify(execFailure(log.error.message))));
    socket.close(1000);
    return;
  }
  const stream = log.value;
  stream.on('data', (chunk: Buffer) => sendPaced(socket, stream, framed(Channel.stdout, chunk), LOG_BUFFERED_BYTES_MAX));
  stream.on('end', () => {
    socket.send(framed(Channel.error, JSON.stringify(execStatus(0))));
    socket.close(1000);
  });
  stream.on('error', () => socket.close(1011, 'log read failed'));
  socket.on('close', () => stream.destroy());
}

const ended = (stream: NodeJS.ReadableStream): Promise<void> =>
  new Promise((resolve) => {
    if ((stream as { readableEnded?: boolean }).readableEnded === true) return resolve();
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
