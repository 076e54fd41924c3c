// Method: each test gets a fresh temp folder and calls ensureClusterPki against real files; certificate
// contents are read back with Node's X509Certificate, and trust is proved by real verifiers: Node TLS
// with requestCert for client certificates, and the real kubectl (Go's crypto/x509) for host names.
import { once } from 'node:events';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../kernel/index.js';
import { type ClusterPki, ensureClusterPki, generateToken } from './cluster-pki.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.fixture.js';
import { ChildProcesses, requireKubectl } from './kubectl.fixture.js';
import { writeKubeconfig } from './kubeconfig.js';
import { x509 } from './x509.setup.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOSTS = ['127.0.0.1', 'localhost'] as const;

let dir: string;
const children = new ChildProcesses();
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgehive-pki-'));
});

afterEach(async () => {
  children.killAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function pkiIn(
  folder: string,
  hosts: readonly string[],
  clock?: { nowMs(): number },
): Promise<ClusterPki> {
  const result = await ensureClusterPki(folder, clock === undefined ? { hosts } : { hosts, clock });
  if (!result.ok) throw new Error(`expected a PKI, got ${result.error.kind}: ${result.error.message}`);
  return result.value;
}

const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

function keyUsageFlags(pem: string): number | undefined {
  return new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension)?.usages;
}

describe('a fresh folder', () => {
  it('gets a P-256 CA and a server certificate signed by it, for exactly the hosts asked', async () => {
    const pki = await pkiIn(join(dir, 'pki'), HOSTS);
    expect(pki.ca).toEqual({ status: 'created' });
    expect(pki.serverCert).toEqual({ status: 'issued', reason: 'missing' });

    const ca = new X509Certificate(pki.caPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=edgehive-ca');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(keyUsageFlags(pki.caPem)).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const caYears = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365 * DAY_MS);
    expect(caYears).toBeGreaterThan(9.99);
    expect(caYears).toBeLessThan(10.01);

    const server = new X509Certificate(pki.serverCertPem);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.issuer).toBe('CN=edgehive-ca');
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(keyUsageFlags(pki.serverCertPem)).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(server.checkPrivateKey(createPrivateKey(pki.serverKeyPem))).toBe(true);
    const serverDays = (pki.serverCertNotAfterMs - Date.now()) / DAY_MS;
    expect(serverDays).toBeGreaterThan(364);
    expect(serverDays).toBeLessThanOrEqual(365);
    expect(pki.caFingerprintSha256).toBe(ca.fingerprint256);
  });

  it('writes PEM files, keys readable by the owner only, in a 0700 folder', async () => {
    const folder = join(dir, 'nested', 'pki');
    const pki = await pkiIn(folder, HOSTS);
    expect((await readdir(folder)).sort()).toEqual(['ca.crt', 'ca.key', 'server.crt', 'server.key']);
    expect(await modeOf(folder)).toBe(0o700);
    expect(await modeOf(pki.caKeyPath)).toBe(0o600);
    expect(await modeOf(pki.serverKeyPath)).toBe(0o600);
    expect(await modeOf(pki.caPath)).toBe(0o644);
    expect(await modeOf(pki.serverCertPath)).toBe(0o644);
    expect(await readFile(pki.caPath, 'utf8')).toBe(pki.caPem);
    expect(await readFile(pki.serverKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(await readFile(pki.caKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('refuses a host that is neither an IP nor a DNS name, and an empty host list', async () => {
    const bad = await ensureClusterPki(dir, { hosts: ['127.0.0.1', 'not a host'] });
    expect(bad).toMatchObject({ ok: false, error: { kind: 'HostInvalid', host: 'not a host' } });
    const none = await ensureClusterPki(dir, { hosts: [] });
    expect(none).toMatchObject({ ok: false, error: { kind: 'HostInvalid' } });
  });
});

describe('an existing PKI', () => {
  it('keeps the CA and the server certificate when nothing changed', async () => {
    const first = await pkiIn(dir, HOSTS);
    const second = await pkiIn(dir, ['localhost', '127.0.0.1']);
    expect(second.ca).toEqual({ status: 'reused' });
    expect(second.serverCert).toEqual({ status: 'reused' });
    expect(second.caFingerprintSha256).toBe(first.caFingerprintSha256);
    expect(second.caPem).toBe(first.caPem);
    expect(second.serverCertPem).toBe(first.serverCertPem);
    expect(second.serverKeyPem).toBe(first.serverKeyPem);
  });

  it('re-issues the server certificate, under the same CA, when a new host is asked for', async () => {
    const first = await pkiIn(dir, ['127.0.0.1']);
    await chmod(first.serverKeyPath, 0o644);
    const second = await pkiIn(dir, ['127.0.0.1', 'edge-gw.local', '::1']);
    expect(second.serverCert).toEqual({ status: 'issued', reason: 'hostsNotCovered' });
    expect(second.caFingerprintSha256).toBe(first.caFingerprintSha256);
    const server = new X509Certificate(second.serverCertPem);
    expect(server.verify(new X509Certificate(first.caPem).publicKey)).toBe(true);
    expect(server.checkHost('edge-gw.local')).toBe('edge-gw.local');
    expect(server.checkIP('::1')).toBe('::1');
    // The rename replaces the key file, so a mode loosened by hand does not survive re-issue.
    expect(await modeOf(second.serverKeyPath)).toBe(0o600);
    expect(await readFile(second.serverCertPath, 'utf8')).toBe(second.serverCertPem);
  });

  it('re-issues a server certificate that expires within 30 days, and keeps one with more left', async () => {
    const issuedAt = Date.now() - 340 * DAY_MS;
    const first = await pkiIn(dir, HOSTS, new ManualClock(issuedAt));
    // Certificates keep whole seconds.
    expect(first.serverCertNotAfterMs).toBe(wholeSeconds(issuedAt + 365 * DAY_MS));

    const stillFine = await pkiIn(dir, HOSTS, new ManualClock(issuedAt + 300 * DAY_MS));
    expect(stillFine.serverCert).toEqual({ status: 'reused' });

    const now = new ManualClock(issuedAt + 340 * DAY_MS);
    const renewed = await pkiIn(dir, HOSTS, now);
    expect(renewed.serverCert).toEqual({ status: 'issued', reason: 'expiresSoon' });
    expect(renewed.serverCertNotAfterMs).toBe(wholeSeconds(now.nowMs() + 365 * DAY_MS));
    expect(renewed.caFingerprintSha256).toBe(first.caFingerprintSha256);
  });

  it('re-issues a server certificate signed by another CA', async () => {
    const other = join(dir, 'other');
    const foreign = await pkiIn(other, HOSTS);
    const mine = join(dir, 'mine');
    await pkiIn(mine, HOSTS);
    await copyFile(foreign.serverCertPath, join(mine, 'server.crt'));
    await copyFile(foreign.serverKeyPath, join(mine, 'server.key'));
    const again = await pkiIn(mine, HOSTS);
    expect(again.serverCert).toEqual({ status: 'issued', reason: 'signedByOtherCa' });
    expect(new X509Certificate(again.serverCertPem).verify(new X509Certificate(again.caPem).publicKey)).toBe(true);
  });

  it('re-issues a damaged server certificate or one whose key does not match', async () => {
    const first = await pkiIn(dir, HOSTS);
    await writeFile(first.serverCertPath, 'garbage');
    expect((await pkiIn(dir, HOSTS)).serverCert).toEqual({ status: 'issued', reason: 'unreadable' });
    await copyFile(first.caKeyPath, first.serverKeyPath);
    expect((await pkiIn(dir, HOSTS)).serverCert).toEqual({ status: 'issued', reason: 'unreadable' });
  });
});

describe('a damaged CA', () => {
  it('gives CaNotACertificate, naming the file, when ca.crt is not a certificate', async () => {
    const pki = await pkiIn(dir, HOSTS);
    await writeFile(pki.caPath, 'this is not a certificate\n');
    const result = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaNotACertificate', path: pki.caPath } });
    expect(result.ok ? '' : result.error.message).toContain(pki.caPath);
  });

  it('gives CaNotACertificate for a truncated PEM block', async () => {
    const pki = await pkiIn(dir, HOSTS);
    await writeFile(pki.caPath, pki.caPem.slice(0, 120));
    const result = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaNotACertificate', path: pki.caPath } });
  });

  it('gives CaUnreadable when ca.crt cannot be read', async () => {
    const caPath = join(dir, 'ca.crt');
    // A folder in the file's place fails to read even for root, unlike a 000 mode.
    await mkdir(caPath);
    const result = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaUnreadable', path: caPath } });
    expect(result.ok ? '' : result.error.message).toContain(caPath);
  });

  it('gives CaNotAnAuthority when ca.crt is a leaf certificate', async () => {
    const pki = await pkiIn(dir, HOSTS);
    await writeFile(pki.caPath, pki.serverCertPem);
    const result = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaNotAnAuthority', path: pki.caPath } });
  });

  it('gives CaKeyUnreadable when ca.key is gone, and CaKeyInvalid when it belongs to another CA', async () => {
    const pki = await pkiIn(dir, HOSTS);
    const foreign = await pkiIn(join(dir, 'other'), HOSTS);
    await rm(pki.caKeyPath);
    const missing = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(missing).toMatchObject({ ok: false, error: { kind: 'CaKeyUnreadable', path: pki.caKeyPath } });
    await copyFile(foreign.caKeyPath, pki.caKeyPath);
    const mismatched = await ensureClusterPki(dir, { hosts: HOSTS });
    expect(mismatched).toMatchObject({ ok: false, error: { kind: 'CaKeyInvalid', path: pki.caKeyPath } });
  });

  it('gives CaExpired once the CA has run out', async () => {
    const createdAt = Date.now();
    await pkiIn(dir, HOSTS, new ManualClock(createdAt));
    const result = await ensureClusterPki(dir, { hosts: HOSTS, clock: new ManualClock(createdAt + 3651 * DAY_MS) });
    expect(result).toMatchObject({ ok: false, error: { kind: 'CaExpired', path: join(dir, 'ca.crt') } });
  });
});

async function listenTls(server: Server): Promise<number> {
  server.listen({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function connectTls(options: ConnectionOptions): TLSSocket {
  const socket = connect(options);
  // The peer may cut the handshake short; the assertions wait on the server side instead.
  socket.on('error', () => undefined);
  cleanups.push(async () => {
    socket.destroy();
  });
  return socket;
}

describe('client certificates', () => {
  it('are verified by a requestCert TLS server that trusts the CA, with CN and O intact', async () => {
    const pki = await pkiIn(dir, HOSTS);
    const client = await pki.issueClientCertificate('system:node:edge-1', ['system:nodes'], 365);
    const parsed = new X509Certificate(client.certPem);
    expect(parsed.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(parsed.subject).toBe('O=system:nodes\nCN=system:node:edge-1');
    expect(parsed.verify(new X509Certificate(pki.caPem).publicKey)).toBe(true);

    const server = createServer({
      cert: pki.serverCertPem,
      key: pki.serverKeyPem,
      ca: pki.caPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const port = await listenTls(server);
    const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    const socket = connectTls({ host: '127.0.0.1', port, ca: pki.caPem, cert: client.certPem, key: client.keyPem });
    const connected = once(socket, 'secureConnect');
    const [serverSide] = await accepted;
    expect(serverSide.authorized).toBe(true);
    const peer = serverSide.getPeerCertificate();
    expect(peer.subject.CN).toBe('system:node:edge-1');
    expect(peer.subject.O).toBe('system:nodes');
    await connected;
    // The client checked the server certificate against the CA and the IP SAN.
    expect(socket.authorized).toBe(true);
  });

  it('from another CA fail verification against the CA', async () => {
    const pki = await pkiIn(dir, HOSTS);
    const stranger = await (await pkiIn(join(dir, 'other'), HOSTS)).issueClientCertificate('intruder', [], 1);
    // rejectUnauthorized off, so the server reports why it would refuse instead of just hanging up.
    const server = createServer({
      cert: pki.serverCertPem,
      key: pki.serverKeyPem,
      ca: pki.caPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const port = await listenTls(server);
    const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    connectTls({ host: '127.0.0.1', port, ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem });
    const [serverSide] = await accepted;
    expect(serverSide.authorized).toBe(false);
    expect(String(serverSide.authorizationError)).toMatch(/UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('never outlive the CA', async () => {
    const createdAt = Date.now();
    const clock = new ManualClock(createdAt);
    const pki = await pkiIn(dir, HOSTS, clock);
    clock.advance(3600 * DAY_MS);
    const client = await pki.issueClientCertificate('late', ['system:nodes'], 365);
    const caNotAfter = new x509.X509Certificate(pki.caPem).notAfter.getTime();
    expect(new x509.X509Certificate(client.certPem).notAfter.getTime()).toBe(caNotAfter);
  });
});

describe('kubectl (Go crypto/x509) checks host names', () => {
  let server: FakeApiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses a name missing from the certificate and accepts it after re-issue', async () => {
    const kubectl = requireKubectl('1.32');
    const token = generateToken();
    const kubeconfig = join(dir, 'kubeconfig');
    const run = (): ReturnType<ChildProcesses['run']> =>
      children.run(kubectl, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', '--raw', '/version'], {
        home: dir,
      });

    const ipOnly = await pkiIn(join(dir, 'pki'), ['127.0.0.1']);
    server = await startFakeApiServer({ certPem: ipOnly.serverCertPem, keyPem: ipOnly.serverKeyPem, token });
    await writeKubeconfig(kubeconfig, { server: `https://localhost:${server.port}`, caPem: ipOnly.caPem, token });
    const refused = await run();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('x509: certificate is not valid for any names, but wanted to match localhost');
    await server.close();

    const withName = await pkiIn(join(dir, 'pki'), ['127.0.0.1', 'localhost']);
    expect(withName.serverCert).toEqual({ status: 'issued', reason: 'hostsNotCovered' });
    server = await startFakeApiServer({ certPem: withName.serverCertPem, keyPem: withName.serverKeyPem, token });
    await writeKubeconfig(kubeconfig, { server: `https://localhost:${server.port}`, caPem: withName.caPem, token });
    const accepted = await run();
    expect(accepted.stderr).toBe('');
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ gitVersion: 'v1.32.4' });
  });
});
