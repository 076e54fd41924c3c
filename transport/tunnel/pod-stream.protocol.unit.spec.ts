// The logs/exec/attach tunnel's pure half: kubectl's query becomes a request the edge re-checks, and an
// exit code becomes the Status kubectl turns back into its own exit code.
import { describe, expect, it } from 'vitest';
import { Channel, execStatus, framed, parsePodStreamContent, podStreamContent, podStreamRequestOf } from './pod-stream.protocol.js';

const query = (text: string): URLSearchParams => new URLSearchParams(text);

describe('podStreamRequestOf', () => {
  it('reads kubectl logs flags, exec commands and attach, and the edge reads back the same request', () => {
    const log = podStreamRequestOf('log', query('container=app&follow=true&tailLines=2&previous=true'));
    expect(log).toEqual({ ok: true, value: { kind: 'log', container: 'app', follow: true, tailLines: 2, previous: true } });
    const exec = podStreamRequestOf('exec', query('command=sh&command=-c&command=echo+hi&container=app&stdin=true&stdout=true&stderr=true'));
    expect(exec).toEqual({ ok: true, value: { kind: 'exec', container: 'app', command: ['sh', '-c', 'echo hi'], stdin: true } });
    const attach = podStreamRequestOf('attach', query('container=app&stdout=true&stderr=true'));
    expect(attach).toEqual({ ok: true, value: { kind: 'attach', container: 'app' } });
    for (const request of [log, exec, attach]) if (request.ok) expect(parsePodStreamContent(podStreamContent(request.value))).toEqual(request);
  });

  it('refuses what the process runtime cannot do, saying what to do instead', () => {
    expect(podStreamRequestOf('log', query('timestamps=true'))).toMatchObject({ ok: false, error: expect.stringContaining('without it') });
    expect(podStreamRequestOf('log', query('tailLines=-1'))).toMatchObject({ ok: false });
    expect(podStreamRequestOf('exec', query('container=app'))).toEqual({ ok: false, error: 'exec needs a command' });
    expect(podStreamRequestOf('exec', query('command=sh&tty=true'))).toMatchObject({ ok: false, error: expect.stringContaining('without -t') });
    expect(podStreamRequestOf('attach', query('container=app&stdin=true'))).toMatchObject({ ok: false, error: expect.stringContaining('without -i') });
    expect(podStreamRequestOf('attach', query('container=app&tty=true'))).toMatchObject({ ok: false, error: expect.stringContaining('without -t') });
    expect(podStreamRequestOf('portforward', query(''))).toMatchObject({ ok: false, error: expect.stringContaining('logs, exec and attach') });
  });

  it('the edge refuses malformed content from the wire', () => {
    expect(parsePodStreamContent('log')).toMatchObject({ ok: false });
    expect(parsePodStreamContent({ kind: 'exec', command: [] })).toMatchObject({ ok: false });
    expect(parsePodStreamContent({ kind: 'exec', command: ['ls', 7] })).toMatchObject({ ok: false });
    expect(parsePodStreamContent({ kind: 'portforward' })).toMatchObject({ ok: false });
  });
});

describe('exec status and framing', () => {
  it('reports exit 0 as Success and any other code as NonZeroExitCode with the code in details, as kubelet does', () => {
    expect(execStatus(0)).toEqual({ metadata: {}, status: 'Success' });
    expect(execStatus(3)).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect([...framed(Channel.stderr, 'x')]).toEqual([2, 120]);
  });
});
