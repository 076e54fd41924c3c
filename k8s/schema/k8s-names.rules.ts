// Syntax checks for names, label keys and values, config keys and ports, ported from
// k8s.io/apimachinery/pkg/util/validation (as of v1.32): each returns upstream's messages, empty when valid.

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';

const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1035_LABEL = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const CONFIG_MAP_KEY = new RegExp(`^${CONFIG_MAP_KEY_FMT}$`);

export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
const QUALIFIED_NAME_MAX_LENGTH = 63;
const LABEL_VALUE_MAX_LENGTH = 63;
const PORT_NAME_MAX_LENGTH = 15;
const BASE64_ALPHABET = /[A-Za-z0-9+/]/;

// Go measures strings in bytes; so do we.
const byteLength = (value: string): number => Buffer.byteLength(value, 'utf8');

/** Upstream `MaxLenError` (wording used up to v1.32). */
const maxLenError = (length: number): string => `must be no more than ${length} characters`;

/** Upstream `RegexError`: `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`, double space included. */
export function regexError(message: string, format: string, ...examples: readonly string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${format}')`;
  const listed = examples.map((example, i) => `${i > 0 ? ' or ' : ''}'${example}', `).join('');
  return `${message} (e.g. ${listed}regex used for validation is '${format}')`;
}

/** `IsDNS1123Label`: Namespace names, container names, service port names. */
export function isDns1123Label(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errors.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1123_LABEL.test(value)) {
    // A valid subdomain that is not a valid label (and not too long) can only be failing on its dots.
    if (DNS1123_SUBDOMAIN.test(value)) errors.push('must not contain dots');
    else errors.push(regexError('a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character', DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errors;
}

/** `IsDNS1123Subdomain`: most object names. */
export function isDns1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errors.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errors.push(regexError('a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character', DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errors;
}

/** `IsDNS1035Label`: Service names. */
export function isDns1035Label(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errors.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1035_LABEL.test(value)) {
    errors.push(regexError('a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character', DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  }
  return errors;
}

/** `path.IsValidPathSegmentName`: what every name must be so it can sit in a URL (core Events check only this). */
export function isValidPathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const errors: string[] = [];
  for (const illegal of ['/', '%']) if (value.includes(illegal)) errors.push(`may not contain '${illegal}'`);
  return errors;
}

const qualifiedNameRegexError = (): string => regexError("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc');

/** `IsQualifiedName`: label keys and annotation keys, `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errors: string[] = [];
  const parts = value.split('/');
  if (parts.length > 2) {
    return [`a qualified name ${qualifiedNameRegexError()} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const [first = '', second] = parts;
  const name = second ?? first;
  if (second !== undefined) {
    if (first === '') errors.push('prefix part must be non-empty');
    else errors.push(...isDns1123Subdomain(first).map((message) => `prefix part ${message}`));
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (byteLength(name) > QUALIFIED_NAME_MAX_LENGTH) errors.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!QUALIFIED_NAME.test(name)) errors.push(`name part ${qualifiedNameRegexError()}`);
  return errors;
}

/** `IsValidLabelValue`. */
export function isValidLabelValue(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX_LENGTH) errors.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!LABEL_VALUE.test(value)) {
    errors.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errors;
}

/** `IsConfigMapKey`: ConfigMap and Secret data keys. */
export function isConfigMapKey(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) errors.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!CONFIG_MAP_KEY.test(value)) {
    errors.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  }
  // Keys become file names in volumes; upstream's hasChDirPrefix keeps them from escaping the directory.
  if (value === '.') errors.push("must not be '.'");
  else if (value === '..') errors.push("must not be '..'");
  else if (value.startsWith('..')) errors.push("must not start with '..'");
  return errors;
}

/** `IsValidPortNum`. */
export const isValidPortNum = (port: number): string[] => (Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive']);

/** `IsValidPortName`: IANA_SVC_NAME. */
export function isValidPortName(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > PORT_NAME_MAX_LENGTH) errors.push(maxLenError(PORT_NAME_MAX_LENGTH));
  if (!/^[-a-z0-9]+$/.test(value)) errors.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) errors.push('must contain at least one letter (a-z)');
  if (value.includes('--')) errors.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) errors.push('must not begin or end with a hyphen');
  return errors;
}

/**
 * Where Go's `base64.StdEncoding` refuses a string (the offset in `illegal base64 data at input byte N`),
 * undefined when it decodes. A port of encoding/base64's decodeQuantum: padding is required, CR and LF
 * are skipped.
 */
export function base64ErrorOffset(source: string): number | undefined {
  const isLineBreak = (i: number): boolean => source[i] === '\n' || source[i] === '\r';
  let si = 0;
  while (si < source.length) {
    let j = 0;
    while (j < 4) {
      if (si === source.length) return j === 0 ? undefined : si - j;
      const char = source[si] ?? '';
      si += 1;
      if (BASE64_ALPHABET.test(char)) j += 1;
      else if (char === '\n' || char === '\r') continue;
      else if (char !== '=') return si - 1;
      else if (j < 2) return si - 1;
      else {
        if (j === 2) {
          while (si < source.length && isLineBreak(si)) si += 1;
          if (si === source.length) return source.length;
          if (source[si] !== '=') return si - 1;
          si += 1;
        }
        while (si < source.length && isLineBreak(si)) si += 1;
        return si < source.length ? si : undefined;
      }
    }
  }
  return undefined;
}
