// parseEdgeUrls (--cloud and --bootstrap, one URL or a list), nextCloud (which stream URL the next
// connect takes), bootstrapOrder and triesNextBootstrap (which join URLs are tried). Method: tables
// of inputs and the values or refusals they give.
import { describe, expect, it } from 'vitest';
import { CLOUD_URLS_MAX, bootstrapOrder, nextCloud, parseEdgeUrls, triesNextBootstrap, type CloudAttemptEnd } from './edge.urls.js';

describe('parseEdgeUrls with one URL', () => {
  it.each([
    ['wss://127.0.0.1:10000', undefined, 'wss://127.0.0.1:10000', 'https://127.0.0.1:10002'],
    ['wss://cloud.example:37253/', undefined, 'wss://cloud.example:37253', 'https://cloud.example:37255'],
    ['wss://[::1]:10000', undefined, 'wss://[::1]:10000', 'https://[::1]:10002'],
    ['wss://cloud.example', undefined, 'wss://cloud.example', 'https://cloud.example:445'],
    ['wss://cloud.example:10000', 'https://join.example:8443', 'wss://cloud.example:10000', 'https://join.example:8443'],
  ])('%s with --bootstrap %s: stream %s, bootstrap %s', (cloud, bootstrap, streamUrl, bootstrapUrl) => {
    expect(parseEdgeUrls(cloud, bootstrap)).toEqual({ ok: true, value: [{ streamUrl, bootstrapUrl }] });
  });

  it.each([
    ['ws://127.0.0.1:10000', undefined, 'not ws://'],
    ['127.0.0.1:10000', undefined, "'127.0.0.1:10000' is not a URL"],
    ['cloud.example:10000', undefined, 'not cloud.example://'],
    ['', undefined, "'' is not a URL"],
    ['wss://127.0.0.1:10000?x=1', undefined, 'without a path, query or credentials'],
    ['wss://user:pw@127.0.0.1:10000', undefined, 'without a path, query or credentials'],
    ['wss://127.0.0.1:65534', undefined, 'the bootstrap port would be 65536'],
    ['wss://127.0.0.1:10000', 'http://127.0.0.1:10002', '--bootstrap takes https://<host>:<port>'],
  ])('refuses --cloud %j with --bootstrap %j', (cloud, bootstrap, reason) => {
    const parsed = parseEdgeUrls(cloud, bootstrap);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(reason);
  });
});

describe('parseEdgeUrls with a list', () => {
  it('pairs each stream URL with its host at port + 2, in the order given', () => {
    expect(parseEdgeUrls('wss://h1:10000, wss://h2:20000', undefined)).toEqual({
      ok: true,
      value: [
        { streamUrl: 'wss://h1:10000', bootstrapUrl: 'https://h1:10002' },
        { streamUrl: 'wss://h2:20000', bootstrapUrl: 'https://h2:20002' },
      ],
    });
  });

  it('pairs a bootstrap list with the stream list in order', () => {
    expect(parseEdgeUrls('wss://h1:10000,wss://h2:10000', 'https://j1:8443,https://j2:8443')).toEqual({
      ok: true,
      value: [
        { streamUrl: 'wss://h1:10000', bootstrapUrl: 'https://j1:8443' },
        { streamUrl: 'wss://h2:10000', bootstrapUrl: 'https://j2:8443' },
      ],
    });
  });

  it('uses one bootstrap URL for every stream URL', () => {
    const parsed = parseEdgeUrls('wss://h1:10000,wss://h2:10000,wss://h3:10000', 'https://join.example:8443');
    expect(parsed.ok && parsed.value.map((pair) => pair.bootstrapUrl)).toEqual(['https://join.example:8443', 'https://join.example:8443', 'https://join.example:8443']);
  });

  it.each([
    ['wss://h1:10000,', undefined, "--cloud takes wss://<host>:<port> (the \"Stream:\" line of edgehive cloud); '' is not a URL"],
    ['wss://h1:10000,ws://h2:10000', undefined, '--cloud takes wss://<host>:<port> (the "Stream:" line of edgehive cloud), not ws://'],
    ['wss://h1:10000,wss://h1:10000/', undefined, '--cloud lists wss://h1:10000 twice'],
    ['wss://h1:10000,wss://h2:65534', undefined, 'the bootstrap port would be 65536 (stream port + 2); pass --bootstrap https://<host>:<port>'],
    ['wss://h1:10000,wss://h2:10000,wss://h3:10000', 'https://j1:1,https://j2:1', '--bootstrap lists 2 URLs for 3 --cloud URLs: give one for all, or one per --cloud URL in the same order'],
    ['wss://h1:10000,wss://h2:10000', 'https://j1:1,https://j1:1', '--bootstrap lists https://j1:1 twice'],
    [Array.from({ length: CLOUD_URLS_MAX + 1 }, (_, i) => `wss://h${i}:10000`).join(','), undefined, `--cloud lists ${CLOUD_URLS_MAX + 1} URLs; at most ${CLOUD_URLS_MAX}`],
  ])('refuses --cloud %j with --bootstrap %j', (cloud, bootstrap, reason) => {
    expect(parseEdgeUrls(cloud, bootstrap)).toEqual({ ok: false, error: reason });
  });

  it(`accepts ${CLOUD_URLS_MAX} URLs`, () => {
    const parsed = parseEdgeUrls(Array.from({ length: CLOUD_URLS_MAX }, (_, i) => `wss://h${i}:10000`).join(','), undefined);
    expect(parsed.ok && parsed.value.length).toBe(CLOUD_URLS_MAX);
  });
});

const closed = (code: number, local: boolean, linked: boolean, reason = 'why'): CloudAttemptEnd => ({ kind: 'sessionEnded', code, reason, local, linked });

describe('nextCloud', () => {
  it.each<[string, CloudAttemptEnd, string]>([
    ['a failed connection attempt', { kind: 'connectFailed' }, 'connection failed'],
    ['1012 from the cloud before the hello (another process owns the node)', closed(1012, false, false, 'node edge-a is owned elsewhere'), 'closed 1012 (service restart): node edge-a is owned elsewhere'],
    ['1012 from the cloud after the link (it lost the Lease)', closed(1012, false, true, ''), 'closed 1012 (service restart): no reason given'],
    ['1001 from the cloud (stopping)', closed(1001, false, true, 'cloud stopping'), 'closed 1001 (going away): cloud stopping'],
    ['1001 by the edge (a silent cloud)', closed(1001, true, true, 'peer silent for more than 30000 ms'), 'no answer: peer silent for more than 30000 ms'],
    ['1002 by the edge before the link (no hello)', closed(1002, true, false, 'no hello from the cloud'), 'hello failed: no hello from the cloud'],
  ])('moves on to the next URL after %s', (_, end, reason) => {
    expect(nextCloud(3, 0, end)).toEqual({ index: 1, reason });
    expect(nextCloud(3, 1, end)).toEqual({ index: 2, reason });
  });

  it('wraps round from the last URL to the first', () => {
    expect(nextCloud(3, 2, { kind: 'connectFailed' })).toEqual({ index: 0, reason: 'connection failed' });
  });

  it.each<[string, CloudAttemptEnd]>([
    ['a dropped connection (1006, abnormal)', closed(1006, false, true)],
    ['a drop by the edge itself (certificate rotation)', closed(1006, true, true)],
    ['a resume after the link (1002 by the edge)', closed(1002, true, true)],
    ['1002 from the cloud', closed(1002, false, false)],
    ['a node deleted (4410)', closed(4410, false, true)],
    ['a handshake refusal every process gives (4409)', closed(4409, false, false)],
    ['a replacement by a newer connection (1000)', closed(1000, false, true)],
    ['a cloud-side store failure (1011)', closed(1011, false, true)],
  ])('stays on the URL that worked after %s', (_, end) => {
    expect(nextCloud(3, 1, end)).toEqual({ index: 1, reason: undefined });
  });

  it('never moves with one URL, whatever happened', () => {
    expect(nextCloud(1, 0, { kind: 'connectFailed' })).toEqual({ index: 0, reason: undefined });
    expect(nextCloud(1, 0, closed(1012, false, false))).toEqual({ index: 0, reason: undefined });
  });

  it('asserts the current index is in the list', () => {
    expect(() => nextCloud(2, 2, { kind: 'connectFailed' })).toThrow('the current cloud is in the list');
    expect(() => nextCloud(0, 0, { kind: 'connectFailed' })).toThrow('the cloud list is non-empty and bounded');
  });
});

describe('bootstrapOrder', () => {
  const pairs = [
    { streamUrl: 'wss://a:1', bootstrapUrl: 'https://a:3' },
    { streamUrl: 'wss://b:1', bootstrapUrl: 'https://b:3' },
    { streamUrl: 'wss://c:1', bootstrapUrl: 'https://c:3' },
  ];

  it('starts at the given pair and goes round the list', () => {
    expect(bootstrapOrder(pairs, 0)).toEqual(['https://a:3', 'https://b:3', 'https://c:3']);
    expect(bootstrapOrder(pairs, 2)).toEqual(['https://c:3', 'https://a:3', 'https://b:3']);
  });

  it('tries a bootstrap URL shared by several stream URLs once', () => {
    const shared = pairs.map((pair) => ({ ...pair, bootstrapUrl: 'https://join:8443' }));
    expect(bootstrapOrder(shared, 1)).toEqual(['https://join:8443']);
  });
});

describe('triesNextBootstrap', () => {
  it.each([
    [{ kind: 'CloudUnreachable' }, true],
    [{ kind: 'CaHashMismatch' }, true],
    [{ kind: 'ResponseMalformed' }, true],
    [{ kind: 'Refused', status: 503 }, true],
    [{ kind: 'Refused', status: 401 }, false],
    [{ kind: 'Refused', status: 403 }, false],
    [{ kind: 'TokenMalformed' }, false],
    [{ kind: 'NodeNameInvalid' }, false],
    [{ kind: 'CredentialsWriteFailed' }, false],
    [{ kind: 'CredentialsUnusable' }, false],
  ])('%j: %s', (error, next) => {
    expect(triesNextBootstrap(error)).toBe(next);
  });
});
