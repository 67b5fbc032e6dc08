import { describe, expect, it } from 'vitest';
import { ModelStore } from '../../../proxy/model/store.js';
import { PersistentMapView } from '../../../proxy/model/persistent-map.js';
import { memoryLogger } from '../../../proxy/log.js';
import { node, slice, sliceEp, svc } from './fixtures.js';

const sorted = (s: ReadonlySet<string>): string[] => [...s].sort();

function store(): ModelStore {
  return new ModelStore({ nodeName: 'me', now: () => new Date('2024-01-01T00:00:00Z') });
}

describe('ModelStore change tracking', () => {
  it('adds a service and its endpoints', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.2'], { nodeName: 'me' }), sliceEp(['198.18.0.1'])]));
    expect(s.pendingCounts()).toEqual({ services: 1, endpoints: 1 });
    const { state, changes } = s.snapshot();
    expect(s.pendingCounts()).toEqual({ services: 0, endpoints: 0 });
    expect(sorted(changes.changed)).toEqual(['default/web:http']);
    expect(changes.removed.size).toBe(0);
    expect(state.services.get('default/web:http')?.port).toBe(80);
    const eps = state.endpoints.get('default/web:http')!;
    expect(eps.map((e) => [e.ip, e.port, e.isLocal])).toEqual([
      ['198.18.0.1', 8080, false],
      ['198.18.0.2', 8080, true],
    ]);
  });

  it('an identical update yields no change and keeps identities', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.1'])]));
    const first = s.snapshot().state;
    s.upsertService(svc('web')); // new object, same content
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.1'])]));
    const { state, changes } = s.snapshot();
    expect(changes.changed.size).toBe(0);
    expect(state.services.get('default/web:http')).toBe(first.services.get('default/web:http'));
    expect(state.endpoints.get('default/web:http')).toBe(first.endpoints.get('default/web:http'));
  });

  it('skips re-delivered objects with the same resourceVersion', () => {
    const s = store();
    s.upsertService(svc('web', { rv: '5' }));
    s.snapshot();
    s.upsertService(svc('web', { rv: '5' }));
    expect(s.pendingCounts().services).toBe(0);
    s.upsertService(svc('web', { rv: '6', ports: [{ name: 'http', port: 81 }] }));
    expect(s.pendingCounts().services).toBe(1);
    expect(s.snapshot().state.services.get('default/web:http')?.port).toBe(81);
  });

  it('updates, removes ports and deletes services', () => {
    const s = store();
    s.upsertService(svc('web', { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }));
    s.upsertService(svc('other'));
    const first = s.snapshot();
    expect(sorted(first.changes.changed)).toEqual(['default/other:http', 'default/web:http', 'default/web:https']);

    s.upsertService(svc('web', { ports: [{ name: 'http', port: 8000 }] }));
    const second = s.snapshot();
    expect(sorted(second.changes.changed)).toEqual(['default/web:http', 'default/web:https']);
    expect(sorted(second.changes.removed)).toEqual(['default/web:https']);
    expect(second.state.services.has('default/web:https')).toBe(false);
    expect(second.state.endpoints.has('default/web:https')).toBe(false);
    expect(second.state.services.get('default/other:http')).toBe(first.state.services.get('default/other:http'));
    // The previous state handed out is not mutated by later snapshots.
    expect(first.state.services.get('default/web:http')?.port).toBe(80);

    s.deleteService(svc('web'));
    const third = s.snapshot();
    expect(sorted(third.changes.removed)).toEqual(['default/web:http']);
    expect([...third.state.services.keys()]).toEqual(['default/other:http']);
  });

  it('tracks endpoint additions and removals, and slices across the same service', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.1'])]));
    s.snapshot();
    s.upsertEndpointSlice(slice('web-2', 'web', [sliceEp(['198.18.0.2']), sliceEp(['198.18.0.1'], { conditions: { ready: false } })]));
    let snap = s.snapshot();
    expect(sorted(snap.changes.changed)).toEqual(['default/web:http']);
    expect(snap.changes.removed.size).toBe(0);
    expect(snap.state.endpoints.get('default/web:http')!.map((e) => [e.ip, e.ready])).toEqual([
      ['198.18.0.1', true],
      ['198.18.0.2', true],
    ]);
    s.deleteEndpointSlice(slice('web-1', 'web', []));
    snap = s.snapshot();
    expect(snap.state.endpoints.get('default/web:http')!.map((e) => [e.ip, e.ready])).toEqual([
      ['198.18.0.1', false],
      ['198.18.0.2', true],
    ]);
    s.deleteEndpointSlice(slice('web-2', 'web', []));
    snap = s.snapshot();
    expect(snap.changes.changed.has('default/web:http')).toBe(true);
    expect(snap.state.endpoints.get('default/web:http')).toEqual([]);
    expect(s.objectCounts()).toEqual({ services: 1, endpointSlices: 0, endpoints: 0, nodes: 0 });
  });

  it('follows a slice whose service label changes', () => {
    const s = store();
    s.upsertService(svc('a'));
    s.upsertService(svc('b', { clusterIP: '198.19.0.11' }));
    s.upsertEndpointSlice(slice('x', 'a', [sliceEp(['198.18.0.1'])]));
    s.snapshot();
    s.upsertEndpointSlice(slice('x', 'b', [sliceEp(['198.18.0.1'])]));
    const { state, changes } = s.snapshot();
    expect(sorted(changes.changed)).toEqual(['default/a:http', 'default/b:http']);
    expect(state.endpoints.get('default/a:http')).toEqual([]);
    expect(state.endpoints.get('default/b:http')?.length).toBe(1);
  });

  it('uses legacy v1 Endpoints when there are no slices', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.upsertEndpoints({
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '198.18.0.5' }], ports: [{ name: 'http', port: 9090 }] }],
    });
    const { state } = s.snapshot();
    expect(state.endpoints.get('default/web:http')!.map((e) => `${e.ip}:${e.port}`)).toEqual(['198.18.0.5:9090']);
  });

  it('ignores services of another proxy and headless slices', () => {
    const s = store();
    s.upsertService(svc('mine'));
    s.upsertService(svc('theirs', { labels: { 'service.kubernetes.io/service-proxy-name': 'other-proxy' } }));
    s.upsertEndpointSlice(slice('m', 'mine', [sliceEp(['198.18.0.1'])], { labels: { 'service.kubernetes.io/headless': '' } }));
    const { state } = s.snapshot();
    expect([...state.services.keys()]).toEqual(['default/mine:http']);
    expect(state.endpoints.get('default/mine:http')).toEqual([]);
  });

  it('collects trigger times once', () => {
    const s = store();
    s.upsertEndpointSlice(
      slice('w', 'web', [], { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T10:00:00Z' } }),
    );
    expect(s.snapshot().changes.triggerTimes).toEqual([Date.UTC(2024, 4, 1, 10)]);
    expect(s.snapshot().changes.triggerTimes).toEqual([]);
  });
});

describe('ModelStore rejections', () => {
  it('rejects an invalid service without affecting its neighbours, once per change', () => {
    const { logger, lines } = memoryLogger();
    const s = new ModelStore({ nodeName: 'me', logger });
    s.upsertService(svc('good'));
    s.upsertService(svc('bad', { ports: [{ name: 'http', port: 0 }] }));
    const first = s.snapshot();
    expect([...first.state.services.keys()]).toEqual(['default/good:http']);
    expect(first.rejected).toHaveLength(1);
    expect(first.rejected[0]).toMatchObject({
      kind: 'Service',
      namespace: 'default',
      name: 'bad',
      errors: [{ field: 'spec.ports[0].port', message: 'must be between 1 and 65535, got 0; this port is not proxied' }],
    });
    // Reported through the snapshot; the sync loop logs it, once (sync-loop.test.ts), not the store too.
    expect(lines.filter((l) => l.includes('bad'))).toEqual([]);

    // An endpoints change of the bad service re-runs the join but does not re-report.
    s.upsertEndpointSlice(slice('bad-1', 'bad', [sliceEp(['198.18.0.1'])]));
    expect(s.snapshot().rejected).toEqual([]);
    expect(s.rejections()).toHaveLength(1);

    // Fixing it clears the record and brings the ports in.
    s.upsertService(svc('bad', { clusterIP: '198.19.0.12' }));
    const fixed = s.snapshot();
    expect(fixed.rejected).toEqual([]);
    expect(s.rejections()).toEqual([]);
    expect(sorted(fixed.changes.changed)).toEqual(['default/bad:http']);
    expect(fixed.state.endpoints.get('default/bad:http')?.length).toBe(1);
  });

  it('a valid service becoming invalid removes its ports; deleting clears the rejection', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.snapshot();
    s.upsertService(svc('web', { clusterIP: 'not-an-ip' }));
    const snap = s.snapshot();
    expect(sorted(snap.changes.removed)).toEqual(['default/web:http']);
    expect(snap.rejected[0]?.errors[0]?.field).toBe('spec.clusterIP');
    s.deleteService(svc('web'));
    expect(s.rejections()).toEqual([]);
  });

  it('one bad external IP drops only itself: the ClusterIP stays programmed and the record names the field', () => {
    const s = store();
    s.upsertService(svc('web', { spec: { externalIPs: ['198.19.1.1'] } }));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.1'])]));
    const before = s.snapshot().state.endpoints.get('default/web:http');
    s.upsertService(svc('web', { spec: { externalIPs: ['198.19.1.1', '198.19.1.2.3'] } }));
    const snap = s.snapshot();
    expect(snap.changes.removed.size).toBe(0);
    expect(snap.state.services.get('default/web:http')).toMatchObject({ clusterIPs: ['198.19.0.10'], externalIPs: ['198.19.1.1'] });
    expect(snap.state.endpoints.get('default/web:http')).toBe(before);
    expect(snap.rejected).toEqual([
      {
        kind: 'Service',
        namespace: 'default',
        name: 'web',
        errors: [{ field: 'spec.externalIPs[1]', message: 'must be a valid IP address, got "198.19.1.2.3"; this external IP is ignored' }],
        time: expect.any(String),
      },
    ]);
    expect(s.rejections()).toHaveLength(1);
  });

  it('stores canonical addresses: respelling an address with leading zeros is no change', () => {
    const s = store();
    s.upsertService(svc('web', { clusterIP: '198.19.0.10', spec: { externalIPs: ['192.0.2.51'] } }));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.12'])]));
    const first = s.snapshot();
    const sp = first.state.services.get('default/web:http');
    s.upsertService(svc('web', { clusterIP: '198.19.0.010', spec: { externalIPs: ['192.0.2.051'] } }));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.018.0.012'])]));
    const second = s.snapshot();
    expect(second.rejected).toEqual([]);
    expect(second.changes.changed.size).toBe(0);
    expect(second.state.services.get('default/web:http')).toBe(sp);
    expect(second.state.endpoints.get('default/web:http')?.map((e) => e.ip)).toEqual(['198.18.0.12']);
  });

  it('reports slices with invalid addresses but keeps their valid endpoints', () => {
    const s = store();
    s.upsertService(svc('web'));
    s.upsertEndpointSlice(slice('web-1', 'web', [sliceEp(['198.18.0.1']), sliceEp(['999.1.1.1'])]));
    const snap = s.snapshot();
    expect(snap.rejected.map((r) => [r.kind, r.name, r.errors[0]?.field])).toEqual([['EndpointSlice', 'web-1', 'endpoints[1].addresses[0]']]);
    expect(snap.state.endpoints.get('default/web:http')?.map((e) => e.ip)).toEqual(['198.18.0.1']);
    s.deleteEndpointSlice(slice('web-1', 'web', []));
    expect(s.rejections()).toEqual([]);
  });
});

describe('ModelStore node', () => {
  it('tracks only its own node: zone changes and eligibility', () => {
    const s = store();
    const initial = s.snapshot();
    expect(initial.state.node).toMatchObject({ name: 'me', eligible: true, zone: '' });
    s.upsertNode(node('someone-else', { zone: 'x' }));
    expect(s.snapshot().changes.nodeChanged).toBe(false);

    s.upsertNode(node('me', { zone: 'a' }));
    let snap = s.snapshot();
    expect(snap.changes.nodeChanged).toBe(true);
    expect(snap.state.node).toMatchObject({ zone: 'a', addresses: ['198.18.0.1'], podCIDRs: ['198.18.1.0/24'], eligible: true });

    s.upsertNode(node('me', { zone: 'a' }));
    snap = s.snapshot();
    expect(snap.changes.nodeChanged).toBe(false);

    s.upsertNode(node('me', { zone: 'a', taints: ['ToBeDeletedByClusterAutoscaler'] }));
    snap = s.snapshot();
    expect(snap.changes.nodeChanged).toBe(true);
    expect(snap.state.node.eligible).toBe(false);

    s.upsertNode(node('me', { zone: 'a', deleting: true }));
    expect(s.snapshot().state.node.eligible).toBe(false);
    s.upsertNode(node('me', { zone: 'b' }));
    snap = s.snapshot();
    expect(snap.state.node).toMatchObject({ zone: 'b', eligible: true });
    expect(s.objectCounts().nodes).toBe(1);
  });
});

describe('ModelStore at scale', () => {
  it('one change among 10,000 services rebuilds only that service', () => {
    const s = store();
    const N = 10_000;
    const ip = (i: number): string => `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    for (let i = 0; i < N; i++) {
      s.upsertService(svc(`s${i}`, { clusterIP: ip(i) }));
      s.upsertEndpointSlice(
        slice(`s${i}-a`, `s${i}`, Array.from({ length: 10 }, (_, j) => sliceEp([`198.18.${j}.${(i % 250) + 1}`]))),
      );
    }
    const first = s.snapshot();
    expect(first.state.services.size).toBe(N);
    expect(first.changes.changed.size).toBe(N);

    s.upsertEndpointSlice(slice('s42-a', 's42', [sliceEp(['198.18.100.1'])]));
    const second = s.snapshot();

    expect([...second.changes.changed]).toEqual(['default/s42:http']);
    expect(second.state.endpoints.get('default/s42:http')?.map((e) => e.ip)).toEqual(['198.18.100.1']);
    let sameSp = 0;
    let sameEps = 0;
    for (const [key, value] of second.state.services) {
      if (first.state.services.get(key) === value) sameSp++;
      if (first.state.endpoints.get(key) === second.state.endpoints.get(key)) sameEps++;
    }
    expect(sameSp).toBe(N); // the ServicePort of s42 itself did not change either
    expect(sameEps).toBe(N - 1);
    // Timing belongs in `npm run bench`; the identity checks above prove there was no rebuild.
  });
});

describe('ModelStore snapshots share structure', () => {
  const N = 2_000;
  const ip = (i: number): string => `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  function loaded(): ModelStore {
    const s = store();
    for (let i = 0; i < N; i++) {
      s.upsertService(svc(`s${i}`, { clusterIP: ip(i) }));
      s.upsertEndpointSlice(slice(`s${i}-a`, `s${i}`, [sliceEp([`198.18.1.${(i % 250) + 1}`])]));
    }
    return s;
  }

  it('an endpoint change shares every unchanged entry and the untouched service map itself', () => {
    const s = loaded();
    const prev = s.snapshot().state;
    s.upsertEndpointSlice(slice('s7-a', 's7', [sliceEp(['198.18.100.1'])]));
    const next = s.snapshot().state;

    // No ServicePort changed, so the services map is the very same object: no copy, no walk.
    expect(next.services).toBe(prev.services);
    expect(next.endpoints).not.toBe(prev.endpoints);
    expect(next.endpoints).toBeInstanceOf(PersistentMapView);
    for (const key of prev.services.keys()) {
      expect(next.services.get(key)).toBe(prev.services.get(key));
      if (key !== 'default/s7:http') expect(next.endpoints.get(key)).toBe(prev.endpoints.get(key));
    }
    expect(next.endpoints.get('default/s7:http')?.map((e) => e.ip)).toEqual(['198.18.100.1']);
    // The previous state is persistent: still exactly what it was.
    expect(prev.endpoints.get('default/s7:http')?.map((e) => e.ip)).toEqual(['198.18.1.8']);
  });

  it('a service add and a delete leave the previous state intact and share the rest', () => {
    const s = loaded();
    const prev = s.snapshot().state;
    s.deleteService(svc('s3', { clusterIP: ip(3) }));
    s.upsertService(svc('extra', { clusterIP: '198.19.200.1' }));
    const { state: next, changes } = s.snapshot();
    expect(sorted(changes.changed)).toEqual(['default/extra:http', 'default/s3:http']);
    expect(sorted(changes.removed)).toEqual(['default/s3:http']);
    expect(next.services.size).toBe(N);
    expect(next.services.has('default/s3:http')).toBe(false);
    expect(next.services.has('default/extra:http')).toBe(true);
    expect(prev.services.size).toBe(N);
    expect(prev.services.has('default/s3:http')).toBe(true);
    expect(prev.services.has('default/extra:http')).toBe(false);
    let shared = 0;
    for (const [key, sp] of next.services) if (prev.services.get(key) === sp) shared++;
    expect(shared).toBe(N - 1);
  });

  it('the state maps behave as ReadonlyMaps (get, has, size, forEach, keys, values, entries)', () => {
    const s = loaded();
    const { state } = s.snapshot();
    const copy = new Map(state.services);
    expect(copy.size).toBe(N);
    expect(state.services.size).toBe(N);
    const seen: string[] = [];
    state.services.forEach((sp, key, map) => {
      expect(sp.key).toBe(key);
      expect(map).toBe(state.services);
      seen.push(key);
    });
    expect(seen.sort()).toEqual([...copy.keys()].sort());
    expect([...state.services.keys()].sort()).toEqual(seen);
    expect([...state.services.values()].map((sp) => sp.key).sort()).toEqual(seen);
    expect([...state.services.entries()].every(([k, v]) => copy.get(k) === v)).toBe(true);
    expect(state.services.get('default/nope:http')).toBeUndefined();
    expect(state.endpoints.has('default/s1:http')).toBe(true);
  });
});
