// What end-to-end specs with devices share: mosquitto's own clients (mosquitto_pub, mosquitto_sub)
// and an external mosquitto broker, run as child processes, plus an mqtt.js watcher that records what
// the edge publishes so a spec waits on a message, never on time. Every process is killed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';

const MOSQUITTO_CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

/** The mosquitto binaries, or an error saying how CI gets them (never a skip). */
export function requireMosquitto(): { readonly broker: string; readonly pub: string; readonly sub: string } {
  const broker = MOSQUITTO_CANDIDATES.find((path) => existsSync(path));
  const which = (name: string): string | undefined => {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    return found.status === 0 ? found.stdout.trim() : undefined;
  };
  const pub = which('mosquitto_pub');
  const sub = which('mosquitto_sub');
  if (broker === undefined || pub === undefined || sub === undefined) {
    throw new Error('mosquitto, mosquitto_pub and mosquitto_sub are needed (Debian packages mosquitto and mosquitto-clients; .ci/run installs them)');
  }
  return { broker, pub, sub };
}

/** A free TCP port on 127.0.0.1 (for a broker that cannot be told to pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Publishes one message at QoS 1 with mosquitto_pub; fails with its output when it exits non-zero. */
export function mosquittoPub(port: number, topic: string, payload: string): Promise<void> {
  const { pub } = requireMosquitto();
  return new Promise((resolve, reject) => {
    const child = spawn(pub, ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', payload], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${output}`))));
  });
}

/** A message awaited with mosquitto_sub: `subscribed` resolves at its SUBACK, `message` with the first payload `accept` takes. */
export interface MosquittoSubscription {
  readonly subscribed: Promise<void>;
  readonly message: Promise<string>;
  readonly child: ChildProcess;
}

/**
 * `mosquitto_sub -v` on `topic` until a payload satisfies `accept` (earlier messages, e.g. a delta
 * published before the change a spec waits for, are passed over), giving up after `timeoutSeconds`.
 */
export function mosquittoSubOnce(port: number, topic: string, timeoutSeconds: number, accept: (payload: string) => boolean = () => true): MosquittoSubscription {
  const { sub } = requireMosquitto();
  // -d prints the SUBACK, so the spec publishes only once subscribed; stdbuf makes stdout line-buffered
  // (into a pipe it is block-buffered, and the SUBACK line would arrive only at exit).
  const args = ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-W', String(timeoutSeconds), '-d', '-v'];
  const child = spawn('stdbuf', ['-oL', sub, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let pending = '';
  let onSubscribed: () => void = () => undefined;
  let onMessage: (payload: string) => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const message = new Promise<string>((resolve, reject) => {
    onMessage = resolve;
    child.once('error', reject);
    child.once('close', (code) => reject(new Error(`mosquitto_sub on ${topic} exited ${code} without an accepted message: ${output}`)));
  });
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (/received SUBACK/.test(output)) onSubscribed();
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    // With -v each message is one line: the topic, a space, the payload.
    for (const line of lines) {
      if (!line.startsWith(`${topic} `)) continue;
      const payload = line.slice(topic.length + 1);
      if (!accept(payload)) continue;
      onMessage(payload);
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A message taken is the answer; the exit that follows is not a failure.
  message.catch(() => undefined);
  return { subscribed, message, child };
}

/** A mosquitto broker on a free port of 127.0.0.1, configured as platform-notes.md says tests need. */
export async function startMosquitto(dir: string): Promise<{ readonly port: number; readonly url: string; stop(): Promise<void> }> {
  const { broker } = requireMosquitto();
  const port = await freePort();
  const config = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
  const child = spawn(broker, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `mqtt://127.0.0.1:${port}`;
  // Ready once a client can connect.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1_000 }).catch(() => undefined);
    if (client !== undefined) {
      await client.endAsync();
      break;
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start on ${port}: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Records every message on the subscribed filters, so a spec can wait for one that matches. */
export interface MqttWatcher {
  subscribe(filter: string): Promise<void>;
  publish(topic: string, payload: string): Promise<void>;
  /** The first message so far or to come on `topic` whose JSON payload satisfies `accept`. */
  waitFor(topic: string, accept: (payload: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function mqttWatcher(url: string): Promise<MqttWatcher> {
  const client: MqttClient = await mqtt.connectAsync(url, { reconnectPeriod: 500, connectTimeout: 5_000 });
  const seen: { topic: string; payload: Record<string, unknown> }[] = [];
  const wake = new Set<() => void>();
  client.on('message', (topic, payload) => {
    try {
      const parsed = JSON.parse(payload.toString('utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) seen.push({ topic, payload: parsed as Record<string, unknown> });
    } catch {
      // Not JSON: nothing a spec waits for.
    }
    for (const check of wake) check();
  });
  return {
    subscribe: async (filter) => {
      await client.subscribeAsync(filter, { qos: 1 });
    },
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    waitFor: (topic, accept, what, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = seen.find((m) => m.topic === topic && accept(m.payload));
          if (found === undefined) return;
          wake.delete(check);
          clearTimeout(timer);
          resolve(found.payload);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`no message on ${topic} with ${what} within ${timeoutMs} ms; seen: ${JSON.stringify(seen.slice(-10))}`));
        }, timeoutMs);
        wake.add(check);
        check();
      }),
    close: async () => {
      await client.endAsync(true);
    },
  };
}
