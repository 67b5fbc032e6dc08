// Taking over upstream kube-proxy's `kube-proxy` table: upstream writes its endpoint selection as
// `numgen random mod N vmap { 0 : goto ..., 1 : goto ... }`, an inline map the kernel holds as an
// anonymous set (`__map0`) bound to that rule. The full sync's stale-object removal must not name
// it (deleting the rule's chain takes it along; an explicit delete fails with ENOENT and the first
// sync would fail forever). The real-kernel proof is test/e2e/mode-switch.test.ts (last test).

import { describe, expect, it } from 'vitest';
import type { NftSet, NftTableDump } from '../../../modes/nftables/netlink/types.js';
import { planRemovals } from '../../../modes/nftables/plan.js';
import { isAnonymousSetName, viewFromDump } from '../../../modes/nftables/view.js';

const set = (name: string, extra: Partial<NftSet> = {}): NftSet => ({ family: 'ip', table: 'kube-proxy', name, keyType: 7, keyLen: 4, ...extra });

const upstreamDump: NftTableDump = {
  table: { family: 'ip', name: 'kube-proxy' },
  chains: [
    { family: 'ip', table: 'kube-proxy', name: 'service-XEAMNPMK-fixture/web/tcp/http' },
    { family: 'ip', table: 'kube-proxy', name: 'endpoint-5OJB2KTY-fixture/web/tcp/http__198.18.1.2/8080' },
  ],
  rules: [],
  sets: [set('cluster-ips'), set('__map0', { data: { type: 'verdict', len: 0 } }), set('__set3')],
  elements: new Map(),
};

describe("nftables takeover of upstream's table", () => {
  it('leaves anonymous sets out of the view, so stale removal never deletes one', () => {
    const v = viewFromDump(upstreamDump);
    expect([...v.sets.keys()]).toEqual(['cluster-ips']);
    const stale = [...v.chains.keys()];
    const ops = planRemovals('ip', v, stale, [...v.sets.keys()]);
    expect(ops.filter((o) => o.op === 'delete-set').map((o) => (o.op === 'delete-set' ? o.set.name : ''))).toEqual(['cluster-ips']);
    expect(ops.filter((o) => o.op === 'delete-chain')).toHaveLength(2);
  });

  it('recognises the names nft gives anonymous sets and nothing else', () => {
    expect(['__set0', '__map12'].map(isAnonymousSetName)).toEqual([true, true]);
    expect(['service-ips', 'set0', '__set', '__mapx', 'endpoints-ABCD-ns/x/tcp/p'].some(isAnonymousSetName)).toBe(false);
  });
});
