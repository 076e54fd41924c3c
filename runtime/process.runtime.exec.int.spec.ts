// Exec and probes against real containers. Method: exec commands into a running container and
// read their output and exit codes (working dir and env must be the container's); then probe
// with each kind of action against a container, a loopback HTTP server and TCP ports, each passing
// and failing, timeouts included.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProcessRuntime } from './process.runtime.js';
import type { ExecSession } from './runtime.port.js';
import { exitOf, launchOf, readAll, RuntimeFixture, sh, waitFor } from './runtime.testing.js';

let fx: RuntimeFixture;
let servers: Server[];
beforeEach(() => {
  fx = new RuntimeFixture();
  servers = [];
});
afterEach(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await fx.cleanup();
});

async function running(runtime: ProcessRuntime, options: Parameters<typeof launchOf>[1] = {}) {
  const launch = launchOf(sh('sleep 30'), { env: [{ name: 'FOO', value: 'bar' }], workingDir: fx.dir, ...options });
  const started = await runtime.start(launch);
  if (!started.ok) throw new Error(started.error.message);
  return started.value;
}

async function outcome(session: ExecSession): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const [stdout, stderr, { exitCode }] = await Promise.all([readAll(session.stdout), readAll(session.stderr), session.exit]);
  return { stdout, stderr, exitCode };
}

describe('exec', () => {
  it("runs in the container's working dir and env; output and exit code come back", async () => {
    const runtime = fx.open();
    await running(runtime);
    const session = await runtime.exec('uid-1', 'app', ['sh', '-c', 'pwd; echo $FOO; echo oops >&2; exit 4'], { stdin: false });
    if (!session.ok) throw new Error(session.error.message);
    expect(session.value.stdin).toBeNull();
    expect(await outcome(session.value)).toEqual({ stdout: `${fx.dir}\nbar\n`, stderr: 'oops\n', exitCode: 4 });
  });

  it('carries stdin when asked', async () => {
    const runtime = fx.open();
    await running(runtime);
    const session = await runtime.exec('uid-1', 'app', ['cat'], { stdin: true });
    if (!session.ok) throw new Error(session.error.message);
    session.value.stdin?.end('hello through stdin');
    expect(await outcome(session.value)).toEqual({ stdout: 'hello through stdin', stderr: '', exitCode: 0 });
  });

  it('ends its sessions when the container ends', async () => {
    const runtime = fx.open();
    const started = await running(runtime);
    const session = await runtime.exec('uid-1', 'app', ['sleep', '30'], { stdin: false });
    if (!session.ok) throw new Error(session.error.message);
    await runtime.stop(started, 0);
    expect(await session.value.exit).toEqual({ exitCode: 137 });
  });

  it('is refused as a value: missing command, stopped or unknown container, too many sessions', async () => {
    const runtime = fx.open({ limits: { execSessionsMax: 1 } });
    const started = await running(runtime);
    const missing = await runtime.exec('uid-1', 'app', ['no-such-command-edgehive'], { stdin: false });
    expect(missing.ok === false && missing.error.reason).toBe('RunContainerError');
    const first = await runtime.exec('uid-1', 'app', ['sleep', '30'], { stdin: false });
    const second = await runtime.exec('uid-1', 'app', ['true'], { stdin: false });
    expect(second.ok === false && second.error.reason).toBe('LimitReached');
    if (first.ok) first.value.kill();
    await runtime.stop(started, 0);
    const stopped = await runtime.exec('uid-1', 'app', ['true'], { stdin: false });
    expect(stopped.ok === false && stopped.error.reason).toBe('NotRunning');
    const unknown = await runtime.exec('uid-1', 'nope', ['true'], { stdin: false });
    expect(unknown.ok === false && unknown.error.reason).toBe('NotFound');
  });
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one that was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('probes', () => {
  it('exec passes on exit 0, fails otherwise and on timeout', async () => {
    const runtime = fx.open();
    await running(runtime);
    expect(await runtime.probe('uid-1', 'app', { type: 'exec', command: ['sh', '-c', 'test "$FOO" = bar'] }, 1)).toMatchObject({ result: 'Success' });
    expect(await runtime.probe('uid-1', 'app', { type: 'exec', command: ['sh', '-c', 'echo unhealthy; exit 1'] }, 1)).toEqual({ result: 'Failure', message: 'exit code 1: unhealthy\n' });
    expect(await runtime.probe('uid-1', 'app', { type: 'exec', command: ['sleep', '5'] }, 1)).toEqual({ result: 'Failure', message: 'command timed out after 1000 ms' });
    expect((await runtime.probe('uid-1', 'gone', { type: 'exec', command: ['true'] }, 1)).result).toBe('Failure');
  });

  it('httpGet passes on 2xx and 3xx, fails on 5xx, refused connections and timeouts', async () => {
    const runtime = fx.open();
    const server = createHttpServer((req, res) => {
      if (req.url === '/hang') return;
      res.writeHead(req.url === '/healthz' ? 200 : req.url === '/moved' ? 302 : 500, { location: '/elsewhere' }).end();
    });
    servers.push(server);
    const port = await listen(server);
    const get = (path: string, p = port) => runtime.probe('uid-1', 'app', { type: 'httpGet', port: p, path }, 1);
    expect(await get('/healthz')).toEqual({ result: 'Success', message: 'HTTP 200' });
    expect((await get('/moved')).result).toBe('Success');
    expect(await get('/broken')).toEqual({ result: 'Failure', message: 'HTTP probe failed with statuscode: 500' });
    expect((await get('/healthz', await closedPort())).message).toContain('ECONNREFUSED');
    expect((await get('/hang')).message).toContain('timed out');
    server.closeAllConnections();
  });

  it('tcpSocket passes when a connection is accepted, fails when refused', async () => {
    const runtime = fx.open();
    const server = createTcpServer((socket) => socket.end());
    const port = await listen(server);
    try {
      expect((await runtime.probe('uid-1', 'app', { type: 'tcpSocket', port }, 1)).result).toBe('Success');
      expect((await runtime.probe('uid-1', 'app', { type: 'tcpSocket', port: await closedPort() }, 1)).result).toBe('Failure');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the container itself can serve an httpGet probe (host network)', async () => {
    const runtime = fx.open();
    const port = await closedPort();
    const serve = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
    const launch = launchOf([process.execPath, '-e', serve]);
    const exited = exitOf(runtime, launch.runId);
    const started = await runtime.start(launch);
    if (!started.ok) throw new Error(started.error.message);
    const probe = () => runtime.probe('uid-1', 'app', { type: 'httpGet', port, path: '/' }, 1);
    await waitFor('the container to listen', async () => (await probe()).result === 'Success');
    expect(await probe()).toEqual({ result: 'Success', message: 'HTTP 200' });
    await runtime.stop(started.value, 5);
    expect((await exited).exitCode).toBe(143);
  });
});
