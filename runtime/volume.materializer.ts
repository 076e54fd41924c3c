// Materializes a pod's ConfigMap, Secret and emptyDir volumes as plain files under
// <dataDir>/pods/<uid>/volumes/<name>/, since processes cannot be given bind mounts without root.
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../kernel/index.js';
import type { RuntimeError, VolumeMount } from './runtime.port.js';

/** ConfigMap files are world-readable as in Kubernetes' default 0644; Secret files are owner-only. */
const configMapFileMode = 0o644;
const secretFileMode = 0o600;

/** The directory holding one pod's volumes. */
export const volumesDir = (podDir: string): string => join(podDir, 'volumes');

/**
 * Writes every volume the launch mounts and returns volume name → directory. ConfigMap and Secret
 * files are replaced atomically (temp + rename) and keys no longer present are removed, so a
 * restarted container sees the object's current data; an emptyDir is created once and kept for
 * the pod's life, shared by its containers and their restarts.
 */
export function materializeVolumes(podDir: string, volumes: readonly VolumeMount[]): Result<ReadonlyMap<string, string>, RuntimeError> {
  const dirs = new Map<string, string>();
  for (const volume of volumes) {
    const dir = join(volumesDir(podDir), volume.name);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (volume.source.kind !== 'emptyDir') {
        const mode = volume.source.kind === 'secret' ? secretFileMode : configMapFileMode;
        writeVolumeFiles(dir, volume.source.files, mode);
      }
    } catch (e) {
      return err({ reason: 'RunContainerError', message: `volume ${volume.name}: ${(e as Error).message}` });
    }
    dirs.set(volume.name, dir);
  }
  return ok(dirs);
}

function writeVolumeFiles(dir: string, files: readonly { readonly key: string; readonly data: string | Uint8Array }[], mode: number): void {
  const keys = new Set(files.map((f) => f.key));
  for (const name of readdirSync(dir)) {
    if (!keys.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const file of files) {
    // A refresh leaves an unchanged file alone: a process watching it sees only real changes.
    if (sameContent(join(dir, file.key), file.data)) continue;
    const temp = join(dir, `..${file.key}.tmp`);
    writeFileSync(temp, file.data, { mode });
    // writeFileSync's mode is masked by the umask; the file must have exactly this one.
    chmodSync(temp, mode);
    renameSync(temp, join(dir, file.key));
  }
}

function sameContent(path: string, data: string | Uint8Array): boolean {
  try {
    return readFileSync(path).equals(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  } catch {
    return false;
  }
}
