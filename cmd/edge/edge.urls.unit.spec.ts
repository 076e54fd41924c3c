// parseEdgeUrls: --cloud and --bootstrap. Method: table of flags and the URLs or refusals they give.
import { expect, it } from 'vitest';
import { parseEdgeUrls } from './edge.urls.js';

it.each([
  ['wss://127.0.0.1:10000', undefined, 'wss://127.0.0.1:10000', 'https://127.0.0.1:10002'],
  ['wss://cloud.example:37253/', undefined, 'wss://cloud.example:37253', 'https://cloud.example:37255'],
  ['wss://[::1]:10000', undefined, 'wss://[::1]:10000', 'https://[::1]:10002'],
  ['wss://cloud.example', undefined, 'wss://cloud.example', 'https://cloud.example:445'],
  ['wss://cloud.example:10000', 'https://join.example:8443', 'wss://cloud.example:10000', 'https://join.example:8443'],
])('%s with --bootstrap %s: stream %s, bootstrap %s', (cloud, bootstrap, streamUrl, bootstrapUrl) => {
  expect(parseEdgeUrls(cloud, bootstrap)).toEqual({ ok: true, value: { streamUrl, bootstrapUrl } });
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
