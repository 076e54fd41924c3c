// kubectl logs/exec/attach through the stream (KubeEdge's CloudStream/EdgeStream): what the cloud
// asks the edge for, and kubectl's own exec framing (`v5.channel.k8s.io`, attach uses it too), which
// the edge speaks end to end so the cloud only relays. Pure: parsing and building, no sockets.
import { err, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';

/** The WebSocket subprotocol of kubectl ≥ 1.30 exec/attach (platform-notes §8.2). */
export const EXEC_SUBPROTOCOL = 'v5.channel.k8s.io';

/** v5 channels: first byte of every binary message. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** What the cloud asks an edge to stream for one pod (the query's resource names the pod). */
export type PodStreamRequest =
  | { readonly kind: 'log'; readonly container: string | null; readonly follow: boolean; readonly tailLines: number | null; readonly previous: boolean }
  | { readonly kind: 'exec'; readonly container: string | null; readonly command: readonly string[]; readonly stdin: boolean }
  /** The running container's output from now on, until it ends (its stdin is not kept open by the process runtime). */
  | { readonly kind: 'attach'; readonly container: string | null };

/** Tail lines kept at most (the kubelet bounds them likewise). */
const TAIL_LINES_MAX = 100_000;
/** argv items of one exec. */
const EXEC_ARGV_MAX = 4096;

/** Reads kubectl's query (`?container=&follow=&tailLines=&previous=`, `?command=…&stdin=`) into a request. */
export function podStreamRequestOf(subresource: string, query: URLSearchParams): Result<PodStreamRequest, string> {
  const container = query.get('container');
  if (subresource === 'log') {
    if (query.get('timestamps') === 'true') return err('--timestamps: the process runtime writes container output without timestamps; run kubectl logs without it');
    const tail = query.get('tailLines');
    const tailLines = tail === null ? null : Number(tail);
    if (tailLines !== null && (!Number.isSafeInteger(tailLines) || tailLines < 0 || tailLines > TAIL_LINES_MAX)) return err(`tailLines must be a whole number from 0 to ${TAIL_LINES_MAX}`);
    return ok({ kind: 'log', container, follow: query.get('follow') === 'true', tailLines, previous: query.get('previous') === 'true' });
  }
  if (subresource === 'exec') {
    const command = query.getAll('command');
    if (command.length === 0) return err('exec needs a command');
    if (command.length > EXEC_ARGV_MAX) return err(`exec takes at most ${EXEC_ARGV_MAX} command items`);
    if (query.get('tty') === 'true') return err('exec -t: the process runtime has no terminals; run kubectl exec without -t (with -i for stdin)');
    return ok({ kind: 'exec', container, command, stdin: query.get('stdin') === 'true' });
  }
  if (subresource === 'attach') {
    if (query.get('tty') === 'true') return err('attach -t: the process runtime has no terminals; run kubectl attach without -t');
    if (query.get('stdin') === 'true') return err("attach -i: the process runtime does not keep a container's stdin open; run kubectl attach without -i to follow its output");
    return ok({ kind: 'attach', container });
  }
  return err(`pods/${subresource} is not served at the edge (logs, exec and attach are)`);
}

/** The request as query content, and back on the edge (which trusts nothing it did not check). */
export const podStreamContent = (request: PodStreamRequest): JsonValue => request as unknown as JsonValue;

export function parsePodStreamContent(content: JsonValue): Result<PodStreamRequest, string> {
  if (!isJsonObject(content)) return err('a pod stream request is an object');
  const container = typeof content['container'] === 'string' ? content['container'] : null;
  if (content['kind'] === 'log') {
    const tail = content['tailLines'];
    const tailLines = typeof tail === 'number' && Number.isSafeInteger(tail) && tail >= 0 && tail <= TAIL_LINES_MAX ? tail : null;
    return ok({ kind: 'log', container, follow: content['follow'] === true, tailLines, previous: content['previous'] === true });
  }
  if (content['kind'] === 'exec') {
    const command = content['command'];
    if (!Array.isArray(command) || command.length === 0 || command.length > EXEC_ARGV_MAX || !command.every((c) => typeof c === 'string')) return err('exec needs a command of strings');
    return ok({ kind: 'exec', container, command: command as string[], stdin: content['stdin'] === true });
  }
  if (content['kind'] === 'attach') return ok({ kind: 'attach', container });
  return err('a pod stream request is a log, an exec or an attach');
}

/** The metav1.Status kubectl reads on channel 3 when the command ended (exit code in details). */
export function execStatus(exitCode: number): JsonObject {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** A Status for an exec that could not run at all; kubectl prints its message. */
export const execFailure = (message: string): JsonObject => ({ metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 });

/** One v5 message: the channel byte, then the payload. */
export const framed = (channel: number, payload: Buffer | string): Buffer => Buffer.concat([Buffer.from([channel]), typeof payload === 'string' ? Buffer.from(payload) : payload]);

/** The edge's first message on a log stream: the log opened (or the stream closes with a 4xxx code and the reason). */
export const LOG_OPENED = '{"status":"Success"}';
/** Close codes of a log stream that could not open: the cloud answers kubectl with this HTTP status. */
export const LogClose = { notFound: 4404, badRequest: 4400 } as const;
