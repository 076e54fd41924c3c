// `edgehive token create [--data-dir DIR]` as one call: find the cluster CA in the cloud's data dir
// (creating the PKI if the cloud has never run there), record a new token and return it.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Result, err, ok } from '../../kernel/index.js';
import { PKI_FILE_NAMES, ensureClusterPki } from '../../k8s/index.js';
import { type CreatedJoinToken, type JoinTokenCreateError, joinTokenAuthority } from './join-token.js';
import { fileJoinTokenStore, joinTokensPath } from './join-token-store.fs.js';

/** The PKI folder inside a cloud data dir, where the embedded API server keeps it too. */
export const CLOUD_PKI_DIR_NAME = 'pki';
/** Hosts for a PKI created here; the cloud re-issues its serving certificate for its own hosts on start. */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost'] as const;

export type DataDirTokenError = JoinTokenCreateError | { readonly kind: 'PkiUnavailable'; readonly message: string };

/**
 * Creates a join token for the cluster whose PKI lives in `<dataDir>/pki`. An existing CA is only
 * read, never touched; without one, the PKI is created, as the cloud would on its first start.
 * @example
 * const created = await createJoinTokenInDataDir(dataDir, { nowMs: Date.now() });
 * if (created.ok) io.out(created.value.token); // the last line, as DESIGN.md's CLI contract says
 */
export async function createJoinTokenInDataDir(
  dataDir: string,
  options: { readonly nowMs: number; readonly ttlMs?: number },
): Promise<Result<CreatedJoinToken, DataDirTokenError>> {
  const caPem = await readOrCreateCa(join(dataDir, CLOUD_PKI_DIR_NAME));
  if (!caPem.ok) return caPem;
  const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dataDir)), caCertPem: caPem.value });
  return tokens.createJoinToken(options);
}

async function readOrCreateCa(pkiDir: string): Promise<Result<string, DataDirTokenError>> {
  try {
    const text = await readFile(join(pkiDir, PKI_FILE_NAMES.caCert), { encoding: 'utf8' });
    if (new X509Certificate(text).ca) return ok(text);
  } catch {
    // Missing, unreadable or damaged: ensureClusterPki tells these apart, and never replaces a damaged CA.
  }
  const pki = await ensureClusterPki(pkiDir, { hosts: LOOPBACK_HOSTS });
  if (!pki.ok) return err({ kind: 'PkiUnavailable', message: pki.error.message });
  return ok(pki.value.caPem);
}
