// Golden test: the kernel's own dump replies (captured while `nft list ruleset` listed
// fixtures/golden.nft) decode to exactly the objects that describe golden.nft — in canonical
// form, so a dump compares equal to what the renderer would produce.

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseNlMsgs } from '../../../modes/shared/netlink/nlmsg.js';
import * as C from '../../../modes/nftables/netlink/constants.js';
import { decodeChain, decodeElements, decodeRule, decodeSet, decodeTable, nftMsg } from '../../../modes/nftables/netlink/decode.js';
import type { NftChain, NftElement } from '../../../modes/nftables/netlink/types.js';
import { chains4, chains6, elements4, elements6, rules4, rules6, set6, sets4 } from './golden-model.js';

interface Fixture {
  readonly exchanges: readonly { request: readonly string[]; replies: readonly string[] }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/golden.json', import.meta.url), 'utf8')) as Fixture;

/** Every reply message of the capture of one type, parsed. */
const replies = (msgType: number) =>
  fixture.exchanges
    .flatMap((x) => x.replies)
    .flatMap((h) => parseNlMsgs(Buffer.from(h, 'hex')))
    .filter((m) => m.type >> 8 === C.NFNL_SUBSYS_NFTABLES && nftMsg(m) === msgType);

const noHandle = <T extends { handle?: bigint }>(o: T): Omit<T, 'handle'> => {
  const { handle: _h, ...rest } = o;
  return rest;
};
/** Canonical chain: accept, the default policy, is not part of it. */
const canonicalChain = (c: NftChain): NftChain => {
  if (c.base?.policy !== 'accept') return c;
  const { policy: _p, ...base } = c.base;
  return { ...c, base };
};
const byKey = (es: readonly NftElement[]): NftElement[] =>
  [...es].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));

describe.runIf(endianness() === 'LE')('nf_tables decoder on kernel dumps of golden.nft', () => {
  it('decodes the tables with handles and comments', () => {
    const tables = replies(C.NFT_MSG_NEWTABLE).map(decodeTable);
    expect(tables.map(noHandle)).toEqual([
      { family: 'ip', name: 'kptgold', comment: 'golden' },
      { family: 'ip6', name: 'kptgold6' },
    ]);
    expect(tables.every((t) => typeof t.handle === 'bigint')).toBe(true);
  });

  it('decodes base and regular chains', () => {
    const chains = replies(C.NFT_MSG_NEWCHAIN).map(decodeChain);
    expect(chains.map(noHandle)).toEqual([...chains4, ...chains6].map(canonicalChain));
  });

  it('decodes sets and maps (concat, interval, timeout, dynamic, verdict and data maps, comments)', () => {
    const sets = replies(C.NFT_MSG_NEWSET).map(decodeSet);
    expect(sets.map(noHandle)).toEqual([...Object.values(sets4), set6]);
  });

  it('decodes elements: keys, interval ends, key ranges, verdicts and data', () => {
    const bySet = new Map<string, NftElement[]>();
    for (const m of replies(C.NFT_MSG_NEWSETELEM)) {
      const d = decodeElements(m);
      bySet.set(d.set, [...(bySet.get(d.set) ?? []), ...d.elements]);
    }
    for (const [k, s] of Object.entries(sets4)) {
      expect({ set: s.name, elements: byKey(bySet.get(s.name) ?? []) }).toEqual({
        set: s.name,
        elements: byKey(elements4[k as keyof typeof sets4]),
      });
    }
    expect(byKey(bySet.get(set6.name) ?? [])).toEqual(byKey(elements6));
  });

  it('decodes every rule back to its expressions, in chain order', () => {
    const rules = replies(C.NFT_MSG_NEWRULE).map(decodeRule);
    expect(rules.every((r) => typeof r.handle === 'bigint' && r.undecodable === undefined)).toBe(true);
    expect(rules.map(noHandle)).toEqual([...rules4, ...rules6]);
  });
});
