// parseDurationMs, the --ttl parser. Method: table of inputs and their values or refusals.
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './token.js';

describe('parseDurationMs', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toEqual({ ok: true, value: ms });
  });

  it.each(['', 'soon', '1', 'h', '1h ', ' 1h', '1h-30m', '1.5h', '1w', '1h1h1h1h1h', '9'.repeat(40) + 's'])('refuses %j', (text) => {
    const parsed = parseDurationMs(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain('--ttl takes a duration such as 30m, 1h, 7d or 1h30m');
  });
});
