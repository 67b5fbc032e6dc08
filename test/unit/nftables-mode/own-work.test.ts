// nftables mode's own work and retained state, shown by counts (issue #18, #13): a trusted
// periodic full sync plans only what changed, an endpoint change plans only the shared keys that
// moved, rules compare as their digests do, and small byte strings share storage.

import { describe, expect, it, vi } from 'vitest';
import type { CommitResult, NftOp } from '../../../modes/nftables/netlink/types.js';
import { FakeNftClient } from '../../fakes/nftables/fake-client.js';
import { changes, ep, harness, options, sp, state } from './fixtures.js';

const calls = vi.hoisted(() => ({ sameRule: 0, touched: [] as [string, string[]][][] }));

vi.mock('../../../modes/nftables/view.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../modes/nftables/view.js')>();
  return { ...m, sameRule: (...a: Parameters<typeof m.sameRule>) => (calls.sameRule++, m.sameRule(...a)) };
});
vi.mock('../../../modes/nftables/plan.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../modes/nftables/plan.js')>();
  return {
    ...m,
    planShared: (...a: Parameters<typeof m.planShared>) => {
      calls.touched.push([...a[3]].map(([set, keys]): [string, string[]] => [set, [...keys].sort()]).sort((x, y) => (x[0] < y[0] ? -1 : 1)));
      return m.planShared(...a);
    },
  };
});

const { renderService } = await import('../../../modes/nftables/render/service.js');
const { ruleDigest, sameRule } = await import('../../../modes/nftables/view.js');
const { concat, hex, ipBytes, portBytes, u32Host } = await import('../../../modes/nftables/bytes.js');

/** The fake with a quiet epoch, as the netlink client has: only our own commits happen. */
class QuietFake extends FakeNftClient {
  epoch = 7;
  async quietEpoch(): Promise<number> {
    return this.epoch;
  }
  override async commit(ops: readonly NftOp[]): Promise<CommitResult> {
    return { ...(await super.commit(ops)), epoch: this.epoch };
  }
}

const N = 300;
const cluster = (changedEps: number): ReturnType<typeof state> =>
  state(
    Array.from({ length: N }, (_, i) => {
      const s = sp('ns', `s${i}`, { clusterIPs: [`198.19.${i >> 8}.${i & 255}`] });
      const eps = Array.from({ length: 3 }, (_, j) => ep(`198.18.${10 + (i >> 8)}.${(i & 255)}`, { port: 8080 + j }));
      if (i === 5) eps.push(...Array.from({ length: changedEps }, (_, j) => ep(`198.18.99.${j + 1}`)));
      return [s, eps];
    }),
  );

describe('nftables own work', () => {
  it('a periodic full sync whose record is trusted compares only the service ports that changed', async () => {
    const client = new QuietFake();
    const h = harness({ client });
    const s1 = cluster(0);
    await h.dp.sync({ state: s1, changes: changes([]), full: true });
    // Same objects for every service port but one (a new endpoint for s5).
    const s2 = cluster(1);
    const s2same = { ...s2, services: s1.services, endpoints: new Map(s1.endpoints) };
    s2same.endpoints.set('ns/s5:p80', s2.endpoints.get('ns/s5:p80')!);
    calls.sameRule = 0;
    const r = await h.dp.sync({ state: s2same, changes: changes([]), full: true });
    expect(r.full).toBe(true);
    expect(r.stats['dumps']).toBe(0);
    expect(r.stats['servicePortsChanged']).toBe(1);
    // One chain's rules (masquerade + numgen dnat), not every chain's of 300 service ports.
    expect(calls.sameRule).toBeLessThanOrEqual(4);
    // And the table is what a fresh full sync of the same state programs.
    client.epoch++;
    const repair = await h.dp.sync({ state: s2same, changes: changes([]), full: true });
    expect(repair.stats['dumps']).toBe(1);
    expect(repair.stats['ops']).toBe(0);
  });

  it('one endpoint replaced: the shared maps are planned for the keys that moved (its slot, per destination, and two hairpin keys), nothing else', async () => {
    const h = harness();
    const s = sp('ns', 'web', { clusterIPs: ['198.19.0.10'], externalIPs: ['198.19.9.9'] });
    const eps = [ep('198.18.1.1'), ep('198.18.1.2'), ep('198.18.1.3')];
    await h.dp.sync({ state: state([[s, eps]]), changes: changes([]), full: true });
    calls.touched = [];
    const eps2 = [eps[0]!, eps[1]!, ep('198.18.1.4')];
    await h.dp.sync({ state: state([[s, eps2]]), changes: changes([s.key]), full: false });
    const hp = (ip: string): string => hex(ipBytes(ip)).repeat(2);
    // Slot 2 of each destination (cluster IP and external IP) now holds the new endpoint.
    const slot = (ip: string): string => hex(concat(ipBytes(ip), Uint8Array.of(6), portBytes(80), u32Host(2)));
    expect(calls.touched).toEqual([[['cluster-endpoints', [slot('198.19.0.10'), slot('198.19.9.9')].sort()], ['hairpin-endpoints', [hp('198.18.1.3'), hp('198.18.1.4')].sort()]]]);
  });

  it('rules compare equal exactly when their digests do (registers in either numbering, counters ignored)', () => {
    const o = options();
    const node = { name: 'node-a', labels: {}, zone: '', addresses: ['198.18.0.2'], podCIDRs: ['198.18.16.0/24'], eligible: true };
    const rules = [0, 1, 2, 3].flatMap((i) =>
      renderService(sp('ns', `r${i}`, { clusterIPs: [`198.19.1.${i + 1}`], ...(i === 2 ? { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } } : {}), ...(i === 3 ? { externalIPs: ['198.19.8.8'] } : {}) }), [ep(`198.18.2.${i + 1}`), ep('198.18.2.9')], node, o).chains.flatMap((c) => c.rules),
    );
    // As a dump returns them: first 128-bit register numbered 1, counters with values.
    const dumped = rules.map((r) => ({ ...r, exprs: r.exprs.map((e) => ('dreg' in e && e.dreg === 8 ? { ...e, dreg: 1 } : e)) }));
    const withCounter = rules.map((r) => ({ ...r, exprs: [...r.exprs, { type: 'counter' as const, packets: 5n, bytes: 300n }] }));
    const all = [...rules, ...dumped, ...withCounter, ...rules.map((r) => ({ ...r, exprs: [...r.exprs, { type: 'counter' as const }] }))];
    let same = 0;
    for (const a of all) {
      for (const b of all) {
        const s = sameRule(a, b);
        expect(s).toBe(ruleDigest(a.exprs, a.comment) === ruleDigest(b.exprs, b.comment));
        if (s && a !== b) same++;
      }
    }
    expect(same).toBeGreaterThan(rules.length);
  });

  it('small byte strings share storage: numgen indexes are one instance, addresses views of one buffer', () => {
    expect(u32Host(3)).toBe(u32Host(3));
    const a = ipBytes('198.18.1.1');
    const b = ipBytes('198.18.1.2');
    expect(a.buffer).toBe(b.buffer);
    expect([...a]).toEqual([198, 18, 1, 1]);
    expect([...b]).toEqual([198, 18, 1, 2]);
  });
});
