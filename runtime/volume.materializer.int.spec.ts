// Volumes as files. Method: materialize ConfigMap, Secret and emptyDir volumes and check files,
// modes and the replacing of stale keys; then start a container that reads its volumes through
// EDGEHIVE_VOLUME_<NAME> (and a $(VAR) reference in its args), as users are told to.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VolumeMount } from './runtime.port.js';
import { exitOf, launchOf, RuntimeFixture, sh } from './runtime.testing.js';
import { materializeVolumes } from './volume.materializer.js';

let fx: RuntimeFixture;
beforeEach(() => {
  fx = new RuntimeFixture();
});
afterEach(() => fx.cleanup());

const config = (files: Record<string, string>): VolumeMount => ({ name: 'config', mountPath: '/etc/app', source: { kind: 'configMap', files: Object.entries(files).map(([key, data]) => ({ key, data })) } });
const secret: VolumeMount = { name: 'creds', mountPath: '/etc/creds', source: { kind: 'secret', files: [{ key: 'token', data: new TextEncoder().encode('s3cr3t') }] } };
const scratch: VolumeMount = { name: 'scratch', mountPath: '/tmp/scratch', source: { kind: 'emptyDir' } };

describe('materializeVolumes', () => {
  it('writes ConfigMap files 0644, Secret files 0600, and creates emptyDirs', () => {
    const podDir = join(fx.dir, 'pod');
    const dirs = materializeVolumes(podDir, [config({ 'app.yaml': 'port: 80\n' }), secret, scratch]);
    if (!dirs.ok) throw new Error(dirs.error.message);
    expect([...dirs.value.keys()]).toEqual(['config', 'creds', 'scratch']);
    const file = join(podDir, 'volumes/config/app.yaml');
    expect(readFileSync(file, 'utf8')).toBe('port: 80\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(statSync(join(podDir, 'volumes/creds/token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(podDir, 'volumes/scratch')).isDirectory()).toBe(true);
  });

  it('leaves an unchanged file alone on a refresh (same inode), and replaces a changed one', () => {
    const podDir = join(fx.dir, 'pod');
    materializeVolumes(podDir, [config({ same: 'a', changes: 'b' })]);
    const before = { same: statSync(join(podDir, 'volumes/config/same')).ino, changes: statSync(join(podDir, 'volumes/config/changes')).ino };
    materializeVolumes(podDir, [config({ same: 'a', changes: 'c' })]);
    expect(statSync(join(podDir, 'volumes/config/same')).ino).toBe(before.same);
    expect(statSync(join(podDir, 'volumes/config/changes')).ino).not.toBe(before.changes);
    expect(readFileSync(join(podDir, 'volumes/config/changes'), 'utf8')).toBe('c');
  });

  it("replaces a ConfigMap's files with its current keys and keeps an emptyDir's contents", () => {
    const podDir = join(fx.dir, 'pod');
    materializeVolumes(podDir, [config({ a: '1', b: '2' }), scratch]);
    writeFileSync(join(podDir, 'volumes/scratch/kept'), 'x');
    materializeVolumes(podDir, [config({ b: '3' }), scratch]);
    expect(readdirSync(join(podDir, 'volumes/config'))).toEqual(['b']);
    expect(readFileSync(join(podDir, 'volumes/config/b'), 'utf8')).toBe('3');
    expect(readdirSync(join(podDir, 'volumes/scratch'))).toEqual(['kept']);
  });
});

describe('a container with volumes', () => {
  it('finds them through EDGEHIVE_VOLUME_<NAME> and $(VAR) references', async () => {
    const runtime = fx.open();
    const launch = launchOf(sh('cat "$1" "$EDGEHIVE_VOLUME_CREDS/token" > "$EDGEHIVE_VOLUME_SCRATCH/out"'), {
      args: ['sh', '$(EDGEHIVE_VOLUME_CONFIG)/app.yaml'],
      volumes: [config({ 'app.yaml': 'port: 80\n' }), secret, scratch],
    });
    const exited = exitOf(runtime, launch.runId);
    expect((await runtime.start(launch)).ok).toBe(true);
    expect((await exited).reason).toBe('Completed');
    expect(readFileSync(join(fx.dataDir, 'pods/uid-1/volumes/scratch/out'), 'utf8')).toBe('port: 80\ns3cr3t');
  });
});
