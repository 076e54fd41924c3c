// Issues the cluster's certificates (a self-signed CA, the API server's serving certificate and client
// certificates) as PEM, with ECDSA P-256 keys; the caller decides when, and passes the time in.
import { KeyObject, webcrypto } from 'node:crypto';
import { assertNever, invariant } from '../../kernel/index.js';
import { x509 } from './x509.setup.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How far `notBefore` lies before the issuing moment. Edge nodes often boot with a clock that lags
 * the server's by a few minutes; a certificate that is "not yet valid" there would fail the join.
 */
export const NOT_BEFORE_BACKDATE_MS = 5 * 60 * 1000;

const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A certificate and its private key, both PEM (the key as PKCS #8 `PRIVATE KEY`). */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** The CA as needed for signing: its parsed certificate and a signing handle to its key. */
export interface SigningAuthority {
  readonly certificate: x509.X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
  readonly notAfterMs: number;
}

/** A subject alternative name of the serving certificate. */
export type HostName = { readonly kind: 'ip'; readonly value: string } | { readonly kind: 'dns'; readonly value: string };

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable, because the private key is written to disk next to its certificate.
  return webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

function privateKeyPem(key: webcrypto.CryptoKey): string {
  const pem = KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' });
  invariant(typeof pem === 'string', 'a PEM export is a string');
  return pem;
}

/**
 * Turns a PEM private key into a WebCrypto signing key. Returns undefined when the key is not an
 * ECDSA P-256 key, the only kind this PKI creates and signs with.
 */
export async function importSigningKey(key: KeyObject): Promise<webcrypto.CryptoKey | undefined> {
  if (key.type !== 'private') return undefined;
  if (key.asymmetricKeyType !== 'ec') return undefined;
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, EC_KEY_ALGORITHM, false, ['sign']);
}

/** A self-signed CA certificate: CA:true, keyCertSign and cRLSign, `validityDays` from `nowMs`. */
export async function issueCaCertificate(params: {
  readonly commonName: string;
  readonly validityDays: number;
  readonly nowMs: number;
}): Promise<IssuedCertificate> {
  invariant(params.commonName.length > 0, 'a CA has a common name');
  invariant(params.validityDays > 0, 'a CA is valid for some time');
  const keys = await generateKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [params.commonName] }],
    keys,
    notBefore: new Date(params.nowMs - NOT_BEFORE_BACKDATE_MS),
    notAfter: new Date(params.nowMs + params.validityDays * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: privateKeyPem(keys.privateKey) };
}

/** A leaf certificate's purpose: what its extended key usage says and which names it carries. */
export type LeafProfile =
  | { readonly usage: 'serverAuth'; readonly hosts: readonly HostName[] }
  | { readonly usage: 'clientAuth'; readonly organizations: readonly string[] };

/**
 * A leaf certificate signed by `authority`. Its validity never outlasts the CA's, because a
 * verifier rejects a chain as soon as any member has expired.
 */
export async function issueLeafCertificate(params: {
  readonly authority: SigningAuthority;
  readonly commonName: string;
  readonly profile: LeafProfile;
  readonly validityDays: number;
  readonly nowMs: number;
}): Promise<IssuedCertificate> {
  invariant(params.commonName.length > 0, 'a leaf certificate has a common name');
  invariant(params.validityDays > 0, 'a leaf certificate is valid for some time');
  const keys = await generateKeyPair();
  const notAfterMs = Math.min(params.nowMs + params.validityDays * DAY_MS, params.authority.notAfterMs);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: subjectName(params.commonName, params.profile),
    issuer: params.authority.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: params.authority.signingKey,
    notBefore: new Date(params.nowMs - NOT_BEFORE_BACKDATE_MS),
    notAfter: new Date(notAfterMs),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(params.authority.certificate.publicKey),
      ...profileExtensions(params.profile),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: privateKeyPem(keys.privateKey) };
}

function subjectName(commonName: string, profile: LeafProfile): x509.JsonName {
  // One RDN per organization: Kubernetes reads every O, and separate RDNs print as `O=a, O=b`
  // rather than the multi-valued `O=a + O=b`.
  const organizations = profile.usage === 'clientAuth' ? profile.organizations : [];
  return [...organizations.map((organization) => ({ O: [organization] })), { CN: [commonName] }];
}

function profileExtensions(profile: LeafProfile): x509.Extension[] {
  switch (profile.usage) {
    case 'serverAuth':
      return [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(profile.hosts.map((host) => ({ type: host.kind, value: host.value }))),
      ];
    case 'clientAuth':
      return [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])];
    default:
      return assertNever(profile);
  }
}
