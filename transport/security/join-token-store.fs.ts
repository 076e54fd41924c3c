// The join-token store as one JSON file in the cloud's data dir: owner-only (0600), replaced whole by
// an atomic rename, and decoded field by field on read, because a hand-edited or damaged file must
// end as a clear error rather than a token check that passes by accident.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Result, err, isJsonObject, ok } from '../../kernel/index.js';
import { SECRET_FILE_MODE, writeFileAtomic } from '../../k8s/index.js';
import { JOIN_TOKEN_ID_CHARS, JOIN_TOKENS_MAX, type JoinTokenRecord, type JoinTokenStore, type JoinTokenStoreError } from './join-token.js';

/** The file's name inside the data dir. */
export const JOIN_TOKENS_FILE_NAME = 'join-tokens.json';
const FILE_FORMAT_VERSION = 1;
/** A record serialises to about 170 bytes; this leaves room for JOIN_TOKENS_MAX of them and refuses anything far larger. */
const FILE_BYTES_MAX = 512 * 1024;

const idPattern = new RegExp(`^[a-z0-9]{${JOIN_TOKEN_ID_CHARS}}$`);
const sha256Pattern = /^[0-9a-f]{64}$/;

/** The token file in a data dir: `<dataDir>/join-tokens.json`. */
export function joinTokensPath(dataDir: string): string {
  return join(dataDir, JOIN_TOKENS_FILE_NAME);
}

/**
 * A store backed by `path`. A missing file is an empty store; the file is created on the first
 * write with mode 0600 (it holds hashes only, but they are still the cluster's admission list).
 * @example const store = fileJoinTokenStore(joinTokensPath(dataDir));
 */
export function fileJoinTokenStore(path: string): JoinTokenStore {
  return {
    read: () => readRecords(path),
    write: (records) => writeRecords(path, records),
  };
}

async function readRecords(path: string): Promise<Result<readonly JoinTokenRecord[], JoinTokenStoreError>> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8' });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return ok([]);
    return failed(`cannot read join tokens from ${path}: ${describe(error)}`);
  }
  if (text.length > FILE_BYTES_MAX) return failed(`${path} is larger than ${FILE_BYTES_MAX} bytes; it is not a join-token file`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return failed(`${path} is not JSON (${describe(error)}); remove it to start with no join tokens`);
  }
  return decodeFile(path, json);
}

async function writeRecords(path: string, records: readonly JoinTokenRecord[]): Promise<Result<void, JoinTokenStoreError>> {
  const text = `${JSON.stringify({ version: FILE_FORMAT_VERSION, tokens: records }, null, 2)}\n`;
  try {
    await writeFileAtomic(path, text, { mode: SECRET_FILE_MODE });
    return ok(undefined);
  } catch (error) {
    return failed(`cannot write join tokens to ${path}: ${describe(error)}`);
  }
}

function decodeFile(path: string, json: unknown): Result<readonly JoinTokenRecord[], JoinTokenStoreError> {
  if (!isJsonObject(json) || json['version'] !== FILE_FORMAT_VERSION || !Array.isArray(json['tokens'])) {
    return failed(`${path} is not a version ${FILE_FORMAT_VERSION} join-token file ({"version":1,"tokens":[…]})`);
  }
  const tokens: readonly unknown[] = json['tokens'];
  if (tokens.length > JOIN_TOKENS_MAX * 2) return failed(`${path} holds ${tokens.length} records, more than this cloud ever writes`);
  const records: JoinTokenRecord[] = [];
  for (const [index, entry] of tokens.entries()) {
    const record = decodeRecord(entry);
    if (record === undefined) return failed(`${path}: token record ${index} is damaged; remove the file to start over`);
    records.push(record);
  }
  return ok(records);
}

function decodeRecord(entry: unknown): JoinTokenRecord | undefined {
  if (!isJsonObject(entry)) return undefined;
  const { id, secretSha256, createdAtMs, expiresAtMs } = entry;
  if (typeof id !== 'string' || !idPattern.test(id)) return undefined;
  if (typeof secretSha256 !== 'string' || !sha256Pattern.test(secretSha256)) return undefined;
  if (!Number.isSafeInteger(createdAtMs) || !Number.isSafeInteger(expiresAtMs)) return undefined;
  return { id, secretSha256, createdAtMs: createdAtMs as number, expiresAtMs: expiresAtMs as number };
}

function failed(message: string): Result<never, JoinTokenStoreError> {
  return err({ kind: 'TokenStoreFailed', message });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
