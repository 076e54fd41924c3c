// LocalView: given held objects and desired changes, then the pods, ConfigMaps and Secrets it
// answers are exactly those the last changes left, and it says when a change concerns the pods (a
// Pod, or a ConfigMap or Secret they consume; not a Service).
import { describe, expect, it } from 'vitest';
import { LocalView } from './local-view.js';

const cm = (name: string, value: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid: `u-${name}` }, data: { value } });
const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `u-${name}` }, spec: { containers: [] } });
const put = (key: string, content: object) => ({ op: 'put' as const, key, uid: 'u', resourceVersion: '1', contentHash: 'h', content: content as never });

describe('LocalView', () => {
  it('starts from the journal, follows puts and deletes, and tells changes that concern pods apart', () => {
    const view = new LocalView([{ key: 'configmaps/default/settings', content: cm('settings', 'a') }, { key: 'pods/default/web', content: pod('web') }]);
    expect(view.configMap('default', 'settings')).toEqual(cm('settings', 'a'));
    expect(view.pods().map((p) => (p['metadata'] as { name: string }).name)).toEqual(['web']);

    expect(view.apply([put('configmaps/default/settings', cm('settings', 'b'))])).toBe(true);
    expect(view.apply([put('services/default/front', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'front', namespace: 'default' } })])).toBe(false);
    expect(view.configMap('default', 'settings')).toEqual(cm('settings', 'b'));
    expect(view.apply([put('pods/default/api', pod('api')), { op: 'delete', key: 'pods/default/web', uid: 'u-web' }])).toBe(true);
    expect(view.pods().map((p) => (p['metadata'] as { name: string }).name)).toEqual(['api']);
    expect(view.secret('default', 'settings')).toBeUndefined();
    expect(view.configMap('other', 'settings')).toBeUndefined();
  });

  it('ignores content that is not an object', () => {
    const view = new LocalView([{ key: 'pods/default/odd', content: 'not an object' }]);
    expect(view.pods()).toEqual([]);
  });
});
