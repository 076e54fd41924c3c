// Short-lived join tokens, as `kubeadm token create` and `keadm gettoken` hand out: the cloud keeps
// only a hash of each secret, and the printed token also carries the CA's hash, so an edge that
// has nothing but the token can still tell the real cloud from an impostor on first contact.
import { createHash, randomBytes as cryptoRandomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { type Result, err, invariant, ok } from '../../kernel/index.js';

/**
 * The printed token is `<id>.<secret>.<caHash>`:
 * - `id`: 6 characters `[a-z0-9]`, public (it names the token in the store and in logs), as kubeadm's;
 * - `secret`: 32 characters `[a-z0-9]` (about 165 bits), never stored, only its SHA-256;
 * - `caHash`: 64 lowercase hex characters, the SHA-256 of the cluster CA certificate's DER bytes,
 *   the same value keadm puts in front of its token and
 *   `openssl x509 -in ca.crt -outform der | sha256sum` prints.
 * The id and secret come first, so the part that looks like a kubeadm token is a prefix.
 * @example 'k3x9qa.0f8hz2m1c7v4n6b5x8q2w3e4r5t6y7u8.5d41402abc4b2a76b9719d911017c592...'
 */
export const JOIN_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{32})\.([0-9a-f]{64})$/;
export const JOIN_TOKEN_ID_CHARS = 6;
export const JOIN_TOKEN_SECRET_CHARS = 32;
/** Anything longer than the fixed-size format is refused before any regex runs on it. */
export const JOIN_TOKEN_CHARS_MAX = JOIN_TOKEN_ID_CHARS + 1 + JOIN_TOKEN_SECRET_CHARS + 1 + 64;

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Like kubeadm's default: long enough to provision a node today, short enough to be worthless tomorrow. */
export const JOIN_TOKEN_TTL_MS_DEFAULT = 24 * HOUR_MS;
export const JOIN_TOKEN_TTL_MS_MIN = MINUTE_MS;
export const JOIN_TOKEN_TTL_MS_MAX = 30 * DAY_MS;
/** Live tokens a cloud keeps; far more than anyone provisions at once, small enough to read per request. */
export const JOIN_TOKENS_MAX = 1000;
/**
 * Expired records stay this long, so a late edge hears "expired" (create a new token) rather than
 * "unknown" (typo? wrong cloud?); after that they are pruned on the next create.
 */
export const EXPIRED_TOKEN_KEPT_MS = 7 * DAY_MS;
/** Attempts to draw an id not in use; with 36^6 ids and at most 1000 records one draw almost always does. */
const ID_DRAWS_MAX = 8;
/** Buffers drawn for one random string; a working CSPRNG rejects under 2 % of bytes, so 8 is never reached. */
const RANDOM_DRAWS_MAX = 8;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** The largest multiple of 36 below 256: bytes at or above it are redrawn, so every character is equally likely. */
const UNBIASED_BYTE_LIMIT = 252;

/** What the store keeps for one token: never the secret, only its SHA-256. */
export interface JoinTokenRecord {
  readonly id: string;
  /** Lowercase hex SHA-256 of the secret's ASCII bytes. */
  readonly secretSha256: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** Why the token store could not be read or written; the message names the file. */
export type JoinTokenStoreError = { readonly kind: 'TokenStoreFailed'; readonly message: string };

/**
 * Where token records live. `write` replaces every record at once (the file adapter renames a
 * complete file over the old one), so a crash never leaves half a list.
 */
export interface JoinTokenStore {
  read(): Promise<Result<readonly JoinTokenRecord[], JoinTokenStoreError>>;
  write(records: readonly JoinTokenRecord[]): Promise<Result<void, JoinTokenStoreError>>;
}

/** Why a presented token was refused. Each `message` is safe to send to the edge: it never echoes the secret. */
export type JoinTokenError =
  | { readonly kind: 'TokenMalformed'; readonly message: string }
  | { readonly kind: 'TokenUnknown'; readonly message: string }
  | { readonly kind: 'TokenExpired'; readonly message: string; readonly expiredAtMs: number }
  | JoinTokenStoreError;

/** Why no token was created. */
export type JoinTokenCreateError =
  | { readonly kind: 'TokenTtlInvalid'; readonly message: string }
  | { readonly kind: 'TokenStoreFull'; readonly message: string }
  | JoinTokenStoreError;

/** A freshly created token: `token` is what `edgehive token create` prints on its last line. */
export interface CreatedJoinToken {
  readonly token: string;
  readonly id: string;
  readonly caSha256: string;
  readonly expiresAtMs: number;
}

/** A token that passed verification. */
export interface VerifiedJoinToken {
  readonly id: string;
  readonly expiresAtMs: number;
}

/** A token split into its parts; only the shape is checked, not whether it was ever issued. */
export interface ParsedJoinToken {
  readonly id: string;
  readonly secret: string;
  readonly caSha256: string;
}

/** Issues and checks join tokens for one cluster CA. */
export interface JoinTokenAuthority {
  /** The CA hash every token of this authority carries. */
  readonly caSha256: string;
  /**
   * Creates a token valid from `nowMs` for `ttlMs` (default 24 h) and records its hash.
   * @example const created = await tokens.createJoinToken({ nowMs: clock.nowMs() }); // created.value.token
   */
  createJoinToken(options: {
    readonly nowMs: number;
    readonly ttlMs?: number;
  }): Promise<Result<CreatedJoinToken, JoinTokenCreateError>>;
  /** Checks shape, CA hash, id and secret (in constant time), then expiry at `nowMs`. */
  verifyJoinToken(token: string, nowMs: number): Promise<Result<VerifiedJoinToken, JoinTokenError>>;
}

export interface JoinTokenAuthorityOptions {
  readonly store: JoinTokenStore;
  /** The cluster CA certificate (PEM) whose hash goes into every token. */
  readonly caCertPem: string;
  /** A CSPRNG; the default is Node's `randomBytes`. Tests pass a seeded one. */
  readonly randomBytes?: (size: number) => Buffer;
}

/**
 * Binds a token store to the cluster CA.
 * @example
 * const tokens = joinTokenAuthority({ store: fileJoinTokenStore(join(dataDir, 'join-tokens.json')), caCertPem: pki.caPem });
 */
export function joinTokenAuthority(options: JoinTokenAuthorityOptions): JoinTokenAuthority {
  const caSha256 = caCertificateSha256(options.caCertPem);
  const draw = options.randomBytes ?? cryptoRandomBytes;
  // Creates in one process are read-modify-write of the whole list: chaining them keeps two
  // concurrent creates from both reading the old list and one of them losing its record.
  let queue: Promise<unknown> = Promise.resolve();
  const createJoinToken: JoinTokenAuthority['createJoinToken'] = (request) => {
    const next = queue.then(() => createRecorded(options.store, caSha256, draw, request));
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    caSha256,
    createJoinToken,
    verifyJoinToken: (token, nowMs) => verifyRecorded(options.store, caSha256, token, nowMs),
  };
}

/**
 * The SHA-256 of a PEM certificate's DER bytes, lowercase hex: what a token pins.
 * Throws only for text that is not a certificate, which is a caller's bug (the PKI validated it).
 */
export function caCertificateSha256(caCertPem: string): string {
  const der = new X509Certificate(caCertPem).raw;
  return createHash('sha256').update(der).digest('hex');
}

/**
 * Splits a token into id, secret and CA hash, checking only the format (see JOIN_TOKEN_PATTERN).
 * The edge uses it to learn which CA to pin; the cloud, before looking anything up.
 */
export function parseJoinToken(token: unknown): Result<ParsedJoinToken, JoinTokenError> {
  if (typeof token !== 'string' || token.length === 0) {
    return err({ kind: 'TokenMalformed', message: 'no join token given' });
  }
  if (token.length > JOIN_TOKEN_CHARS_MAX) {
    return err({ kind: 'TokenMalformed', message: `a join token is ${JOIN_TOKEN_CHARS_MAX} characters; this one is longer` });
  }
  const match = JOIN_TOKEN_PATTERN.exec(token);
  if (match === null) {
    return err({
      kind: 'TokenMalformed',
      message: 'a join token looks like <6 chars a-z0-9>.<32 chars a-z0-9>.<64 hex chars CA hash>; copy it whole from `edgehive token create`',
    });
  }
  const [, id = '', secret = '', caSha256 = ''] = match;
  return ok({ id, secret, caSha256 });
}

async function createRecorded(
  store: JoinTokenStore,
  caSha256: string,
  draw: (size: number) => Buffer,
  request: { readonly nowMs: number; readonly ttlMs?: number },
): Promise<Result<CreatedJoinToken, JoinTokenCreateError>> {
  const ttlMs = request.ttlMs ?? JOIN_TOKEN_TTL_MS_DEFAULT;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < JOIN_TOKEN_TTL_MS_MIN || ttlMs > JOIN_TOKEN_TTL_MS_MAX) {
    return err({
      kind: 'TokenTtlInvalid',
      message: `a join token lives between ${JOIN_TOKEN_TTL_MS_MIN / MINUTE_MS} minute and ${JOIN_TOKEN_TTL_MS_MAX / DAY_MS} days; got ${ttlMs} ms`,
    });
  }
  const stored = await store.read();
  if (!stored.ok) return stored;
  const kept = pruneExpired(stored.value, request.nowMs);
  if (kept.length >= JOIN_TOKENS_MAX) {
    return err({ kind: 'TokenStoreFull', message: `${JOIN_TOKENS_MAX} join tokens are live; wait for some to expire` });
  }
  const id = drawUnusedId(draw, new Set(kept.map((record) => record.id)));
  const secret = randomAlphanumeric(draw, JOIN_TOKEN_SECRET_CHARS);
  const record: JoinTokenRecord = {
    id,
    secretSha256: sha256Hex(secret),
    createdAtMs: request.nowMs,
    expiresAtMs: request.nowMs + ttlMs,
  };
  const written = await store.write([...kept, record]);
  if (!written.ok) return written;
  return ok({ token: `${id}.${secret}.${caSha256}`, id, caSha256, expiresAtMs: record.expiresAtMs });
}

async function verifyRecorded(
  store: JoinTokenStore,
  caSha256: string,
  token: string,
  nowMs: number,
): Promise<Result<VerifiedJoinToken, JoinTokenError>> {
  const parsed = parseJoinToken(token);
  if (!parsed.ok) return parsed;
  if (!equalHex(parsed.value.caSha256, caSha256)) {
    return err({ kind: 'TokenUnknown', message: 'the join token was created for another cluster CA than this cloud\'s' });
  }
  const stored = await store.read();
  if (!stored.ok) return stored;
  const record = stored.value.find((candidate) => candidate.id === parsed.value.id);
  // The id is public, so saying whether it exists leaks nothing; the secret is compared in constant time.
  if (record === undefined || !equalHex(sha256Hex(parsed.value.secret), record.secretSha256)) {
    return err({ kind: 'TokenUnknown', message: `join token ${parsed.value.id} is not known to this cloud (never created, pruned, or wrong secret)` });
  }
  if (nowMs >= record.expiresAtMs) {
    return err({
      kind: 'TokenExpired',
      message: `join token ${record.id} expired at ${new Date(record.expiresAtMs).toISOString()}; create a new one with \`edgehive token create\``,
      expiredAtMs: record.expiresAtMs,
    });
  }
  return ok({ id: record.id, expiresAtMs: record.expiresAtMs });
}

function pruneExpired(records: readonly JoinTokenRecord[], nowMs: number): JoinTokenRecord[] {
  return records.filter((record) => record.expiresAtMs + EXPIRED_TOKEN_KEPT_MS > nowMs);
}

function drawUnusedId(draw: (size: number) => Buffer, used: ReadonlySet<string>): string {
  for (let attempt = 0; attempt < ID_DRAWS_MAX; attempt += 1) {
    const id = randomAlphanumeric(draw, JOIN_TOKEN_ID_CHARS);
    if (!used.has(id)) return id;
  }
  // 8 collisions in a row among at most 1000 of 2 billion ids means the random source is broken.
  invariant(false, 'the random source keeps repeating token ids');
}

function randomAlphanumeric(draw: (size: number) => Buffer, length: number): string {
  let text = '';
  for (let attempt = 0; attempt < RANDOM_DRAWS_MAX && text.length < length; attempt += 1) {
    for (const byte of draw(length * 2)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      text += ALPHABET[byte % ALPHABET.length];
      if (text.length === length) break;
    }
  }
  invariant(text.length === length, 'the random source keeps returning bytes that must be redrawn');
  return text;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time equality of two hex digests of the same algorithm. */
function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  if (left.length !== right.length || left.length === 0) return false;
  return timingSafeEqual(left, right);
}

/**
 * A store that lives as long as the process: for the single-process demo (`edgehive up`) and for
 * specs. It copies on the way in and out, as the file adapter does by serialising.
 */
export function inMemoryJoinTokenStore(initial: readonly JoinTokenRecord[] = []): JoinTokenStore {
  let records: readonly JoinTokenRecord[] = initial.map((record) => ({ ...record }));
  return {
    read: () => Promise.resolve(ok(records.map((record) => ({ ...record })))),
    write: (next) => {
      records = next.map((record) => ({ ...record }));
      return Promise.resolve(ok(undefined));
    },
  };
}
