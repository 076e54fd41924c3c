// Real kubectl against the MetaServer. Method: for every kubectl minor version installed (1.27 …
// 1.33), given a MetaServer on a free loopback port fed two pods (one with the status the edge
// computed), a ConfigMap, a Secret and a Service, when a local user runs `kubectl --server
// http://127.0.0.1:<port>` get (table, -A, -o json), delete, apply and get -w, then reads print what
// they print against a cluster, writes exit non-zero with the read-only message, and a pod fed
// after a watch started shows up in the watch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectlRunner, type KubectlRunner } from '../api/kubectl.testing.js';
import { startMetaServer, type MetaServer } from './meta-server.js';
import { configMapObject, podObject, secretObject, serviceObject } from './meta-server.testing.js';

const minors = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'] as const;

/** A kubeconfig that names no server: every command passes `--server`, as a local user would. */
const emptyKubeconfig = 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n';

const configMapYaml = `apiVersion: v1
kind: ConfigMap
metadata:
  name: from-apply
  namespace: default
data: {mode: cloud}
`;

for (const minor of minors) {
  const binary = findKubectl(minor);
  describe(`kubectl ${minor}`, () => {
    let dir: string;
    let server: MetaServer;
    let kubectl: KubectlRunner;
    const run = (args: readonly string[], stdin?: string) => kubectl.run(['--server', server.url, ...args], stdin);
    const ok = async (args: readonly string[]): Promise<string> => {
      const result = await run(args);
      expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };

    beforeAll(async () => {
      // Every minor version stands beside kubectl on this machine; a missing one is a failure, not a skip.
      if (binary === undefined) throw new Error(`kubectl.${minor} is not installed beside kubectl`);
      dir = mkdtempSync(join(tmpdir(), `edgehive-metaserver-kubectl-${minor}-`));
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, emptyKubeconfig);
      const started = await startMetaServer({});
      if (!started.ok) throw new Error(JSON.stringify(started.error));
      server = started.value;
      const fed = server.view.replaceAll([
        podObject('default', 'web', 'uid-web', { phase: 'Running' }),
        podObject('shop', 'cart', 'uid-cart'),
        configMapObject('default', 'settings', { mode: 'edge', level: '3' }),
        secretObject('default', 'token', { value: Buffer.from('s3cret').toString('base64') }),
        serviceObject('default', 'web'),
      ]);
      if (!fed.ok) throw new Error(JSON.stringify(fed.error));
      kubectl = kubectlRunner(binary ?? '', kubeconfig, dir, join(dir, 'cache'));
    });
    afterEach(() => {
      kubectl?.killAll();
    });
    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('get pods -A lists both pods, the one with status as Running', async () => {
      const table = await ok(['get', 'pods', '-A']);
      expect(table).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
      expect(table).toMatch(/^default\s+web\s+1\/1\s+Running\s+0\s+\S+$/m);
      expect(table).toMatch(/^shop\s+cart\s+0\/1\s+Pending\s+0\s+\S+$/m);
    });

    it('get pod -o json returns the object the edge fed, with the version the view stamped', async () => {
      const pod = JSON.parse(await ok(['get', 'pod', '-n', 'default', 'web', '-o', 'json'])) as { metadata: { uid: string; resourceVersion: string }; spec: { nodeName: string }; status: { phase: string } };
      expect(pod.metadata.uid).toBe('uid-web');
      expect(pod.spec.nodeName).toBe('edge-1');
      expect(pod.status.phase).toBe('Running');
      // The cloud's version (4711) is replaced by the view's own, one counter for every kind.
      expect(pod.metadata.resourceVersion).not.toBe('4711');
      expect(Number(pod.metadata.resourceVersion)).toBeGreaterThan(0);
    });

    it('get configmaps, secrets and services print their tables', async () => {
      expect(await ok(['get', 'configmaps'])).toMatch(/^settings\s+2\s+\S+$/m);
      expect(await ok(['get', 'secrets'])).toMatch(/^token\s+Opaque\s+1\s+\S+$/m);
      expect(await ok(['get', 'services'])).toMatch(/^web\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+80\/TCP\s+\S+$/m);
      const value = await ok(['get', 'secret', 'token', '-o', 'jsonpath={.data.value}']);
      expect(Buffer.from(value, 'base64').toString()).toBe('s3cret');
    });

    it('delete pod fails with the read-only message, and the pod stays', async () => {
      const deleted = await run(['delete', 'pod', 'web']);
      expect(deleted.code).not.toBe(0);
      expect(deleted.stderr).toContain("Error from server (MethodNotAllowed): the edge's local API (MetaServer) is read-only");
      await ok(['get', 'pod', 'web']);
    });

    it('apply -f fails with the read-only message, and nothing is created', async () => {
      const applied = await run(['apply', '-f', '-'], configMapYaml);
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toContain("the edge's local API (MetaServer) is read-only");
      expect((await run(['get', 'configmap', 'from-apply'])).code).not.toBe(0);
    });

    it('get pods -w shows a pod fed after the watch started', async () => {
      const watch = kubectl.start(['--server', server.url, 'get', 'pods', '-w']);
      await watch.waitFor((out) => /^web\s+1\/1\s+Running/m.test(out));
      server.view.put(podObject('default', `late-${minor.replace('.', '-')}`, `uid-late-${minor}`, { phase: 'Running' }));
      const out = await watch.waitFor((seen) => new RegExp(`^late-${minor.replace('.', '-')}\\s+1/1\\s+Running`, 'm').test(seen));
      expect(out).not.toMatch(/error/i);
      watch.stop();
    });
  });
}
