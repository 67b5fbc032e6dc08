// The model's memory shape (issue #18: heap per service port and per endpoint). Bytes are a
// benchmark's business (bench/render-bench.ts, `npm run bench -- --only modes`); these tests pin
// the structural facts behind them, each of which a regression would silently undo: values every
// Service would otherwise allocate on its own are one shared object, and a one-slice, one-port
// Service carries no native Map of its own.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { endpointsFromSlice } from '../../../proxy/model/endpoints.js';
import { servicePortsFromService } from '../../../proxy/model/service.js';
import { sliceNamed, slicesOf, withSlice, withoutSlice, type SliceSet } from '../../../proxy/model/slice-set.js';
import { ModelStore } from '../../../proxy/model/store.js';
import { slice, sliceEp, svc } from './fixtures.js';

describe('model heap shape', () => {
  it('ServicePorts without external IPs, load balancer IPs, source ranges or affinity share one frozen value for each', () => {
    const a = servicePortsFromService(svc('a', { clusterIP: '198.19.0.1' })).ports[0]!;
    const b = servicePortsFromService(svc('b', { clusterIP: '198.19.0.2' })).ports[0]!;
    expect(a.externalIPs).toEqual([]);
    expect(b.externalIPs).toBe(a.externalIPs);
    expect(b.loadBalancerIPs).toBe(a.loadBalancerIPs);
    expect(b.loadBalancerSourceRanges).toBe(a.loadBalancerSourceRanges);
    expect(b.sessionAffinity).toBe(a.sessionAffinity);
    expect(a.sessionAffinity).toEqual({ type: 'None' });
    expect(Object.isFrozen(a.externalIPs) && Object.isFrozen(a.sessionAffinity)).toBe(true);
    // A Service that has some still gets its own list.
    const c = servicePortsFromService(svc('c', { spec: { externalIPs: ['203.0.113.7'] } })).ports[0]!;
    expect(c.externalIPs).toEqual(['203.0.113.7']);
  });

  it('a one-port slice converts without a native Map; two ports still get one', () => {
    const one = endpointsFromSlice(slice('w-1', 'w', [sliceEp(['198.18.0.1'])]), 'me').byPort;
    expect(one).not.toBeInstanceOf(Map);
    expect(one.size).toBe(1);
    expect([...one.keys()]).toEqual(['http/TCP']);
    expect(one.get('http/TCP')?.map((e) => e.ip)).toEqual(['198.18.0.1']);
    expect(one.get('http/UDP')).toBeUndefined();
    const seen: string[] = [];
    one.forEach((eps, key) => seen.push(`${key}=${eps.length}`));
    expect(seen).toEqual(['http/TCP=1']);
    const two = endpointsFromSlice(
      slice('w-1', 'w', [sliceEp(['198.18.0.1'])], {
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      }),
      'me',
    ).byPort;
    expect(two).toBeInstanceOf(Map);
    expect([...two.keys()].sort()).toEqual(['dns/UDP', 'http/TCP']);
  });

  it('a one-slice Service keeps the slice itself; a Map exists only while it has two or more (fast-check against a Map)', () => {
    const mk = (name: string, v: number): V1EndpointSlice => ({ metadata: { name, resourceVersion: String(v) }, addressType: 'IPv4', endpoints: [] });
    const op = fc.record({ del: fc.boolean(), name: fc.constantFrom('a', 'b', 'c'), v: fc.nat(9) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        let set: SliceSet | undefined;
        const ref = new Map<string, V1EndpointSlice>();
        for (const o of ops) {
          if (o.del) {
            ref.delete(o.name);
            if (set !== undefined) set = withoutSlice(set, o.name);
          } else {
            const s = mk(o.name, o.v);
            ref.set(o.name, s);
            set = withSlice(set, o.name, s);
          }
          expect(set === undefined).toBe(ref.size === 0);
          if (set === undefined) continue;
          for (const n of ['a', 'b', 'c']) expect(sliceNamed(set, n)).toBe(ref.get(n));
          expect(new Set(slicesOf(set))).toEqual(new Set(ref.values()));
          if (ref.size === 1) expect(set).toBe([...ref.values()][0]);
          else expect(set).toBeInstanceOf(Map);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a rejected Service deleted and re-delivered as the same object is rejected again (the parse cache goes with the Service)', () => {
    const s = new ModelStore({ nodeName: 'me', now: () => new Date('2024-01-01T00:00:00Z') });
    const bad = svc('bad', { ports: [{ name: 'http', port: 0, protocol: 'TCP' }] });
    s.upsertService(bad);
    expect(s.snapshot().rejected.map((r) => r.name)).toEqual(['bad']);
    s.deleteService(bad);
    s.snapshot();
    expect(s.rejections()).toEqual([]);
    s.upsertService(bad);
    expect(s.snapshot().rejected.map((r) => r.name)).toEqual(['bad']);
    expect(s.rejections().map((r) => r.name)).toEqual(['bad']);
  });
});
