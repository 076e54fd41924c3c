// The cluster's PKI kept in one folder: a long-lived CA that is created once and then only reused,
// and an API server certificate that is re-issued whenever it no longer fits (hosts, expiry, CA).
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { type Clock, type Result, assertNever, err, invariant, ok, systemClock } from '../../kernel/index.js';
import { PUBLIC_FILE_MODE, SECRET_FILE_MODE, writeFileAtomic } from './atomic-file.fs.js';
import {
  type HostName,
  type IssuedCertificate,
  type SigningAuthority,
  importSigningKey,
  issueCaCertificate,
  issueLeafCertificate,
} from './certificate.issue.js';
import { x509 } from './x509.setup.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export const CA_COMMON_NAME = 'edgehive-ca';
export const SERVER_COMMON_NAME = 'edgehive-apiserver';
export const CA_VALIDITY_DAYS = 3650;
export const SERVER_CERT_VALIDITY_DAYS = 365;
/** A serving certificate closer than this to its end is replaced, leaving a month to roll it out. */
export const SERVER_CERT_RENEW_BEFORE_DAYS = 30;
export const CLIENT_CERT_VALIDITY_DAYS_MAX = 3650;
export const HOSTS_MAX = 64;
const DNS_NAME_CHARS_MAX = 253;
const COMMON_NAME_CHARS_MAX = 512;
const ORGANIZATIONS_MAX = 16;
/** PKI files are a few hundred bytes; anything far larger is not one of ours. */
const PEM_FILE_CHARS_MAX = 64 * 1024;
const TOKEN_BYTES = 32;

/** File names inside the PKI folder. */
export const PKI_FILE_NAMES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
} as const;

/** Why the PKI could not be provided. Every message names the file or host at fault. */
export type PkiError =
  | { readonly kind: 'HostInvalid'; readonly host: string; readonly message: string }
  | { readonly kind: 'DirectoryUnusable'; readonly path: string; readonly message: string }
  | { readonly kind: 'CaUnreadable'; readonly path: string; readonly message: string }
  | { readonly kind: 'CaNotACertificate'; readonly path: string; readonly message: string }
  | { readonly kind: 'CaNotAnAuthority'; readonly path: string; readonly message: string }
  | { readonly kind: 'CaExpired'; readonly path: string; readonly message: string; readonly notAfter: string }
  | { readonly kind: 'CaKeyUnreadable'; readonly path: string; readonly message: string }
  | { readonly kind: 'CaKeyInvalid'; readonly path: string; readonly message: string }
  | { readonly kind: 'WriteFailed'; readonly path: string; readonly message: string };

/** Why the serving certificate was (re-)issued rather than reused. */
export type ServerCertIssueReason =
  | 'missing'
  | 'unreadable'
  | 'signedByOtherCa'
  | 'hostsNotCovered'
  | 'expiresSoon'
  | 'notYetValid';

export type CaOutcome = { readonly status: 'created' } | { readonly status: 'reused' };
export type ServerCertOutcome =
  | { readonly status: 'reused' }
  | { readonly status: 'issued'; readonly reason: ServerCertIssueReason };

/** The cluster's CA and the API server's serving certificate, as files and as PEM. */
export interface ClusterPki {
  readonly caPem: string;
  readonly caPath: string;
  readonly caKeyPath: string;
  /** SHA-256 of the CA certificate, colon-separated hex as Node's `fingerprint256`. */
  readonly caFingerprintSha256: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  readonly serverCertNotAfterMs: number;
  /** What this call did, for the log line at start-up. */
  readonly ca: CaOutcome;
  readonly serverCert: ServerCertOutcome;
  /**
   * Issues a client certificate (clientAuth) signed by the CA; nothing is written to disk.
   * @example pki.issueClientCertificate(`system:node:${name}`, ['system:nodes'], 365)
   */
  issueClientCertificate(
    commonName: string,
    organizations: readonly string[],
    validityDays: number,
  ): Promise<IssuedCertificate>;
}

export interface ClusterPkiOptions {
  /** IP addresses and DNS names the API server is reached by, e.g. `['127.0.0.1', 'localhost']`. */
  readonly hosts: readonly string[];
  /** Wall time for validity periods; defaults to the system clock. */
  readonly clock?: Pick<Clock, 'nowMs'>;
}

type PkiPaths = { readonly [K in keyof typeof PKI_FILE_NAMES]: string };

type LoadedCa = {
  readonly certPem: string;
  readonly certificate: X509Certificate;
  readonly authority: SigningAuthority;
  readonly outcome: CaOutcome;
};

type ServerPair = { readonly certPem: string; readonly keyPem: string; readonly notAfterMs: number };

/**
 * Creates the PKI in `dir` on first use, and afterwards reuses the CA and re-issues the serving
 * certificate only when it no longer covers `hosts`, expires within 30 days, or was signed by
 * another CA. A damaged CA is an error, never silently replaced: replacing it would invalidate every
 * kubeconfig and node certificate handed out so far.
 * @example
 * const pki = await ensureClusterPki(join(stateDir, 'pki'), { hosts: ['127.0.0.1', 'localhost'] });
 * if (!pki.ok) return fail(pki.error.message);
 * https.createServer({ cert: pki.value.serverCertPem, key: pki.value.serverKeyPem }, app);
 */
export async function ensureClusterPki(
  dir: string,
  options: ClusterPkiOptions,
): Promise<Result<ClusterPki, PkiError>> {
  const hosts = parseHosts(options.hosts);
  if (!hosts.ok) return hosts;
  const clock = options.clock ?? systemClock;
  const paths = pkiPaths(dir);
  const directory = await makePrivateDirectory(dir);
  if (!directory.ok) return directory;
  // One reading of the clock, so the CA and the serving certificate agree on what "now" is.
  const nowMs = clock.nowMs();
  const ca = await loadOrCreateCa(paths, nowMs);
  if (!ca.ok) return ca;
  const server = await ensureServerCertificate(paths, ca.value, hosts.value, nowMs);
  if (!server.ok) return server;
  return ok({
    caPem: ca.value.certPem,
    caPath: paths.caCert,
    caKeyPath: paths.caKey,
    caFingerprintSha256: ca.value.certificate.fingerprint256,
    serverCertPem: server.value.pair.certPem,
    serverKeyPem: server.value.pair.keyPem,
    serverCertPath: paths.serverCert,
    serverKeyPath: paths.serverKey,
    serverCertNotAfterMs: server.value.pair.notAfterMs,
    ca: ca.value.outcome,
    serverCert: server.value.outcome,
    issueClientCertificate: (commonName, organizations, validityDays) =>
      issueClientCertificate(ca.value.authority, clock, { commonName, organizations, validityDays }),
  });
}

/** A bearer token: 32 bytes from the system's CSPRNG, base64url (43 characters, no padding). */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Sorts each entry into an IP or a DNS name, rejecting anything that is neither. */
export function parseHosts(hosts: readonly string[]): Result<readonly HostName[], PkiError> {
  if (hosts.length === 0) {
    return err({ kind: 'HostInvalid', host: '', message: 'the API server certificate needs at least one host' });
  }
  if (hosts.length > HOSTS_MAX) {
    return err({ kind: 'HostInvalid', host: '', message: `at most ${HOSTS_MAX} hosts, got ${hosts.length}` });
  }
  const parsed: HostName[] = [];
  for (const host of new Set(hosts)) {
    if (isIP(host) !== 0) {
      parsed.push({ kind: 'ip', value: host });
    } else if (isDnsName(host)) {
      parsed.push({ kind: 'dns', value: host.toLowerCase() });
    } else {
      return err({ kind: 'HostInvalid', host, message: `host "${host}" is neither an IP address nor a DNS name` });
    }
  }
  return ok(parsed);
}

function isDnsName(host: string): boolean {
  if (host.length === 0 || host.length > DNS_NAME_CHARS_MAX) return false;
  return host.split('.').every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

function pkiPaths(dir: string): PkiPaths {
  return {
    caCert: join(dir, PKI_FILE_NAMES.caCert),
    caKey: join(dir, PKI_FILE_NAMES.caKey),
    serverCert: join(dir, PKI_FILE_NAMES.serverCert),
    serverKey: join(dir, PKI_FILE_NAMES.serverKey),
  };
}

async function makePrivateDirectory(dir: string): Promise<Result<void, PkiError>> {
  try {
    // 0700 because the folder holds the CA key; mode applies only to folders created here.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return ok(undefined);
  } catch (error) {
    return err({ kind: 'DirectoryUnusable', path: dir, message: `cannot create PKI folder ${dir}: ${describe(error)}` });
  }
}

async function loadOrCreateCa(paths: PkiPaths, nowMs: number): Promise<Result<LoadedCa, PkiError>> {
  // ca.crt is written last, so its presence marks a complete CA; a lone ca.key is a crash leftover.
  const certFile = await readPemFile(paths.caCert);
  switch (certFile.status) {
    case 'missing':
      return createCa(paths, nowMs);
    case 'unreadable':
      return err({
        kind: 'CaUnreadable',
        path: paths.caCert,
        message: `cannot read CA certificate ${paths.caCert}: ${certFile.message}`,
      });
    case 'read':
      return loadCa(paths, certFile.text, nowMs, { status: 'reused' });
    default:
      return assertNever(certFile);
  }
}

async function createCa(paths: PkiPaths, nowMs: number): Promise<Result<LoadedCa, PkiError>> {
  const issued = await issueCaCertificate({ commonName: CA_COMMON_NAME, validityDays: CA_VALIDITY_DAYS, nowMs });
  const written = await writePair(paths.caCert, paths.caKey, issued);
  if (!written.ok) return written;
  // Loading what was just written runs the same checks a later start will.
  return loadCa(paths, issued.certPem, nowMs, { status: 'created' });
}

async function loadCa(
  paths: PkiPaths,
  certPem: string,
  nowMs: number,
  outcome: CaOutcome,
): Promise<Result<LoadedCa, PkiError>> {
  const path = paths.caCert;
  const parsed = parseCertificate(certPem);
  if (!parsed.ok) {
    return err({ kind: 'CaNotACertificate', path, message: `${path} is not a PEM certificate: ${parsed.error}` });
  }
  const certificate = parsed.value;
  if (!certificate.ca) {
    return err({ kind: 'CaNotAnAuthority', path, message: `${path} is a certificate but not a CA (no CA:true)` });
  }
  const notAfter = new x509.X509Certificate(certificate.raw).notAfter;
  if (notAfter.getTime() <= nowMs) {
    const message = `CA certificate ${path} expired at ${notAfter.toISOString()}; remove the PKI folder to start a new CA`;
    return err({ kind: 'CaExpired', path, message, notAfter: notAfter.toISOString() });
  }
  const signingKey = await loadCaKey(paths.caKey, certificate);
  if (!signingKey.ok) return signingKey;
  const authority: SigningAuthority = {
    certificate: new x509.X509Certificate(certificate.raw),
    signingKey: signingKey.value,
    notAfterMs: notAfter.getTime(),
  };
  return ok({ certPem, certificate, authority, outcome });
}

async function loadCaKey(path: string, certificate: X509Certificate): Promise<Result<SigningAuthority['signingKey'], PkiError>> {
  const keyFile = await readPemFile(path);
  if (keyFile.status !== 'read') {
    const reason = keyFile.status === 'missing' ? 'the file is missing' : keyFile.message;
    return err({ kind: 'CaKeyUnreadable', path, message: `cannot read CA key ${path}: ${reason}` });
  }
  const key = parsePrivateKey(keyFile.text);
  if (key === undefined) {
    return err({ kind: 'CaKeyInvalid', path, message: `${path} is not a PEM private key` });
  }
  if (!certificate.checkPrivateKey(key)) {
    return err({ kind: 'CaKeyInvalid', path, message: `${path} does not belong to the CA certificate beside it` });
  }
  const signingKey = await importSigningKey(key);
  if (signingKey === undefined) {
    return err({ kind: 'CaKeyInvalid', path, message: `${path} is not an ECDSA P-256 key` });
  }
  return ok(signingKey);
}

async function ensureServerCertificate(
  paths: PkiPaths,
  ca: LoadedCa,
  hosts: readonly HostName[],
  nowMs: number,
): Promise<Result<{ pair: ServerPair; outcome: ServerCertOutcome }, PkiError>> {
  const certFile = await readPemFile(paths.serverCert);
  const keyFile = await readPemFile(paths.serverKey);
  const verdict = judgeServerCertificate(certFile, keyFile, ca.certificate, hosts, nowMs);
  if (verdict.status === 'reusable') return ok({ pair: verdict.pair, outcome: { status: 'reused' } });
  const issued = await issueLeafCertificate({
    authority: ca.authority,
    commonName: SERVER_COMMON_NAME,
    profile: { usage: 'serverAuth', hosts },
    validityDays: SERVER_CERT_VALIDITY_DAYS,
    nowMs,
  });
  const written = await writePair(paths.serverCert, paths.serverKey, issued);
  if (!written.ok) return written;
  const notAfterMs = new x509.X509Certificate(issued.certPem).notAfter.getTime();
  return ok({ pair: { ...issued, notAfterMs }, outcome: { status: 'issued', reason: verdict.reason } });
}

type ServerVerdict =
  | { readonly status: 'reusable'; readonly pair: ServerPair }
  | { readonly status: 'replace'; readonly reason: ServerCertIssueReason };

/** Decides, without I/O, whether the serving certificate on disk can stay. */
function judgeServerCertificate(
  certFile: PemFileRead,
  keyFile: PemFileRead,
  caCertificate: X509Certificate,
  hosts: readonly HostName[],
  nowMs: number,
): ServerVerdict {
  if (certFile.status === 'missing' || keyFile.status === 'missing') return { status: 'replace', reason: 'missing' };
  if (certFile.status !== 'read' || keyFile.status !== 'read') return { status: 'replace', reason: 'unreadable' };
  const certificate = parseCertificate(certFile.text);
  const key = parsePrivateKey(keyFile.text);
  if (!certificate.ok || key === undefined) return { status: 'replace', reason: 'unreadable' };
  if (!certificate.value.checkPrivateKey(key)) return { status: 'replace', reason: 'unreadable' };
  if (!isSignedBy(certificate.value, caCertificate)) return { status: 'replace', reason: 'signedByOtherCa' };
  if (!hosts.every((host) => coversHost(certificate.value, host))) {
    return { status: 'replace', reason: 'hostsNotCovered' };
  }
  const validity = new x509.X509Certificate(certificate.value.raw);
  if (validity.notBefore.getTime() > nowMs) return { status: 'replace', reason: 'notYetValid' };
  const notAfterMs = validity.notAfter.getTime();
  if (notAfterMs - nowMs <= SERVER_CERT_RENEW_BEFORE_DAYS * DAY_MS) return { status: 'replace', reason: 'expiresSoon' };
  return { status: 'reusable', pair: { certPem: certFile.text, keyPem: keyFile.text, notAfterMs } };
}

function isSignedBy(certificate: X509Certificate, caCertificate: X509Certificate): boolean {
  if (certificate.issuer !== caCertificate.subject) return false;
  return certificate.verify(caCertificate.publicKey);
}

function coversHost(certificate: X509Certificate, host: HostName): boolean {
  // Only SANs count: Go (kubectl) ignores the subject CN, so Node's CN fallback must be off.
  if (host.kind === 'ip') return certificate.checkIP(host.value) !== undefined;
  return certificate.checkHost(host.value, { subject: 'never', wildcards: false }) !== undefined;
}

async function issueClientCertificate(
  authority: SigningAuthority,
  clock: Pick<Clock, 'nowMs'>,
  request: { readonly commonName: string; readonly organizations: readonly string[]; readonly validityDays: number },
): Promise<IssuedCertificate> {
  invariant(request.commonName.length > 0, 'a client certificate names its user in the CN');
  invariant(request.commonName.length <= COMMON_NAME_CHARS_MAX, 'client certificate CN is bounded');
  invariant(request.organizations.length <= ORGANIZATIONS_MAX, 'client certificate organizations are bounded');
  invariant(request.organizations.every((organization) => organization.length > 0), 'organizations are non-empty');
  invariant(Number.isInteger(request.validityDays), 'validity is a whole number of days');
  invariant(request.validityDays >= 1, 'a client certificate is valid for at least a day');
  invariant(request.validityDays <= CLIENT_CERT_VALIDITY_DAYS_MAX, 'client certificate validity is bounded');
  return issueLeafCertificate({
    authority,
    commonName: request.commonName,
    profile: { usage: 'clientAuth', organizations: request.organizations },
    validityDays: request.validityDays,
    nowMs: clock.nowMs(),
  });
}

/** Writes the key before the certificate, so a crash in between leaves a pair that fails to match. */
async function writePair(certPath: string, keyPath: string, issued: IssuedCertificate): Promise<Result<void, PkiError>> {
  for (const [path, data, mode] of [
    [keyPath, issued.keyPem, SECRET_FILE_MODE],
    [certPath, issued.certPem, PUBLIC_FILE_MODE],
  ] as const) {
    try {
      await writeFileAtomic(path, data, { mode });
    } catch (error) {
      return err({ kind: 'WriteFailed', path, message: `cannot write ${path}: ${describe(error)}` });
    }
  }
  return ok(undefined);
}

type PemFileRead =
  | { readonly status: 'missing' }
  | { readonly status: 'unreadable'; readonly message: string }
  | { readonly status: 'read'; readonly text: string };

async function readPemFile(path: string): Promise<PemFileRead> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8' });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', message: describe(error) };
  }
  if (text.length > PEM_FILE_CHARS_MAX) {
    return { status: 'unreadable', message: `larger than ${PEM_FILE_CHARS_MAX} characters` };
  }
  return { status: 'read', text };
}

function parseCertificate(pem: string): Result<X509Certificate, string> {
  // Node also accepts DER, but these files are PEM by contract; binary content is not ours.
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return err('no "BEGIN CERTIFICATE" block');
  try {
    return ok(new X509Certificate(pem));
  } catch (error) {
    return err(describe(error));
  }
}

function parsePrivateKey(pem: string): KeyObject | undefined {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
