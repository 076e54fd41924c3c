// Secret values never reach a terminal: replay output passes through this redaction.

const redacted = '<redacted>';
const secretKeys = new Set(['secretData', 'secretValues', 'password', 'token', 'bearerToken']);

/** A copy of `value` with Secret data, stringData and secret-named fields replaced by `<redacted>`. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const isSecret = record['kind'] === 'Secret';
  return Object.fromEntries(
    Object.entries(record).map(([key, inner]) => {
      if (secretKeys.has(key)) return [key, redacted];
      if (isSecret && (key === 'data' || key === 'stringData') && typeof inner === 'object' && inner !== null) {
        return [key, Object.fromEntries(Object.keys(inner).map((k) => [k, redacted]))];
      }
      return [key, redactSecrets(inner)];
    }),
  );
}
