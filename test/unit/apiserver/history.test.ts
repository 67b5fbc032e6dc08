import { describe, expect, it } from 'vitest';
import { EventHistory, type StoredEvent } from '../../apiserver/history.js';
import { resolvePath } from '../../apiserver/resources.js';
import { ObjectStore } from '../../apiserver/store.js';
import { makeService } from '../../apiserver/builders.js';

const ev = (rv: number): StoredEvent => ({ type: 'ADDED', resource: 'services', rv, object: {}, previous: undefined });

describe('EventHistory', () => {
  it('replays events newer than a version and expires what fell out of the window', () => {
    const h = new EventHistory(3);
    for (const rv of [2, 3, 4, 5]) h.push(ev(rv));
    expect(h.since(1)).toBe('expired');
    expect(h.since(2)).not.toBe('expired');
    expect((h.since(2) as StoredEvent[]).map((e) => e.rv)).toEqual([3, 4, 5]);
    expect(h.since(5)).toEqual([]);
  });

  it('compaction expires every older version but not the current one', () => {
    const h = new EventHistory(100);
    for (const rv of [2, 3]) h.push(ev(rv));
    h.compact(3);
    expect(h.since(2)).toBe('expired');
    expect(h.since(3)).toEqual([]);
    h.push(ev(4));
    expect((h.since(3) as StoredEvent[]).map((e) => e.rv)).toEqual([4]);
  });
});

describe('ObjectStore', () => {
  it('bumps one global resourceVersion on every change and keeps identity on update', () => {
    const s = new ObjectStore(10);
    const a = s.create(makeService({ name: 'a' }));
    const b = s.create(makeService({ name: 'b', namespace: 'x' }));
    expect(Number(b.metadata?.resourceVersion)).toBe(Number(a.metadata?.resourceVersion) + 1);
    const a2 = s.update(makeService({ name: 'a' }));
    expect(a2.metadata?.['uid']).toBe(a.metadata?.['uid']);
    expect(() => s.create(makeService({ name: 'a' }))).toThrow(/exists/);
    const gone = s.delete(makeService({ name: 'a' }));
    expect(Number(gone?.metadata?.resourceVersion)).toBe(s.currentRv());
    expect(s.list('services').map((o) => o.metadata?.name)).toEqual(['b']);
    const events = s.since(Number(a.metadata?.resourceVersion));
    expect(events !== 'expired' && events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  });
});

describe('resolvePath', () => {
  it('resolves collection, namespaced and single-object paths', () => {
    expect(resolvePath('/api/v1/services')).toMatchObject({ resource: { name: 'services' }, namespace: undefined });
    expect(resolvePath('/api/v1/namespaces/kube-system/endpoints')).toMatchObject({
      resource: { name: 'endpoints' },
      namespace: 'kube-system',
    });
    expect(resolvePath('/apis/discovery.k8s.io/v1/namespaces/a/endpointslices/b')).toMatchObject({
      resource: { name: 'endpointslices' },
      namespace: 'a',
      name: 'b',
    });
    expect(resolvePath('/api/v1/nodes/node-a')).toMatchObject({ resource: { name: 'nodes' }, name: 'node-a' });
    expect(resolvePath('/api/v1/services/x')).toBeUndefined();
    expect(resolvePath('/api/v1/pods')).toBeUndefined();
  });
});
