// Joining and renewing over real HTTPS on 127.0.0.1. Method: a test cloud per test (real PKI in a
// temp folder, file token store, bootstrap server on a free port); the edge side runs the exported
// functions against it, and hostile requests are sent raw with node:https to see each status and
// error kind exactly as an edge would. Certificates are read back with Node's X509Certificate.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { x509 } from '../../k8s/tls/x509.setup.js';
import { BOOTSTRAP_PATHS, BOOTSTRAP_REQUEST_BYTES_MAX } from './node-bootstrap.js';
import { createNodeCsr, generateNodeKeys, joinCluster, renewNodeCertificate } from './node-bootstrap.edge.js';
import { NODE_CERT_VALIDITY_DAYS } from './node-certificate.signer.js';
import { loadNodeCredentials, nodeCredentialPaths } from './node-credentials.fs.js';
import { type TestCloud, expectOk, startTestCloud } from './security.testing.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

let cloud: TestCloud;
let edgeDir: string;
const extraClouds: TestCloud[] = [];

beforeEach(async () => {
  cloud = await startTestCloud();
  edgeDir = await mkdtemp(join(tmpdir(), 'edgehive-edge-'));
});

afterEach(async () => {
  await Promise.all([cloud.close(), ...extraClouds.splice(0).map((other) => other.close())]);
  await rm(edgeDir, { recursive: true, force: true });
});

type Answer = { status: number; body: { error?: { kind: string; message: string } } & Record<string, unknown> };

/** A raw POST to the cloud, trusting its CA, optionally with a client certificate. */
function post(path: string, body: string, tls: { cert?: string; key?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      new URL(path, cloud.bootstrap.url),
      { method: 'POST', ca: cloud.pki.caPem, agent: false, headers: { 'content-type': 'application/json' }, ...tls },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function csrFor(nodeName: string): Promise<string> {
  return createNodeCsr(nodeName, await generateNodeKeys());
}

async function joined(nodeName = 'edge-a'): Promise<void> {
  expectOk(await joinCluster({ cloudUrl: cloud.bootstrap.url, token: await cloud.createToken(), nodeName, dataDir: edgeDir }), 'join');
}

describe('joinCluster with a valid token', () => {
  it('writes the pinned CA, a 0600 key and a one-year clientAuth certificate for system:node:<name>', async () => {
    const result = expectOk(await joinCluster({ cloudUrl: cloud.bootstrap.url, token: await cloud.createToken(), nodeName: 'edge-a', dataDir: edgeDir }), 'join');
    const paths = nodeCredentialPaths(edgeDir);
    expect(result.paths).toEqual(paths);
    expect((await stat(paths.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(paths.caPath, 'utf8')).toBe(cloud.pki.caPem);
    const certPem = await readFile(paths.certPath, 'utf8');
    const cert = new X509Certificate(certPem);
    expect(cert.verify(new X509Certificate(cloud.pki.caPem).publicKey)).toBe(true);
    expect(cert.subject.split('\n').sort()).toEqual(['CN=system:node:edge-a', 'O=system:nodes']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.ca).toBe(false);
    const lifetimeDays = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS;
    expect(Math.round(lifetimeDays)).toBe(NODE_CERT_VALIDITY_DAYS);
    // The rotation hint sits at 70–90 % of the lifetime.
    expect(result.rotateAfterMs).toBeGreaterThan(Date.parse(cert.validFrom) + 0.69 * lifetimeDays * DAY_MS);
    expect(result.rotateBeforeMs).toBeLessThan(Date.parse(cert.validTo) - 0.09 * lifetimeDays * DAY_MS);
    expect(result.notAfterMs).toBe(Date.parse(cert.validTo));
    expect(cloud.audit).toEqual([expect.objectContaining({ outcome: 'issued', route: 'join', nodeName: 'edge-a' })]);
  });

  it('keeps the private key on the edge: the cloud only ever saw the CSR', async () => {
    await joined();
    const creds = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    expect(creds.nodeName).toBe('edge-a');
    expect(JSON.stringify(cloud.audit)).not.toContain('PRIVATE KEY');
    expect(new X509Certificate(creds.certPem).checkPrivateKey(createPrivateKey(creds.keyPem))).toBe(true);
  });
});

describe('joinCluster refuses', () => {
  it('a missing token before contacting the cloud', async () => {
    const result = await joinCluster({ cloudUrl: cloud.bootstrap.url, token: '', nodeName: 'edge-a', dataDir: edgeDir });
    expect(result).toMatchObject({ ok: false, error: { kind: 'TokenMalformed', message: 'no join token given' } });
    expect(cloud.audit).toEqual([]);
  });

  it('an expired token with 401 TokenExpired and nothing written', async () => {
    const token = await cloud.createToken({ nowMs: Date.now() - 2 * HOUR_MS, ttlMs: HOUR_MS });
    const result = await joinCluster({ cloudUrl: cloud.bootstrap.url, token, nodeName: 'edge-a', dataDir: edgeDir });
    expect(result).toMatchObject({ ok: false, error: { kind: 'Refused', status: 401, cloudKind: 'TokenExpired' } });
    expect(result.ok ? '' : result.error.message).toMatch(/expired at .*create a new one/);
    expect((await loadNodeCredentials(edgeDir)).ok).toBe(false);
  });

  it('an unknown token with 401 TokenUnknown', async () => {
    const forged = `zzzzzz.${'a'.repeat(32)}.${cloud.tokens.caSha256}`;
    const result = await joinCluster({ cloudUrl: cloud.bootstrap.url, token: forged, nodeName: 'edge-a', dataDir: edgeDir });
    expect(result).toMatchObject({ ok: false, error: { kind: 'Refused', status: 401, cloudKind: 'TokenUnknown' } });
    expect(result.ok ? '' : result.error.message).toContain('zzzzzz is not known to this cloud');
  });

  it('a cloud whose CA does not match the token, without ever sending it the token', async () => {
    const impostor = await startTestCloud();
    extraClouds.push(impostor);
    const token = await cloud.createToken();
    const result = await joinCluster({ cloudUrl: impostor.bootstrap.url, token, nodeName: 'edge-a', dataDir: edgeDir });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaHashMismatch', pinned: cloud.tokens.caSha256, presented: impostor.tokens.caSha256 } });
    expect(result.ok ? '' : result.error.message).toContain('token not sent');
    expect(impostor.audit).toEqual([]);
  });

  it('a node name that is not a DNS-1123 subdomain, locally', async () => {
    const result = await joinCluster({ cloudUrl: cloud.bootstrap.url, token: await cloud.createToken(), nodeName: 'Edge_A', dataDir: edgeDir });
    expect(result.ok ? 'joined' : result.error.kind).toBe('NodeNameInvalid');
  });
});

describe('POST /edgehive/v1/join refuses', () => {
  it('a body without a token with 401 TokenMalformed', async () => {
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ nodeName: 'edge-a', csrPem: await csrFor('edge-a') }));
    expect(answer).toEqual({ status: 401, body: { error: { kind: 'TokenMalformed', message: 'no join token given' } } });
  });

  it('a CSR for another node than the one named with 403 NodeNameMismatch', async () => {
    const token = await cloud.createToken();
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ token, nodeName: 'edge-b', csrPem: await csrFor('edge-a') }));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toEqual({ kind: 'NodeNameMismatch', message: 'the CSR subject CN must be "system:node:edge-b", got "system:node:edge-a"' });
  });

  it('an invalid node name with 400 NodeNameInvalid', async () => {
    const token = await cloud.createToken();
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ token, nodeName: 'Edge_A', csrPem: await csrFor('edge-a') }));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.kind).toBe('NodeNameInvalid');
  });

  it('text that is not a CSR with 400 CsrMalformed', async () => {
    const token = await cloud.createToken();
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ token, nodeName: 'edge-a', csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' }));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.kind).toBe('CsrMalformed');
  });

  it('a CSR whose signature was tampered with with 400 CsrSignatureInvalid', async () => {
    const token = await cloud.createToken();
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(await csrFor('edge-a')).rawData);
    const last = der.length - 1;
    der[last] = (der[last] ?? 0) ^ 0x01;
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ token, nodeName: 'edge-a', csrPem: tampered }));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.kind).toBe('CsrSignatureInvalid');
  });

  it('a CSR asking for system:masters with 403 CsrOrganizationRefused', async () => {
    const token = await cloud.createToken();
    const keys = await generateNodeKeys();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ O: ['system:masters'] }, { CN: ['system:node:edge-a'] }],
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const answer = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ token, nodeName: 'edge-a', csrPem: csr.toString('pem') }));
    expect(answer.status).toBe(403);
    expect(answer.body.error?.kind).toBe('CsrOrganizationRefused');
  });

  it('a body that is not JSON with 400, and one over the limit with 413', async () => {
    expect((await post(BOOTSTRAP_PATHS.join, 'not json')).body.error?.kind).toBe('RequestMalformed');
    const huge = await post(BOOTSTRAP_PATHS.join, JSON.stringify({ pad: 'x'.repeat(BOOTSTRAP_REQUEST_BYTES_MAX) }));
    expect(huge).toMatchObject({ status: 413, body: { error: { kind: 'RequestTooLarge' } } });
  });

  it('a chunked body without a length that grows past the limit with 413', async () => {
    const answer = await new Promise<{ status: number; kind: unknown }>((resolve, reject) => {
      const outgoing = request(new URL(BOOTSTRAP_PATHS.join, cloud.bootstrap.url), { method: 'POST', ca: cloud.pki.caPem, agent: false, headers: { 'transfer-encoding': 'chunked' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, kind: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body']).error?.kind }));
      });
      outgoing.on('error', reject);
      // Written in pieces, so the server sees the size only while reading.
      const piece = 'x'.repeat(16 * 1024);
      for (let written = 0; written <= BOOTSTRAP_REQUEST_BYTES_MAX; written += piece.length) outgoing.write(piece);
    });
    expect(answer).toEqual({ status: 413, kind: 'RequestTooLarge' });
  });
});

describe('renewNodeCertificate', () => {
  it('gets a new certificate for a new key with the current certificate, no token needed', async () => {
    await joined();
    const before = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    const renewed = expectOk(await renewNodeCertificate({ cloudUrl: cloud.bootstrap.url, dataDir: edgeDir }), 'renewal');
    const after = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    expect(renewed.nodeName).toBe('edge-a');
    expect(after.nodeName).toBe('edge-a');
    expect(after.keyPem).not.toBe(before.keyPem);
    expect(new X509Certificate(after.certPem).serialNumber).not.toBe(new X509Certificate(before.certPem).serialNumber);
    expect((await stat(after.paths.keyPath)).mode & 0o777).toBe(0o600);
    expect(cloud.audit.map((entry) => `${entry.outcome}:${entry.route}`)).toEqual(['issued:join', 'issued:renew']);
  });

  it('is refused with 401 without a client certificate', async () => {
    const answer = await post(BOOTSTRAP_PATHS.renew, JSON.stringify({ csrPem: await csrFor('edge-a') }));
    expect(answer).toMatchObject({ status: 401, body: { error: { kind: 'ClientCertificateMissing' } } });
  });

  it('is refused with 401 for a node certificate from another CA', async () => {
    const other = await startTestCloud();
    extraClouds.push(other);
    const foreign = await other.pki.issueClientCertificate('system:node:edge-a', ['system:nodes'], 1);
    const answer = await post(BOOTSTRAP_PATHS.renew, JSON.stringify({ csrPem: await csrFor('edge-a') }), { cert: foreign.certPem, key: foreign.keyPem });
    expect(answer).toMatchObject({ status: 401, body: { error: { kind: 'ClientCertificateUntrusted' } } });
  });

  it('is refused with 403 when node A asks for node B', async () => {
    await joined();
    const creds = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    const tls = { cert: creds.certPem, key: creds.keyPem };
    const named = await post(BOOTSTRAP_PATHS.renew, JSON.stringify({ nodeName: 'edge-b', csrPem: await csrFor('edge-b') }), tls);
    expect(named).toMatchObject({ status: 403, body: { error: { kind: 'NodeNameMismatch' } } });
    const csrOnly = await post(BOOTSTRAP_PATHS.renew, JSON.stringify({ csrPem: await csrFor('edge-b') }), tls);
    expect(csrOnly).toMatchObject({ status: 403, body: { error: { kind: 'NodeNameMismatch' } } });
  });
});

describe('node credentials on disk', () => {
  it('finish a rotation interrupted between the key and the certificate rename', async () => {
    await joined();
    const paths = nodeCredentialPaths(edgeDir);
    const first = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    // Recreate the state a crash leaves after the key's rename but before the certificate's: the
    // new key in place, the new certificate still beside it, the old certificate in place.
    expectOk(await renewNodeCertificate({ cloudUrl: cloud.bootstrap.url, dataDir: edgeDir }), 'renewal');
    const renewedCertPem = await readFile(paths.certPath, 'utf8');
    await rename(paths.certPath, join(paths.dir, 'node.next.crt'));
    await writeFile(paths.certPath, first.certPem);
    const recovered = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    expect(recovered.certPem).toBe(renewedCertPem);
    expect(recovered.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(recovered.certPem).checkPrivateKey(createPrivateKey(recovered.keyPem))).toBe(true);
    expect(await readFile(paths.certPath, 'utf8')).toBe(recovered.certPem);
  });

  it('name the CA by the same hash the token pins', async () => {
    await joined();
    const creds = expectOk(await loadNodeCredentials(edgeDir), 'credentials');
    expect(createHash('sha256').update(new X509Certificate(creds.caPem).raw).digest('hex')).toBe(cloud.tokens.caSha256);
  });
});
