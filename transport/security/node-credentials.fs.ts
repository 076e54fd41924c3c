// The edge's credentials on disk: the pinned cluster CA, the node's private key (0600) and its
// certificate, in `<dataDir>/edge-pki/`. A rotation replaces key and certificate as a pair that
// survives a crash at any point: the new pair is written beside the old one first, then renamed
// key-then-certificate, and loading finishes a rename that a crash interrupted.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type Result, err, ok } from '../../kernel/index.js';
import { PUBLIC_FILE_MODE, SECRET_FILE_MODE, writeFileAtomic } from '../../k8s/index.js';
import { x509 } from '../../k8s/index.js';
import { NODE_COMMON_NAME_PREFIX, rotationWindow } from './node-certificate.signer.js';

/** The folder inside an edge's data dir; distinct from the cloud's `pki/`, which may share a data dir in `edgehive up`. */
export const EDGE_PKI_DIR_NAME = 'edge-pki';
const FILE_NAMES = {
  ca: 'ca.crt',
  cert: 'node.crt',
  key: 'node.key',
  nextCert: 'node.next.crt',
  nextKey: 'node.next.key',
} as const;
const PEM_FILE_CHARS_MAX = 64 * 1024;

/** Where an edge's credentials live. */
export interface NodeCredentialPaths {
  readonly dir: string;
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** Credentials ready for a TLS client, with what the certificate says. */
export interface NodeCredentials {
  readonly paths: NodeCredentialPaths;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly nodeName: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly rotateAfterMs: number;
  readonly rotateBeforeMs: number;
}

export type CredentialsError =
  | { readonly kind: 'CredentialsMissing'; readonly message: string }
  | { readonly kind: 'CredentialsUnusable'; readonly message: string }
  | { readonly kind: 'CredentialsWriteFailed'; readonly message: string };

/** The credential paths for a data dir. */
export function nodeCredentialPaths(dataDir: string): NodeCredentialPaths {
  const dir = join(dataDir, EDGE_PKI_DIR_NAME);
  return { dir, caPath: join(dir, FILE_NAMES.ca), certPath: join(dir, FILE_NAMES.cert), keyPath: join(dir, FILE_NAMES.key) };
}

/**
 * Writes the CA, then the key/certificate pair (see the file comment for the crash-safe order).
 * The folder is created 0700, the key 0600, the certificates 0644.
 */
export async function storeNodeCredentials(
  dataDir: string,
  credentials: { readonly caPem: string; readonly certPem: string; readonly keyPem: string },
): Promise<Result<NodeCredentialPaths, CredentialsError>> {
  const paths = nodeCredentialPaths(dataDir);
  const next = nextPaths(paths);
  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(paths.caPath, credentials.caPem, { mode: PUBLIC_FILE_MODE });
    await writeFileAtomic(next.key, credentials.keyPem, { mode: SECRET_FILE_MODE });
    await writeFileAtomic(next.cert, credentials.certPem, { mode: PUBLIC_FILE_MODE });
    await rename(next.key, paths.keyPath);
    await rename(next.cert, paths.certPath);
    return ok(paths);
  } catch (error) {
    return err({ kind: 'CredentialsWriteFailed', message: `cannot write node credentials in ${paths.dir}: ${describe(error)}` });
  }
}

/**
 * Reads the credentials back, checking that key and certificate belong together and that the CA
 * signed the certificate. A pair left half-renamed by a crash is completed first.
 */
export async function loadNodeCredentials(dataDir: string): Promise<Result<NodeCredentials, CredentialsError>> {
  const paths = nodeCredentialPaths(dataDir);
  const caPem = await readPem(paths.caPath);
  if (caPem === undefined) {
    return err({ kind: 'CredentialsMissing', message: `no CA in ${paths.caPath}: join the cluster with a token first` });
  }
  const pair = await currentPair(paths);
  if (!pair.ok) return pair;
  return describeCredentials(paths, caPem, pair.value.certPem, pair.value.keyPem);
}

type Pair = { readonly certPem: string; readonly keyPem: string };

async function currentPair(paths: NodeCredentialPaths): Promise<Result<Pair, CredentialsError>> {
  const next = nextPaths(paths);
  const [key, cert, nextKey, nextCert] = await Promise.all([readPem(paths.keyPath), readPem(paths.certPath), readPem(next.key), readPem(next.cert)]);
  if (key !== undefined && cert !== undefined && belongTogether(cert, key)) return ok({ certPem: cert, keyPem: key });
  // Only reached when the pair in place does not match. A crash between the two renames leaves the
  // new key in place and the new certificate beside it; a crash before them on a first join leaves
  // the new pair alone beside nothing. (A crash before them on a rotation leaves the old pair, which
  // matches and was used above; the next rotation overwrites the leftovers.)
  try {
    if (nextKey !== undefined && nextCert !== undefined && belongTogether(nextCert, nextKey)) {
      await rename(next.key, paths.keyPath);
      await rename(next.cert, paths.certPath);
      return ok({ certPem: nextCert, keyPem: nextKey });
    }
    if (key !== undefined && nextCert !== undefined && belongTogether(nextCert, key)) {
      await rename(next.cert, paths.certPath);
      return ok({ certPem: nextCert, keyPem: key });
    }
  } catch (error) {
    return err({ kind: 'CredentialsWriteFailed', message: `cannot finish an interrupted rotation in ${paths.dir}: ${describe(error)}` });
  }
  if (key === undefined && cert === undefined) {
    return err({ kind: 'CredentialsMissing', message: `no node key and certificate in ${paths.dir}: join the cluster with a token first` });
  }
  return err({ kind: 'CredentialsUnusable', message: `${paths.keyPath} and ${paths.certPath} do not form a key pair; join again with a token` });
}

function describeCredentials(paths: NodeCredentialPaths, caPem: string, certPem: string, keyPem: string): Result<NodeCredentials, CredentialsError> {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
    cert = new X509Certificate(certPem);
  } catch (error) {
    return err({ kind: 'CredentialsUnusable', message: `unreadable certificate in ${paths.dir}: ${describe(error)}` });
  }
  if (!cert.verify(ca.publicKey)) {
    return err({ kind: 'CredentialsUnusable', message: `${paths.certPath} is not signed by the pinned CA ${paths.caPath}; join again with a token` });
  }
  const parsed = new x509.X509Certificate(cert.raw);
  const [commonName = ''] = parsed.subjectName.getField('CN');
  if (!commonName.startsWith(NODE_COMMON_NAME_PREFIX)) {
    return err({ kind: 'CredentialsUnusable', message: `${paths.certPath} is not a node certificate (CN ${commonName})` });
  }
  const notBeforeMs = parsed.notBefore.getTime();
  const notAfterMs = parsed.notAfter.getTime();
  return ok({
    paths,
    caPem,
    certPem,
    keyPem,
    nodeName: commonName.slice(NODE_COMMON_NAME_PREFIX.length),
    notBeforeMs,
    notAfterMs,
    ...rotationWindow(notBeforeMs, notAfterMs),
  });
}

function nextPaths(paths: NodeCredentialPaths): { readonly key: string; readonly cert: string } {
  return { key: join(paths.dir, FILE_NAMES.nextKey), cert: join(paths.dir, FILE_NAMES.nextCert) };
}

function belongTogether(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey({ key: keyPem, format: 'pem' }));
  } catch {
    return false;
  }
}

async function readPem(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, { encoding: 'utf8' });
    return text.length <= PEM_FILE_CHARS_MAX ? text : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
