// Turns an edge's PKCS #10 request into its client certificate, signed by the cluster CA. The cloud
// takes only the public key from the request: subject, usages and validity are decided here, so a
// request asking for more (another node, system:masters, serverAuth) gets nothing more.
import { createPrivateKey, createPublicKey, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Clock, type Result, err, invariant, ok, systemClock } from '../../kernel/index.js';
import { NOT_BEFORE_BACKDATE_MS, importSigningKey } from '../../k8s/index.js';
import { x509 } from '../../k8s/index.js';
import { isObjectName } from '../frames/resource.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** KubeEdge's `edgeCertSigningDuration`: a node certificate is valid for a year. */
export const NODE_CERT_VALIDITY_DAYS = 365;
/** The share of a certificate's life after which an edge should rotate it, and the share before which it must have (KubeEdge: 70–90 %, jittered). */
export const NODE_CERT_ROTATE_AFTER_SHARE = 0.7;
export const NODE_CERT_ROTATE_BEFORE_SHARE = 0.9;
/** The group every node certificate carries, as Kubernetes' node authorizer expects. */
export const NODE_ORGANIZATION = 'system:nodes';
/** The CN prefix of a node's identity. */
export const NODE_COMMON_NAME_PREFIX = 'system:node:';
/** A CSR for a P-256 key is under 1 KiB of PEM; far larger is not one of ours. */
export const CSR_PEM_CHARS_MAX = 16 * 1024;
const RSA_BITS_MIN = 2048;
const RSA_BITS_MAX = 4096;
const CA_KEY_FILE_CHARS_MAX = 64 * 1024;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CSR_PEM_HEADER = '-----BEGIN CERTIFICATE REQUEST-----';

/** The identity a node's certificate names. */
export const nodeCommonName = (nodeName: string): string => `${NODE_COMMON_NAME_PREFIX}${nodeName}`;

/** True for a node name Kubernetes accepts: a DNS-1123 subdomain of at most 253 characters. */
export const isNodeName = (name: string): boolean => isObjectName(name);

/** Why a CSR was refused; `status` is the HTTP status the bootstrap endpoint answers with. */
export type CsrRefusal =
  | { readonly kind: 'NodeNameInvalid'; readonly status: 400; readonly message: string }
  | { readonly kind: 'CsrMalformed'; readonly status: 400; readonly message: string }
  | { readonly kind: 'CsrSignatureInvalid'; readonly status: 400; readonly message: string }
  | { readonly kind: 'CsrKeyUnsupported'; readonly status: 400; readonly message: string }
  | { readonly kind: 'NodeNameMismatch'; readonly status: 403; readonly message: string }
  | { readonly kind: 'CsrOrganizationRefused'; readonly status: 403; readonly message: string };

/** A CSR that passed every check: its proven public key, for the node it names. */
export interface CheckedNodeCsr {
  readonly nodeName: string;
  readonly publicKey: x509.PublicKey;
}

/** A signed node certificate and when to rotate it. */
export interface SignedNodeCertificate {
  readonly certPem: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** Rotating earlier than this wastes the certificate; an edge picks a jittered moment in [rotateAfterMs, rotateBeforeMs]. */
  readonly rotateAfterMs: number;
  /** Past this, the edge should already have rotated: it leaves a tenth of the lifetime for retries. */
  readonly rotateBeforeMs: number;
}

/** Signs checked CSRs with the cluster CA. */
export interface NodeCertificateSigner {
  readonly caPem: string;
  sign(csr: CheckedNodeCsr): Promise<SignedNodeCertificate>;
}

export type SignerLoadError = { readonly kind: 'CaKeyUnusable'; readonly message: string };

/**
 * Loads the cluster CA (as `ensureClusterPki` left it) for signing node certificates.
 * @example const signer = await loadNodeCertificateSigner({ caPem: pki.caPem, caKeyPath: pki.caKeyPath });
 */
export async function loadNodeCertificateSigner(
  ca: { readonly caPem: string; readonly caKeyPath: string },
  clock: Pick<Clock, 'nowMs'> = systemClock,
): Promise<Result<NodeCertificateSigner, SignerLoadError>> {
  let keyText: string;
  try {
    keyText = await readFile(ca.caKeyPath, { encoding: 'utf8' });
  } catch (error) {
    return err({ kind: 'CaKeyUnusable', message: `cannot read CA key ${ca.caKeyPath}: ${describe(error)}` });
  }
  if (keyText.length > CA_KEY_FILE_CHARS_MAX) return err({ kind: 'CaKeyUnusable', message: `${ca.caKeyPath} is too large to be a key` });
  let signingKey: webcrypto.CryptoKey | undefined;
  try {
    signingKey = await importSigningKey(createPrivateKey({ key: keyText, format: 'pem' }));
  } catch (error) {
    return err({ kind: 'CaKeyUnusable', message: `${ca.caKeyPath} is not a PEM private key: ${describe(error)}` });
  }
  if (signingKey === undefined) return err({ kind: 'CaKeyUnusable', message: `${ca.caKeyPath} is not an ECDSA P-256 key` });
  const authority = new x509.X509Certificate(ca.caPem);
  const key = signingKey;
  return ok({ caPem: ca.caPem, sign: (csr) => signNodeCertificate(authority, key, csr, clock.nowMs()) });
}

/**
 * Checks a PEM CSR for `nodeName`: the name is a DNS-1123 subdomain, the CSR parses, its signature
 * proves possession of the key, the key is ECDSA P-256/P-384 or RSA 2048–4096, its subject CN is
 * exactly `system:node:<nodeName>`, and it asks for no organization but `system:nodes`.
 */
export async function checkNodeCsr(csrPem: string, nodeName: string): Promise<Result<CheckedNodeCsr, CsrRefusal>> {
  if (!isNodeName(nodeName)) {
    return err({ kind: 'NodeNameInvalid', status: 400, message: `node name "${printable(nodeName)}" is not a DNS-1123 subdomain (lowercase a-z, 0-9, '-', '.'; at most 253)` });
  }
  const parsed = parseCsr(csrPem);
  if (!parsed.ok) return parsed;
  const csr = parsed.value;
  if (!(await verifiesItself(csr))) {
    return err({ kind: 'CsrSignatureInvalid', status: 400, message: 'the CSR signature does not verify with its own public key' });
  }
  const keyProblem = describeKeyProblem(csr.publicKey);
  if (keyProblem !== undefined) return err({ kind: 'CsrKeyUnsupported', status: 400, message: keyProblem });
  const expected = nodeCommonName(nodeName);
  const commonNames = csr.subjectName.getField('CN');
  if (commonNames.length !== 1 || commonNames[0] !== expected) {
    const asked = commonNames.map((name) => `"${printable(name)}"`).join(', ') || 'none';
    return err({ kind: 'NodeNameMismatch', status: 403, message: `the CSR subject CN must be "${expected}", got ${asked}` });
  }
  const organizations = csr.subjectName.getField('O');
  if (organizations.some((organization) => organization !== NODE_ORGANIZATION)) {
    return err({ kind: 'CsrOrganizationRefused', status: 403, message: `a node certificate carries only O=${NODE_ORGANIZATION}; the CSR asks for more` });
  }
  return ok({ nodeName, publicKey: csr.publicKey });
}

/** The rotation window of a certificate valid from `notBeforeMs` to `notAfterMs`. */
export function rotationWindow(notBeforeMs: number, notAfterMs: number): { readonly rotateAfterMs: number; readonly rotateBeforeMs: number } {
  invariant(notAfterMs > notBeforeMs, 'a certificate ends after it begins');
  const lifetimeMs = notAfterMs - notBeforeMs;
  return {
    rotateAfterMs: notBeforeMs + Math.floor(lifetimeMs * NODE_CERT_ROTATE_AFTER_SHARE),
    rotateBeforeMs: notBeforeMs + Math.floor(lifetimeMs * NODE_CERT_ROTATE_BEFORE_SHARE),
  };
}

/**
 * When to rotate, given a uniform draw `random01` in [0, 1): jitter spreads a fleet joined on one
 * day over a fifth of the lifetime, so a thousand edges do not renew in the same second.
 */
export function nextRotationAtMs(window: { readonly rotateAfterMs: number; readonly rotateBeforeMs: number }, random01: number): number {
  invariant(random01 >= 0, 'a uniform draw is not negative');
  invariant(random01 < 1, 'a uniform draw is below 1');
  return window.rotateAfterMs + Math.floor((window.rotateBeforeMs - window.rotateAfterMs) * random01);
}

async function signNodeCertificate(
  authority: x509.X509Certificate,
  signingKey: webcrypto.CryptoKey,
  csr: CheckedNodeCsr,
  nowMs: number,
): Promise<SignedNodeCertificate> {
  const notBeforeMs = nowMs - NOT_BEFORE_BACKDATE_MS;
  // Never beyond the CA: a verifier rejects the chain once any member has expired.
  const notAfterMs = Math.min(nowMs + NODE_CERT_VALIDITY_DAYS * DAY_MS, authority.notAfter.getTime());
  const certificate = await x509.X509CertificateGenerator.create({
    subject: [{ O: [NODE_ORGANIZATION] }, { CN: [nodeCommonName(csr.nodeName)] }],
    issuer: authority.subjectName,
    publicKey: csr.publicKey,
    signingKey,
    notBefore: new Date(notBeforeMs),
    notAfter: new Date(notAfterMs),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.publicKey),
    ],
  });
  // X.509 keeps whole seconds: read the dates back so the hints match what verifiers see.
  const issuedNotBeforeMs = certificate.notBefore.getTime();
  const issuedNotAfterMs = certificate.notAfter.getTime();
  return {
    certPem: certificate.toString('pem'),
    notBeforeMs: issuedNotBeforeMs,
    notAfterMs: issuedNotAfterMs,
    ...rotationWindow(issuedNotBeforeMs, issuedNotAfterMs),
  };
}

function parseCsr(csrPem: string): Result<x509.Pkcs10CertificateRequest, CsrRefusal> {
  if (csrPem.length > CSR_PEM_CHARS_MAX) {
    return err({ kind: 'CsrMalformed', status: 400, message: `the CSR is longer than ${CSR_PEM_CHARS_MAX} characters` });
  }
  // The parser also takes DER, hex and base64; the wire contract is PEM, so nothing else gets that far.
  if (!csrPem.trimStart().startsWith(CSR_PEM_HEADER)) {
    return err({ kind: 'CsrMalformed', status: 400, message: `csrPem must be a PEM block starting with ${CSR_PEM_HEADER}` });
  }
  try {
    return ok(new x509.Pkcs10CertificateRequest(csrPem));
  } catch (error) {
    return err({ kind: 'CsrMalformed', status: 400, message: `csrPem is not a PKCS #10 request: ${describe(error)}` });
  }
}

async function verifiesItself(csr: x509.Pkcs10CertificateRequest): Promise<boolean> {
  try {
    return await csr.verify();
  } catch {
    // An unsupported or garbled signature algorithm is, for us, a signature that does not verify.
    return false;
  }
}

function describeKeyProblem(publicKey: x509.PublicKey): string | undefined {
  let details;
  try {
    details = createPublicKey({ key: Buffer.from(publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    return 'the CSR public key cannot be read';
  }
  const curve = details.asymmetricKeyDetails?.namedCurve;
  const bits = details.asymmetricKeyDetails?.modulusLength ?? 0;
  if (details.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) return undefined;
  if (details.asymmetricKeyType === 'rsa' && bits >= RSA_BITS_MIN && bits <= RSA_BITS_MAX) return undefined;
  return `the CSR key must be ECDSA P-256/P-384 or RSA ${RSA_BITS_MIN}-${RSA_BITS_MAX} bits, got ${details.asymmetricKeyType ?? 'unknown'}${curve === undefined ? (bits > 0 ? ` ${bits} bits` : '') : ` ${curve}`}`;
}

/** Keeps a peer's text out of messages unless it is plain printable ASCII, and bounded. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length <= 80 ? clean : `${clean.slice(0, 77)}...`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
