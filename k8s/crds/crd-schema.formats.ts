// The string formats kube-apiserver checks in CRD schemas (apiextensions' supportedFormats, checked
// by kube-openapi's strfmt registry); any other `format` is ignored there, so it is ignored here.
import { isIP } from 'node:net';

/** A format check: true when the string is in the format. */
export type FormatCheck = (value: string) => boolean;

// Upstream compares format names with dashes removed (`date-time` is `datetime`).
export const normalizeFormatName = (format: string): string => format.replaceAll('-', '');

const matches =
  (pattern: RegExp): FormatCheck =>
  (value) =>
    pattern.test(value);

const HOSTNAME =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$/u;
const hostnameMaxLength = 255;
const isHostname: FormatCheck = (value) => value.length <= hostnameMaxLength && HOSTNAME.test(value);

// Go's net.ParseIP accepts both families; strfmt tells them apart by '.' and ':'.
const isIPv4: FormatCheck = (value) => isIP(value) !== 0 && value.includes('.');
const isIPv6: FormatCheck = (value) => isIP(value) !== 0 && value.includes(':');

function isCidr(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  if (prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

// Go's net.ParseMAC: 6, 8 or 20 octets, separated by ':' or '-' per octet or by '.' per 4 hex digits.
const MAC = /^(?:(?:[0-9a-fA-F]{2}:){5}|(?:[0-9a-fA-F]{2}:){7}|(?:[0-9a-fA-F]{2}:){19})[0-9a-fA-F]{2}$/;
const MAC_DASH = /^(?:(?:[0-9a-fA-F]{2}-){5}|(?:[0-9a-fA-F]{2}-){7}|(?:[0-9a-fA-F]{2}-){19})[0-9a-fA-F]{2}$/;
const MAC_DOT = /^(?:(?:[0-9a-fA-F]{4}\.){2}|(?:[0-9a-fA-F]{4}\.){3}|(?:[0-9a-fA-F]{4}\.){9})[0-9a-fA-F]{4}$/;
const isMac: FormatCheck = (value) => MAC.test(value) || MAC_DASH.test(value) || MAC_DOT.test(value);

const digitsOf = (value: string): string => value.replaceAll(/[\s-]/g, '');

function isIsbn10(value: string): boolean {
  const digits = digitsOf(value);
  if (!/^\d{9}[\dX]$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 10; i += 1) sum += (digits[i] === 'X' ? 10 : Number(digits[i])) * (10 - i);
  return sum % 11 === 0;
}

function isIsbn13(value: string): boolean {
  const digits = digitsOf(value);
  if (!/^\d{13}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i += 1) sum += Number(digits[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(digits[12]);
}

const CREDIT_CARD = /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$/;

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

function isCreditCard(value: string): boolean {
  const digits = value.replaceAll(/[^0-9]/g, '');
  return CREDIT_CARD.test(digits) && passesLuhn(digits);
}

const RGB_PART = String.raw`\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*`;
const RGB_COLOR = new RegExp(`^rgb\\(${RGB_PART},${RGB_PART},${RGB_PART}\\)$`);

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Go's time.Parse("2006-01-02", value). */
function isDate(value: string): boolean {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (parts === null) return false;
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const maxDay = month === 2 && !isLeapYear(year) ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day <= maxDay;
}

// strfmt.IsDateTime: a date, a 't', then hh:mm:ss, optional fraction, and 'z' or an offset.
const TIME_OF_DAY = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/;
function isDateTime(value: string): boolean {
  const [date = '', time, ...rest] = value.toLowerCase().split('t');
  if (time === undefined || rest.length > 0 || !isDate(date)) return false;
  const clock = TIME_OF_DAY.exec(time);
  return clock !== null && (clock[1] ?? '') <= '23' && (clock[2] ?? '') <= '59' && (clock[3] ?? '') <= '59';
}

// strfmt.ParseDuration: Go's time.ParseDuration syntax, or else any "<n> <unit>" run it can find
// (upstream's matcher is not anchored) whose unit it knows.
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;
const DURATION_UNITS = new Set([
  'ns', 'us', 'µs', 'ms', 's', 'sec', 'secs', 'second', 'seconds', 'm', 'min', 'mins', 'minute', 'minutes',
  'h', 'hr', 'hrs', 'hour', 'hours', 'd', 'day', 'days', 'w', 'wk', 'wks', 'week', 'weeks',
]);
const isDuration: FormatCheck = (value) =>
  GO_DURATION.test(value) || [...value.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)].some((run) => DURATION_UNITS.has((run[2] ?? '').toLowerCase()));

/** Every format upstream validates, by normalized name. */
export const kubeFormats: ReadonlyMap<string, FormatCheck> = new Map<string, FormatCheck>([
  ['bsonobjectid', matches(/^[0-9a-fA-F]{24}$/)],
  ['uri', matches(/^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|\/)[^\s\p{Cc}]*$/u)],
  ['email', matches(/^(?:[^<>\s]+\s+)*<?[^\s@<>]+@[^\s@<>]+>?$/)],
  ['hostname', isHostname],
  ['ipv4', isIPv4],
  ['ipv6', isIPv6],
  ['cidr', isCidr],
  ['mac', isMac],
  ['uuid', matches(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i)],
  ['uuid3', matches(/^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i)],
  ['uuid4', matches(/^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i)],
  ['uuid5', matches(/^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i)],
  ['isbn', (value) => isIsbn10(value) || isIsbn13(value)],
  ['isbn10', isIsbn10],
  ['isbn13', isIsbn13],
  ['creditcard', isCreditCard],
  ['ssn', (value) => value.length === 11 && /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(value)],
  ['hexcolor', matches(/^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/)],
  ['rgbcolor', matches(RGB_COLOR)],
  ['byte', matches(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/)],
  ['password', () => true],
  ['date', isDate],
  ['duration', isDuration],
  ['datetime', isDateTime],
]);

/** The check for a schema's `format`, or undefined when upstream ignores that format. */
export const formatCheckFor = (format: string): FormatCheck | undefined => kubeFormats.get(normalizeFormatName(format));
