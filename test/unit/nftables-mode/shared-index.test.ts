// The shared index: who contributes which shared-map element. A re-rendered service port changes
// the index only for the keys it gains or loses (its elements are read from its current unit), so
// a sync of 100 changed service ports allocates no index entry per unchanged key (issue #13's
// garbage) and the index holds no object per key (issue #18's heap).

import { describe, expect, it, vi } from 'vitest';
import { keptElement, type KeptElement } from '../../../modes/nftables/elements.js';
import type { Unit } from '../../../modes/nftables/ruleset.js';
import { renderService } from '../../../modes/nftables/render/service.js';
import { SharedIndex } from '../../../modes/nftables/shared-index.js';
import { ep, node, options, sp } from './fixtures.js';

const el = (b: number, data?: number): KeptElement => keptElement({ key: Uint8Array.of(b), ...(data !== undefined ? { data: Uint8Array.of(data) } : {}) });
const unit = (owner: string, els: [string, KeptElement][]): Unit => ({ owner, chains: [], sets: [], shared: new Map([['m', new Map(els)]]), noLocal: { internal: false, external: false } });

describe('SharedIndex', () => {
  it('a re-render changes the index only for keys that come or go, and reads elements from the new unit', () => {
    const idx = SharedIndex.of([unit('a', [['01', el(1, 1)], ['02', el(2, 2)]])]);
    const next = unit('a', [['01', el(1, 1)], ['02', el(2, 9)], ['03', el(3, 3)]]);
    const touched: string[] = [];
    const put = vi.spyOn(idx, 'put');
    idx.update(unit('a', [['01', el(1, 1)], ['02', el(2, 2)]]), next, (_s, k) => touched.push(k));
    expect(touched.sort()).toEqual(['02', '03']);
    // No entry per key holds an element (issue #18): only the new key is put, and the unchanged
    // and the changed key are read from the new unit (the old unit can be collected).
    expect(put.mock.calls.map((c) => c[1])).toEqual(['03']);
    expect(idx.winner('m', '01')?.element).toBe(next.shared.get('m')!.get('01'));
    expect(idx.winner('m', '02')?.element.value).toBe('09');
  });

  it('two contributors: the smallest owner wins, and the other takes over when it leaves', () => {
    const a = unit('a', [['01', el(1, 1)]]);
    const b = unit('b', [['01', el(1, 2)]]);
    const idx = SharedIndex.of([b, a]);
    expect(idx.winner('m', '01')).toEqual({ owner: 'a', element: a.shared.get('m')!.get('01') });
    idx.update(a, undefined, () => undefined);
    expect(idx.winner('m', '01')).toEqual({ owner: 'b', element: b.shared.get('m')!.get('01') });
    idx.update(b, undefined, () => undefined);
    expect(idx.winner('m', '01')).toBeUndefined();
    expect(idx.size('m')).toBe(0);
  });

  it('an endpoint added to a service port re-puts only the keys that moved, not its unchanged elements', () => {
    const o = options();
    const s = sp('ns', 'web', { clusterIPs: ['198.19.0.10'], externalIPs: ['198.19.9.9'] });
    const eps = Array.from({ length: 10 }, (_, i) => ep(`198.18.1.${i + 1}`));
    const u1 = renderService(s, eps, node(), o);
    const idx = SharedIndex.of([u1]);
    const u2 = renderService(s, [...eps, ep('198.18.1.11')], node(), o, u1.slots, u1.shared);
    const keys = (u: Unit): number => [...u.shared.values()].reduce((n, m) => n + m.size, 0);
    const put = vi.spyOn(idx, 'put');
    const touched: string[] = [];
    idx.update(u1, u2, (set, k) => touched.push(`${set} ${k}`));
    // Moved: each destination's class membership (cluster-10 out, cluster-11 in), its slot 10,
    // and the new endpoint's hairpin element. Everything else stays as it was.
    expect(touched.length).toBe(7);
    expect(keys(u2)).toBeGreaterThan(20);
    expect(put.mock.calls.length).toBe(touched.filter((t) => !t.includes('-10 ')).length);
    // The unchanged elements are the previous render's objects.
    expect(u2.shared.get('hairpin-endpoints')!.get([...u1.shared.get('hairpin-endpoints')!.keys()][0]!)).toBe([...u1.shared.get('hairpin-endpoints')!.values()][0]);
  });
});
