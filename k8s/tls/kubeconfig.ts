// Renders and writes the kubeconfig that points kubectl and @kubernetes/client-node at the embedded
// API server, with one cluster, one token user and one context.
import { stringify } from 'yaml';
import { type Result, err, invariant, ok } from '../../kernel/index.js';
import { SECRET_FILE_MODE, writeFileAtomic } from './atomic-file.fs.js';

/** What goes into the kubeconfig; names default to `edgehive`, `edgehive-admin` and `default`. */
export interface KubeconfigOptions {
  /** `https://host:port`, or `http://…` for a plain listener (then TLS verification is off). */
  readonly server: string;
  /** The CA that signed the server certificate; without it, clients use the system roots. */
  readonly caPem?: string;
  /** Turns certificate verification off; exclusive with `caPem`. */
  readonly insecureSkipTlsVerify?: boolean;
  /** Bearer token, sent as `Authorization: Bearer <token>`. */
  readonly token: string;
  readonly clusterName?: string;
  readonly userName?: string;
  readonly contextName?: string;
  readonly namespace?: string;
}

export type KubeconfigWriteError = { readonly kind: 'WriteFailed'; readonly path: string; readonly message: string };

const NAME_CHARS_MAX = 253;
const CA_PEM_CHARS_MAX = 64 * 1024;

/**
 * The kubeconfig as YAML. For an `http:` server it always carries `insecure-skip-tls-verify: true`,
 * because @kubernetes/client-node refuses plain HTTP otherwise (platform notes §3) and there is no
 * certificate to verify anyway.
 * @example
 * renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: pki.caPem, token: generateToken() });
 */
export function renderKubeconfig(options: KubeconfigOptions): string {
  const clusterName = options.clusterName ?? 'edgehive';
  const userName = options.userName ?? 'edgehive-admin';
  const contextName = options.contextName ?? 'edgehive';
  const namespace = options.namespace ?? 'default';
  const plainHttp = checkServerUrl(options.server);
  checkOptions(options, [clusterName, userName, contextName, namespace], plainHttp);
  const skipTlsVerify = plainHttp || options.insecureSkipTlsVerify === true;
  const cluster = {
    server: options.server,
    ...(options.caPem === undefined
      ? {}
      : { 'certificate-authority-data': Buffer.from(options.caPem, 'utf8').toString('base64') }),
    ...(skipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
  };
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: clusterName, cluster }],
    users: [{ name: userName, user: { token: options.token } }],
    contexts: [{ name: contextName, context: { cluster: clusterName, user: userName, namespace } }],
    'current-context': contextName,
  };
  // lineWidth 0: never fold, so the base64 CA and the token stay on one line each.
  return stringify(document, { lineWidth: 0 });
}

/**
 * Writes the kubeconfig with mode 0600 (it holds a bearer token), atomically through a temp file
 * and a rename, so a kubectl reading it meanwhile sees the old file or the new one.
 */
export async function writeKubeconfig(
  path: string,
  options: KubeconfigOptions,
): Promise<Result<void, KubeconfigWriteError>> {
  const yaml = renderKubeconfig(options);
  try {
    await writeFileAtomic(path, yaml, { mode: SECRET_FILE_MODE });
    return ok(undefined);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return err({ kind: 'WriteFailed', path, message: `cannot write kubeconfig ${path}: ${reason}` });
  }
}

/** Returns whether the server is plain HTTP; anything but an http(s) URL is a caller bug. */
function checkServerUrl(server: string): boolean {
  invariant(URL.canParse(server), `kubeconfig server is a URL: ${server}`);
  const protocol = new URL(server).protocol;
  invariant(protocol === 'https:' || protocol === 'http:', `kubeconfig server is http(s): ${server}`);
  return protocol === 'http:';
}

function checkOptions(options: KubeconfigOptions, names: readonly string[], plainHttp: boolean): void {
  invariant(options.token.length > 0, 'kubeconfig token is non-empty');
  invariant(!/\s/.test(options.token), 'kubeconfig token has no whitespace (it goes into an HTTP header)');
  invariant(names.every((name) => name.length > 0 && name.length <= NAME_CHARS_MAX), 'kubeconfig names are bounded');
  if (options.caPem === undefined) return;
  // kubectl refuses a kubeconfig that has both ("specifying a root certificates file with the insecure flag").
  invariant(options.insecureSkipTlsVerify !== true, 'kubeconfig caPem and insecureSkipTlsVerify are exclusive');
  invariant(!plainHttp, 'kubeconfig caPem needs an https server');
  invariant(options.caPem.includes('-----BEGIN CERTIFICATE-----'), 'kubeconfig caPem is a PEM certificate');
  invariant(options.caPem.length <= CA_PEM_CHARS_MAX, 'kubeconfig caPem is bounded');
}
