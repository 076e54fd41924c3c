// Writes a whole file or nothing: readers (kubectl, a restarting server) never see half a key or a
// kubeconfig cut short, and a secret never exists, even briefly, with a mode wider than asked.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Mode for private keys, tokens and kubeconfigs: owner read and write only. */
export const SECRET_FILE_MODE = 0o600;
/** Mode for certificates, which are public. */
export const PUBLIC_FILE_MODE = 0o644;

/**
 * Writes `data` to a temporary file beside `path` with `mode`, flushes it, then renames it over
 * `path`. The rename is atomic on one filesystem, and the temp file's mode is set when it is
 * created, so an existing file with a wider mode is replaced rather than rewritten in place.
 * Rejects with the filesystem error; the temp file is removed on failure.
 */
export async function writeFileAtomic(path: string, data: string, options: { readonly mode: number }): Promise<void> {
  // A random suffix keeps two concurrent writers of the same path from sharing a temp file.
  const tempPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tempPath, 'wx', options.mode);
    try {
      await handle.writeFile(data, { encoding: 'utf8' });
      // The umask may have narrowed the creation mode; chmod makes the result exactly `mode`.
      await handle.chmod(options.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}
