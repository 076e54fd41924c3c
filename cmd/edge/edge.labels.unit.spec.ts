// `edgehive edge --labels`: parsed as kubelet's --node-labels, refused with the rule a label broke.
import { describe, expect, it } from 'vitest';
import { parseNodeLabels } from './edge.js';

describe('parseNodeLabels', () => {
  it('reads key=value pairs, prefixed keys and empty values', () => {
    expect(parseNodeLabels('site=plant-3, example.com/zone=line_a,gpu=')).toEqual({ ok: true, value: { site: 'plant-3', 'example.com/zone': 'line_a', gpu: '' } });
    expect(parseNodeLabels('')).toEqual({ ok: true, value: {} });
  });

  it('refuses a pair without =, a bad key, a bad value and a repeated key, naming the rule', () => {
    expect(parseNodeLabels('site')).toEqual({ ok: false, error: "--labels: 'site' is not key=value" });
    expect(parseNodeLabels('-site=a')).toMatchObject({ ok: false, error: expect.stringContaining('the key -site must end in a name') });
    expect(parseNodeLabels('Bad_Prefix/site=a')).toMatchObject({ ok: false, error: expect.stringContaining('prefix that is not a DNS subdomain') });
    expect(parseNodeLabels(`site=${'a'.repeat(64)}`)).toMatchObject({ ok: false, error: expect.stringContaining('the value of site must be at most 63') });
    expect(parseNodeLabels('site=a,site=b')).toEqual({ ok: false, error: '--labels: site is given twice' });
  });
});
