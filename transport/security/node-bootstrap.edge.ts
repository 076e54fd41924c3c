// The edge side of joining and rotating: generate a key locally, send only a CSR, and trust the
// cloud only after its CA matches the hash in the join token (kubeedge-reference §2.4), so the
// token's secret never reaches a server that merely answered on the right address.
import { KeyObject, createHash, timingSafeEqual, webcrypto, X509Certificate } from 'node:crypto';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { type Result, err, invariant, isJsonObject, ok } from '../../kernel/index.js';
import { x509 } from '../../k8s/index.js';
import { parseJoinToken } from './join-token.js';
import { BOOTSTRAP_PATHS, BOOTSTRAP_REQUEST_TIMEOUT_MS, type NodeCertificateResponse } from './node-bootstrap.js';
import { NODE_ORGANIZATION, isNodeName, nodeCommonName } from './node-certificate.signer.js';
import { type NodeCredentialPaths, loadNodeCredentials, storeNodeCredentials } from './node-credentials.fs.js';

/** A certificate response is two certificates and four dates; far more is not an answer from our cloud (CVE-2022-31080). */
export const BOOTSTRAP_RESPONSE_BYTES_MAX = 64 * 1024;
const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Why a join or renewal did not produce credentials. `message` says what to do about it. */
export type JoinError =
  | { readonly kind: 'TokenMalformed'; readonly message: string }
  | { readonly kind: 'NodeNameInvalid'; readonly message: string }
  | { readonly kind: 'CloudUrlInvalid'; readonly message: string }
  | { readonly kind: 'CloudUnreachable'; readonly message: string }
  | { readonly kind: 'CaHashMismatch'; readonly message: string; readonly pinned: string; readonly presented: string }
  /** The cloud answered with a refusal: `status` and `cloudKind` are its HTTP status and error kind. */
  | { readonly kind: 'Refused'; readonly message: string; readonly status: number; readonly cloudKind: string }
  | { readonly kind: 'ResponseMalformed'; readonly message: string }
  | { readonly kind: 'CredentialsMissing'; readonly message: string }
  | { readonly kind: 'CredentialsUnusable'; readonly message: string }
  | { readonly kind: 'CredentialsWriteFailed'; readonly message: string };

/** What a join or renewal leaves behind. */
export interface JoinedNode {
  readonly nodeName: string;
  readonly paths: NodeCredentialPaths;
  readonly notAfterMs: number;
  readonly rotateAfterMs: number;
  readonly rotateBeforeMs: number;
}

export interface JoinClusterOptions {
  /** The cloud's bootstrap endpoint, `https://<host>:<port>`. */
  readonly cloudUrl: string;
  /** The token `edgehive token create` printed. */
  readonly token: string;
  readonly nodeName: string;
  readonly dataDir: string;
}

/**
 * First join: fetches the CA, refuses it unless its SHA-256 equals the token's pinned hash, then
 * sends `{ token, nodeName, csrPem }` over TLS verified against that CA, and writes CA, key (0600)
 * and certificate into `<dataDir>/edge-pki/`.
 * @example
 * const joined = await joinCluster({ cloudUrl: 'https://10.0.0.1:10002', token, nodeName: 'edge-1', dataDir });
 * if (!joined.ok) fail(joined.error.message);
 */
export async function joinCluster(options: JoinClusterOptions): Promise<Result<JoinedNode, JoinError>> {
  const token = parseJoinToken(options.token);
  if (!token.ok) return err({ kind: 'TokenMalformed', message: token.error.message });
  if (!isNodeName(options.nodeName)) {
    return err({ kind: 'NodeNameInvalid', message: `node name "${options.nodeName}" is not a DNS-1123 subdomain (lowercase a-z, 0-9, '-', '.')` });
  }
  const base = parseCloudUrl(options.cloudUrl);
  if (!base.ok) return base;
  const caPem = await fetchPinnedCa(base.value, token.value.caSha256);
  if (!caPem.ok) return caPem;
  const keys = await generateNodeKeys();
  const csrPem = await createNodeCsr(options.nodeName, keys);
  const body = JSON.stringify({ token: options.token, nodeName: options.nodeName, csrPem });
  const answer = await exchange(new URL(BOOTSTRAP_PATHS.join, base.value), { method: 'POST', body, tls: { ca: caPem.value } });
  if (!answer.ok) return answer;
  return storeIssued(options.dataDir, options.nodeName, caPem.value, keys, answer.value);
}

export interface RenewNodeCertificateOptions {
  readonly cloudUrl: string;
  readonly dataDir: string;
}

/**
 * Rotation: a new key and CSR, sent over TLS authenticated by the current certificate (no token).
 * The new pair replaces the old on disk; a stream already connected keeps its TLS session with the
 * old certificate, which stays valid, and uses the new one from its next reconnect.
 */
export async function renewNodeCertificate(options: RenewNodeCertificateOptions): Promise<Result<JoinedNode, JoinError>> {
  const current = await loadNodeCredentials(options.dataDir);
  if (!current.ok) return err(current.error.kind === 'CredentialsMissing' ? current.error : { kind: 'CredentialsUnusable', message: current.error.message });
  const base = parseCloudUrl(options.cloudUrl);
  if (!base.ok) return base;
  const { nodeName, caPem, certPem, keyPem } = current.value;
  const keys = await generateNodeKeys();
  const csrPem = await createNodeCsr(nodeName, keys);
  const body = JSON.stringify({ nodeName, csrPem });
  const answer = await exchange(new URL(BOOTSTRAP_PATHS.renew, base.value), { method: 'POST', body, tls: { ca: caPem, cert: certPem, key: keyPem } });
  if (!answer.ok) return answer;
  return storeIssued(options.dataDir, nodeName, caPem, keys, answer.value);
}

/**
 * A PKCS #10 request for `system:node:<nodeName>`, O `system:nodes`, signed with the node's key.
 * Exported for specs and tools that need a CSR without joining.
 */
export async function createNodeCsr(nodeName: string, keys: webcrypto.CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ O: [NODE_ORGANIZATION] }, { CN: [nodeCommonName(nodeName)] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return csr.toString('pem');
}

/** A fresh ECDSA P-256 key pair, extractable so the private key can be written to disk. */
export function generateNodeKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function storeIssued(
  dataDir: string,
  nodeName: string,
  pinnedCaPem: string,
  keys: webcrypto.CryptoKeyPair,
  answer: unknown,
): Promise<Result<JoinedNode, JoinError>> {
  const response = decodeCertificateResponse(answer);
  if (!response.ok) return response;
  const checked = checkIssued(response.value, pinnedCaPem, nodeName, keys);
  if (!checked.ok) return checked;
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' });
  invariant(typeof keyPem === 'string', 'a PEM export is a string');
  const stored = await storeNodeCredentials(dataDir, { caPem: pinnedCaPem, certPem: response.value.certPem, keyPem });
  if (!stored.ok) return stored;
  return ok({
    nodeName,
    paths: stored.value,
    notAfterMs: Date.parse(response.value.notAfter),
    rotateAfterMs: Date.parse(response.value.rotateAfter),
    rotateBeforeMs: Date.parse(response.value.rotateBefore),
  });
}

/** The cloud's answer must be for our key, our node, and signed by the CA we pinned; anything else is not stored. */
function checkIssued(response: NodeCertificateResponse, pinnedCaPem: string, nodeName: string, keys: webcrypto.CryptoKeyPair): Result<void, JoinError> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(response.certPem);
  } catch {
    return err({ kind: 'ResponseMalformed', message: 'the cloud returned certPem that is not a certificate' });
  }
  if (!certificate.verify(new X509Certificate(pinnedCaPem).publicKey)) {
    return err({ kind: 'ResponseMalformed', message: 'the cloud returned a certificate not signed by the pinned CA' });
  }
  if (!certificate.checkPrivateKey(KeyObject.from(keys.privateKey))) {
    return err({ kind: 'ResponseMalformed', message: 'the cloud returned a certificate for another key than the one in the CSR' });
  }
  const [commonName] = new x509.X509Certificate(certificate.raw).subjectName.getField('CN');
  if (commonName !== nodeCommonName(nodeName)) {
    return err({ kind: 'ResponseMalformed', message: `the cloud returned a certificate for ${commonName ?? 'no CN'}, not ${nodeCommonName(nodeName)}` });
  }
  return ok(undefined);
}

async function fetchPinnedCa(base: URL, pinnedSha256: string): Promise<Result<string, JoinError>> {
  // Verification is off for this one request only: the edge has no CA yet, and the hash check
  // below is what decides. Nothing secret is sent on it.
  const answer = await exchange(new URL(BOOTSTRAP_PATHS.ca, base), { method: 'GET', tls: { rejectUnauthorized: false }, raw: true });
  if (!answer.ok) return answer;
  const caPem = answer.value as string;
  let presented: string;
  try {
    presented = createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
  } catch {
    return err({ kind: 'ResponseMalformed', message: `${base.origin}${BOOTSTRAP_PATHS.ca} did not return a PEM certificate` });
  }
  if (!timingSafeEqual(Buffer.from(presented, 'hex'), Buffer.from(pinnedSha256, 'hex'))) {
    return err({
      kind: 'CaHashMismatch',
      message: `the cloud at ${base.origin} presents CA sha256 ${presented}, but the token pins ${pinnedSha256}: not this cluster's cloud, token not sent`,
      pinned: pinnedSha256,
      presented,
    });
  }
  return ok(caPem);
}

function parseCloudUrl(cloudUrl: string): Result<URL, JoinError> {
  let url: URL;
  try {
    url = new URL(cloudUrl);
  } catch {
    return err({ kind: 'CloudUrlInvalid', message: `"${cloudUrl}" is not a URL; expected https://<host>:<port>` });
  }
  if (url.protocol !== 'https:') return err({ kind: 'CloudUrlInvalid', message: `the bootstrap URL must be https://, got ${url.protocol}//` });
  return ok(url);
}

function decodeCertificateResponse(body: unknown): Result<NodeCertificateResponse, JoinError> {
  const fields = ['certPem', 'caPem', 'notBefore', 'notAfter', 'rotateAfter', 'rotateBefore'] as const;
  if (!isJsonObject(body)) return err({ kind: 'ResponseMalformed', message: 'the cloud answered with something other than a JSON object' });
  for (const field of fields) {
    const value = body[field];
    if (typeof value !== 'string') return err({ kind: 'ResponseMalformed', message: `the cloud's answer lacks ${field}` });
    if (field !== 'certPem' && field !== 'caPem' && Number.isNaN(Date.parse(value))) {
      return err({ kind: 'ResponseMalformed', message: `the cloud's ${field} is not a date` });
    }
  }
  return ok(body as unknown as NodeCertificateResponse);
}

type TlsChoice = Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

/**
 * One HTTPS request with bounded time and response size. Returns the decoded JSON (or the raw text
 * with `raw`) on 200, and the cloud's `{ error: { kind, message } }` as a `Refused` otherwise.
 */
function exchange(
  url: URL,
  request: { readonly method: 'GET' | 'POST'; readonly body?: string; readonly tls: TlsChoice; readonly raw?: boolean },
): Promise<Result<unknown, JoinError>> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(request.body));
    }
    // No agent: a pooled, kept-alive socket would outlive the exchange and hold the cloud's server open.
    const outgoing = httpsRequest(url, { method: request.method, headers, agent: false, timeout: BOOTSTRAP_REQUEST_TIMEOUT_MS, ...request.tls }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > BOOTSTRAP_RESPONSE_BYTES_MAX) {
          response.destroy();
          resolve(err({ kind: 'ResponseMalformed', message: `the cloud's answer is larger than ${BOOTSTRAP_RESPONSE_BYTES_MAX} bytes` }));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => resolve(err({ kind: 'CloudUnreachable', message: `${url.origin}: ${error.message}` })));
      response.on('end', () => resolve(interpret(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), request.raw === true)));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${BOOTSTRAP_REQUEST_TIMEOUT_MS} ms`)));
    outgoing.on('error', (error) => resolve(err({ kind: 'CloudUnreachable', message: `${url.origin}: ${error.message}` })));
    outgoing.end(request.body);
  });
}

function interpret(status: number, text: string, raw: boolean): Result<unknown, JoinError> {
  if (status === 200) {
    if (raw) return ok(text);
    try {
      return ok(JSON.parse(text) as unknown);
    } catch {
      return err({ kind: 'ResponseMalformed', message: 'the cloud answered 200 with a body that is not JSON' });
    }
  }
  let refusal: unknown;
  try {
    refusal = JSON.parse(text);
  } catch {
    refusal = undefined;
  }
  const error = isJsonObject(refusal) && isJsonObject(refusal['error']) ? refusal['error'] : {};
  const cloudKind = typeof error['kind'] === 'string' ? error['kind'] : 'Unknown';
  const detail = typeof error['message'] === 'string' ? error['message'] : `HTTP ${status}`;
  return err({ kind: 'Refused', status, cloudKind, message: `the cloud refused (${status} ${cloudKind}): ${detail}` });
}
