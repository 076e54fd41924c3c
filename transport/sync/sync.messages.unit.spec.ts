// Resource versions and limits: the orderings and bounds every core relies on.
import { describe, expect, it } from 'vitest';
import { assertLimits, defaultAckPolicy, defaultFlowLimits, jsonFrameBytes, utf8Bytes } from './sync.limits.js';
import { compareResourceVersions, isResourceVersion } from './sync.messages.js';

describe('resourceVersions', () => {
  it('are ordered as numbers, however long', () => {
    expect(compareResourceVersions('9', '10')).toBeLessThan(0);
    expect(compareResourceVersions('10', '9')).toBeGreaterThan(0);
    expect(compareResourceVersions('18446744073709551615', '18446744073709551614')).toBeGreaterThan(0);
    expect(compareResourceVersions('42', '42')).toBe(0);
  });

  it('are decimal digits without leading zeros; anything else is a decoder’s job to refuse', () => {
    expect(['0', '1', '123456'].every(isResourceVersion)).toBe(true);
    expect(['', '01', '-1', '1.5', 'abc', '1'.repeat(21)].some(isResourceVersion)).toBe(false);
    expect(() => compareResourceVersions('x', '1')).toThrow('decimal');
  });
});

describe('limits', () => {
  it('default to PROTOCOL.md’s numbers', () => {
    expect(defaultFlowLimits).toMatchObject({ unackedFramesMax: 1024, unackedBytesMax: 8 * 1024 * 1024, frameBytesMax: 4 * 1024 * 1024 });
    expect(() => assertLimits(defaultFlowLimits, defaultAckPolicy)).not.toThrow();
  });

  it('refuse combinations that would never ack or deadlock', () => {
    expect(() => assertLimits(defaultFlowLimits, { ...defaultAckPolicy, ackEveryFrames: 2000 })).toThrow('full window');
    expect(() => assertLimits({ ...defaultFlowLimits, ackTimeoutMs: 50 }, defaultAckPolicy)).toThrow('before the sender gives up');
    expect(() => assertLimits(defaultFlowLimits, { ...defaultAckPolicy, applyQueueFramesMax: 10 })).toThrow('apply queue');
  });

  it('measure frames in UTF-8 bytes, as they go on the wire', () => {
    expect(utf8Bytes('aé€😀')).toBe(Buffer.byteLength('aé€😀', 'utf8'));
    expect(jsonFrameBytes({ kind: 'ack', upTo: 7 })).toBe(Buffer.byteLength('{"kind":"ack","upTo":7}'));
  });
});
