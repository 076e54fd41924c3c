// `edgehive token create`: issues a join token for the cluster whose PKI lives in the data dir, the
// way `kubeadm token create` and `keadm gettoken` do; an edge presents it once, on its first join.
import { resolve } from 'node:path';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { type Result, err, ok } from '../../kernel/index.js';

export interface TokenCreateOptions {
  readonly dataDir: string;
  /** A duration such as `1h`, `30m`, `7d` or `1h30m`; the token's default (24 h) when absent. */
  readonly ttl?: string;
}

export interface TokenIo {
  out(line: string): void;
  err(line: string): void;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `1h30m` has two parts; a duration longer than `1d2h3m4s` is not a typo we want to guess at. */
const DURATION_PARTS_MAX = 4;
const DURATION_CHARS_MAX = 32;

/**
 * Parses a duration like `90s`, `30m`, `1h`, `7d` or `1h30m` into milliseconds. The range a token
 * may live (1 minute to 30 days) is the token authority's to check, so it is not repeated here.
 * @example parseDurationMs('1h30m') // ok(5_400_000)
 */
export function parseDurationMs(text: string): Result<number, string> {
  const parts = text.length <= DURATION_CHARS_MAX ? [...text.matchAll(/(\d+)([smhd])/g)] : [];
  const covered = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || parts.length > DURATION_PARTS_MAX || covered !== text) {
    return err(`--ttl takes a duration such as 30m, 1h, 7d or 1h30m, not '${text}'`);
  }
  return ok(parts.reduce((total, [, amount = '0', unit = 's']) => total + Number(amount) * (UNIT_MS[unit] ?? 0), 0));
}

/**
 * Creates a token and prints it alone on the last line (DESIGN.md, CLI contract), after one line
 * saying when it expires and how an edge uses it. Resolves to the exit code.
 */
export async function runTokenCreate(options: TokenCreateOptions, io: TokenIo): Promise<number> {
  const ttl = options.ttl === undefined ? ok(undefined) : parseDurationMs(options.ttl);
  if (!ttl.ok) return fail(io, ttl.error);
  const dataDir = resolve(options.dataDir);
  const created = await createJoinTokenInDataDir(dataDir, { nowMs: Date.now(), ...(ttl.value === undefined ? {} : { ttlMs: ttl.value }) });
  if (!created.ok) return fail(io, created.error.message);
  const { id, expiresAtMs, token } = created.value;
  io.out(`join token ${id} for the cluster in ${dataDir}, valid until ${new Date(expiresAtMs).toISOString()}; on the edge: edgehive edge --cloud wss://<cloud>:<stream port> --name <node> --token <the token below>`);
  io.out(token);
  return 0;
}

function fail(io: TokenIo, message: string): number {
  io.err(`edgehive token create: ${message}`);
  return 1;
}
