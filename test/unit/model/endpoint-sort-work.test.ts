// The model's endpoint sort builds each address's numeric sort key once per endpoint, not twice
// per comparison: with 100 changed slices per sync the per-comparison keys were n log n strings
// each (a CPU profile of 100 endpoint changes at 10,000 services showed them, issue #13).

import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ keys: 0 }));

vi.mock('../../../proxy/model/ip-order.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../proxy/model/ip-order.js')>();
  return {
    ...m,
    ipSortKey: (ip: string) => (calls.keys++, m.ipSortKey(ip)),
    // Each comparison through compareIPs builds two keys.
    compareIPs: (a: string, b: string) => ((calls.keys += 2), m.compareIPs(a, b)),
  };
});

const { endpointsFromSlice, portKey } = await import('../../../proxy/model/endpoints.js');
const { slice, sliceEp } = await import('./fixtures.js');

describe('endpoint sort work', () => {
  it('sorts n endpoints numerically with n sort keys', () => {
    // Reverse and lexically misleading order: 198.18.0.9 must come before 198.18.0.10.
    const ips = Array.from({ length: 40 }, (_, i) => `198.18.0.${40 - i}`);
    calls.keys = 0;
    const r = endpointsFromSlice(slice('s1', 'web', ips.map((ip) => sliceEp([ip]))), 'me');
    const list = r.byPort.get(portKey('http', 'TCP'))!;
    expect(list.map((e) => e.ip)).toEqual(Array.from({ length: 40 }, (_, i) => `198.18.0.${i + 1}`));
    expect(calls.keys).toBe(40);
  });
});
