// Issue #18: converting a changed slice sorts its endpoints; the sort used to make two address
// sort keys per comparison (each a split/map/join of the address), now one per endpoint. Counted
// with sortKeysMade(); and the order is still compareEndpoints' for any addresses and ports.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareEndpoints, endpointsFromSlice, portKey } from '../../../proxy/model/endpoints.js';
import { sortKeysMade } from '../../../proxy/model/ip-order.js';
import { slice, sliceEp } from './fixtures.js';

describe('endpoint order of a converted slice', () => {
  it('makes one address sort key per endpoint (10 for a 10-endpoint slice)', () => {
    const shuffled = [3, 7, 0, 9, 4, 1, 8, 5, 2, 6];
    const s = slice('s1', 'web', shuffled.map((i) => sliceEp([`198.18.0.${137 + i * 7}`])));
    const before = sortKeysMade();
    const list = endpointsFromSlice(s, 'me').byPort.get(portKey('http', 'TCP')) ?? [];
    expect(sortKeysMade() - before).toBe(10);
    expect(list.map((e) => e.ip)).toEqual(Array.from({ length: 10 }, (_, i) => `198.18.0.${137 + i * 7}`));
  });

  it("is compareEndpoints' order for any IPv4 or IPv6 addresses and ports", () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `198.18.${a}.${b}`);
    // Canonical text (no zero group to compress), so the converted addresses read back the same.
    const v6 = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xff })).map(([a, b]) => `2001:db8::${a.toString(16)}:${b.toString(16)}`);
    const lists = fc.oneof(
      fc.array(v4, { maxLength: 30 }).map((ips) => ({ family: 'IPv4', ips })),
      fc.array(v6, { maxLength: 30 }).map((ips) => ({ family: 'IPv6', ips })),
    );
    fc.assert(
      fc.property(lists, fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 3 }), ({ family, ips }, ports) => {
        const s = slice('s1', 'web', ips.map((ip) => sliceEp([ip])), {
          addressType: family,
          ports: ports.map((port, i) => ({ name: `p${i}`, port })),
        });
        const byPort = endpointsFromSlice(s, 'me').byPort;
        for (const [i] of ports.entries()) {
          const list = byPort.get(portKey(`p${i}`, 'TCP')) ?? [];
          expect(list).toEqual([...list].sort(compareEndpoints));
          expect(new Set(list.map((e) => e.ip))).toEqual(new Set(ips));
        }
      }),
      { numRuns: 300 },
    );
  });
});
