import { describe, expect, it, vi } from 'vitest';
import { ModelStore } from '../../../proxy/model/store.js';
import { HealthTargetTracker, portHealthTarget, serviceHealthTargets } from '../../../proxy/service-health-targets.js';
import { slice, sliceEp, svc } from '../model/fixtures.js';

const N = 500;
const ip = (i: number): string => `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;

/** Every third Service is a LoadBalancer with externalTrafficPolicy Local and a health check port. */
function lbService(i: number) {
  const local = i % 3 === 0;
  return svc(`s${i}`, {
    clusterIP: ip(i),
    type: local ? 'LoadBalancer' : 'ClusterIP',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(local ? { nodePort: 30000 + i } : {}) }],
    spec: local ? { externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 + i } : {},
  });
}

function loaded(): ModelStore {
  const s = new ModelStore({ nodeName: 'me' });
  for (let i = 0; i < N; i++) {
    s.upsertService(lbService(i));
    s.upsertEndpointSlice(slice(`s${i}-a`, `s${i}`, [sliceEp([`198.18.1.${(i % 250) + 1}`], { nodeName: 'me' })]));
  }
  return s;
}

describe('HealthTargetTracker', () => {
  it('a full update equals serviceHealthTargets and walks every service port', () => {
    const s = loaded();
    const snap = s.snapshot();
    const spy = vi.fn(portHealthTarget);
    const t = new HealthTargetTracker(spy);
    const u = t.update(snap.state, snap.changes, true);
    expect(u.full).toBe(true);
    expect(spy).toHaveBeenCalledTimes(N);
    expect(u.full && new Map(u.targets)).toEqual(serviceHealthTargets(snap.state));
    expect(t.current().get('default/s3')).toEqual({ port: 31003, localEndpoints: 1 });
  });

  it('a partial update evaluates only the changed service ports and reports only changed Services', () => {
    const s = loaded();
    const first = s.snapshot();
    const spy = vi.fn(portHealthTarget);
    const t = new HealthTargetTracker(spy);
    t.update(first.state, first.changes, true);
    spy.mockClear();

    // s3 (Local LB) gets a second local endpoint; s4 (ClusterIP) changes too; s6 is deleted.
    s.upsertEndpointSlice(slice('s3-a', 's3', [sliceEp(['198.18.1.4'], { nodeName: 'me' }), sliceEp(['198.18.1.99'], { nodeName: 'me' })]));
    s.upsertEndpointSlice(slice('s4-a', 's4', [sliceEp(['198.18.1.77'])]));
    s.deleteService(lbService(6));
    const snap = s.snapshot();
    const u = t.update(snap.state, snap.changes, false);

    expect(spy.mock.calls.map(([sp]) => sp.key).sort()).toEqual(['default/s3:http', 'default/s4:http']);
    expect(u.full).toBe(false);
    expect(u.full ? undefined : [...u.changed]).toEqual(
      expect.arrayContaining([
        ['default/s3', { port: 31003, localEndpoints: 2 }],
        ['default/s6', undefined],
      ]),
    );
    expect(u.full ? -1 : u.changed.size).toBe(2);
    // The incremental answer is still the whole-state answer.
    expect(t.current()).toEqual(serviceHealthTargets(snap.state));
  });

  it('a node change is handled as full', () => {
    const s = loaded();
    const snap = s.snapshot();
    const spy = vi.fn(portHealthTarget);
    const t = new HealthTargetTracker(spy);
    t.update(snap.state, snap.changes, true);
    spy.mockClear();
    const u = t.update(snap.state, { changed: new Set(), removed: new Set(), nodeChanged: true, triggerTimes: [] }, false);
    expect(u.full).toBe(true);
    expect(spy).toHaveBeenCalledTimes(N);
  });
});
