// The service bus as an operator reaches it: the real kubectl binary, with the kubeconfig the
// embedded API server wrote, runs `kubectl get --raw` on the node proxy path of a linked edge.
// Method: the same in-process rig as the int spec (CloudHub, EdgeHub over mTLS, the echo app), and
// kubectl's exit code, stdout and stderr checked as a user would read them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { startServiceBusRig, type Echo, type ServiceBusRig } from './service-bus.testing.js';

const minor = ['1.33', '1.32', '1.31', '1.30'].find((m) => findKubectl(m) !== undefined);

let rig: ServiceBusRig;
let home: string;
let kubectl: KubectlRunner;

beforeAll(async () => {
  if (minor === undefined) throw new Error('no kubectl 1.30–1.33 beside kubectl on this machine');
  rig = await startServiceBusRig();
  await rig.linkEdge('edge-1');
  home = mkdtempSync(join(tmpdir(), 'edgehive-servicebus-kubectl-'));
  kubectl = kubectlRunner(findKubectl(minor)!, rig.api.kubeconfigPath, home, join(home, 'cache'));
}, 60_000);

afterAll(async () => {
  kubectl?.killAll();
  await rig?.close();
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

describe(`kubectl ${minor ?? '(none)'} get --raw on the node proxy path`, () => {
  it('prints the edge app\'s answer, the query string passed on', async () => {
    const result = await kubectl.run(['get', '--raw', `/api/v1/nodes/edge-1:${rig.app.port}/proxy/temperature?unit=c`]);
    expect(result.code, result.stderr).toBe(0);
    const echo = JSON.parse(result.stdout) as Echo;
    expect(echo).toMatchObject({ method: 'GET', url: '/temperature?unit=c' });
    expect(echo.headers['authorization']).toBeUndefined();
  });

  it('fails with the Status message when the node is not connected', async () => {
    const result = await kubectl.run(['get', '--raw', `/api/v1/nodes/edge-9:${rig.app.port}/proxy/temperature`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('node edge-9 is not connected');
  });
});
