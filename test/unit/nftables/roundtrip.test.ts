// Canonical form: every modeled object, encoded as the request the client sends, decodes back to
// an equal value (the dump decoders read the same attributes the kernel echoes). Covers the
// variants golden.nft does not: dynset add with data and timeout, ct reply, fib flags, icmpx,
// counter values, inet family, set sizes, element timeouts and comments.

import { describe, expect, it } from 'vitest';
import * as C from '../../../modes/nftables/netlink/constants.js';
import { decodeChain, decodeElements, decodeRule, decodeSet, decodeTable } from '../../../modes/nftables/netlink/decode.js';
import { writeChain, writeElements, writeRule, writeSet, writeTable } from '../../../modes/nftables/netlink/messages.js';
import type { Expr, NftChain, NftElement, NftRule, NftSet, NftTable } from '../../../modes/nftables/netlink/types.js';
import { parseNlMsgs, type NlMsg } from '../../../modes/shared/netlink/nlmsg.js';
import { NlWriter } from '../../../modes/shared/netlink/writer.js';

const one = (write: (w: NlWriter) => void): NlMsg => {
  const w = new NlWriter(64);
  write(w);
  const [m] = parseNlMsgs(w.finish());
  if (!m) throw new Error('nothing written');
  return m;
};
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

const exprs: Expr[] = [
  { type: 'payload', base: 'll', offset: 6, len: 6, dreg: 8 },
  { type: 'meta', key: 'nfproto', dreg: 9 },
  { type: 'meta', key: 'pkttype', dreg: 9 },
  { type: 'meta', key: 'iif', dreg: 9 },
  { type: 'meta-set', key: 'mark', sreg: 10 },
  { type: 'cmp', sreg: 8, op: 'gte', data: bytes(1, 2, 3, 4) },
  { type: 'cmp', sreg: 8, op: 'lt', data: bytes(9) },
  { type: 'bitwise', sreg: 8, dreg: 9, len: 2, mask: bytes(0xff, 0), xor: bytes(0, 1) },
  { type: 'lookup', sreg: 8, set: 'm', dreg: 9 },
  { type: 'lookup', sreg: 8, set: 's', invert: true },
  { type: 'immediate', dreg: 9, data: bytes(0, 0x40, 0, 0) },
  { type: 'verdict', verdict: { code: 'continue' } },
  { type: 'verdict', verdict: { code: 'return' } },
  { type: 'ct', key: 'mark', dreg: 8 },
  { type: 'ct', key: 'proto-dst', dreg: 8, direction: 'reply' },
  { type: 'ct', key: 'status', dreg: 8 },
  { type: 'fib', result: 'oif', flags: { saddr: true, iif: true }, dreg: 8 },
  { type: 'fib', result: 'oifname', flags: { daddr: true, mark: true, present: true }, dreg: 8 },
  { type: 'nat', nat: 'snat', family: 'ip', regAddrMin: 8, flags: C.NF_NAT_RANGE_PERSISTENT },
  { type: 'nat', nat: 'dnat', family: 'ip6', regAddrMin: 8, regProtoMin: 12, flags: C.NF_NAT_RANGE_PROTO_RANDOM_FULLY },
  { type: 'masq' },
  { type: 'masq', flags: C.NF_NAT_RANGE_PROTO_RANDOM },
  { type: 'numgen', dreg: 8, modulus: 10, mode: 'random' },
  { type: 'numgen', dreg: 8, modulus: 3, mode: 'inc', offset: 7 },
  { type: 'reject', kind: 'icmpx', code: 1 },
  { type: 'reject', kind: 'tcp-rst', code: 0 },
  { type: 'counter', packets: 12n, bytes: 3456n },
  { type: 'counter' },
  { type: 'dynset', op: 'add', set: 'aff', sregKey: 8, sregData: 9, timeoutMs: 10_800_000 },
  { type: 'dynset', op: 'update', set: 'aff', sregKey: 8 },
  { type: 'notrack' },
];

describe('encode -> decode is the identity on canonical objects', () => {
  it('every expression variant', () => {
    for (const e of exprs) {
      const r: NftRule = { family: 'inet', table: 't', chain: 'c', exprs: [e] };
      const back = decodeRule(one((w) => writeRule(w, C.NFT_MSG_NEWRULE, 1, 1, r)));
      expect({ e, back: back.exprs[0] }).toEqual({ e, back: e });
    }
  });

  it('a rule with all of them, a comment and a handle', () => {
    const r: NftRule = { family: 'ip6', table: 't', chain: 'c', exprs, comment: 'svc "default/web:http"', handle: 42n };
    const back = decodeRule(one((w) => writeRule(w, C.NFT_MSG_NEWRULE, 1, 1, r, {}, { withHandle: true })));
    expect(back).toEqual(r);
  });

  it('tables and chains (base chain with drop policy, comments)', () => {
    const t: NftTable = { family: 'ip', name: 'kube-proxy', comment: 'rules for kubernetes' };
    expect(decodeTable(one((w) => writeTable(w, C.NFT_MSG_NEWTABLE, 1, 1, t)))).toEqual(t);
    const chains: NftChain[] = [
      { family: 'ip6', table: 'kube-proxy', name: 'filter-input', base: { type: 'filter', hook: 'input', priority: -110, policy: 'drop' } },
      { family: 'ip', table: 'kube-proxy', name: 'nat-output', base: { type: 'nat', hook: 'output', priority: -100 }, comment: 'x' },
      { family: 'ip', table: 'kube-proxy', name: 'service-abc', comment: 'default/web:http' },
    ];
    for (const c of chains) expect(decodeChain(one((w) => writeChain(w, C.NFT_MSG_NEWCHAIN, 1, 1, c)))).toEqual(c);
  });

  it('sets: size, timeout, dynamic, interval concat, data map, comment', () => {
    const sets: NftSet[] = [
      { family: 'ip', table: 't', name: 'a', keyType: 7, keyLen: 4, timeout: true, timeoutMs: 10_800_000, dynamic: true, size: 1000 },
      { family: 'ip', table: 't', name: 'b', keyType: 0x1cc347, keyLen: 16, concat: [4, 1, 2, 4], interval: true, comment: 'lb' },
      { family: 'ip', table: 't', name: 'c', keyType: 19, keyLen: 4, data: { type: 0x1cd, len: 8 } },
      { family: 'ip6', table: 't', name: 'd', keyType: 8, keyLen: 16, interval: true },
    ];
    for (const s of sets) expect(decodeSet(one((w) => writeSet(w, C.NFT_MSG_NEWSET, 1, 1, s, 3)))).toEqual(s);
  });

  it('elements: interval ends, key ranges, data, verdicts, timeouts and comments', () => {
    const s: NftSet = { family: 'ip', table: 't', name: 'e', keyType: 7, keyLen: 4, timeout: true, timeoutMs: 1000 };
    const els: NftElement[] = [
      { key: bytes(1, 2, 3, 4), intervalEnd: true },
      { key: bytes(1, 2, 3, 5), keyEnd: bytes(1, 2, 3, 9) },
      { key: bytes(1, 2, 3, 6), data: bytes(9, 9, 9, 9, 0, 80, 0, 0) },
      { key: bytes(1, 2, 3, 7), verdict: { code: 'jump', chain: 'x' } },
      { key: bytes(1, 2, 3, 8), timeoutMs: 5000, comment: 'five seconds' },
    ];
    const d = decodeElements(one((w) => writeElements(w, C.NFT_MSG_NEWSETELEM, 1, 1, s, els)), s.timeoutMs);
    expect(d).toEqual({ family: 'ip', table: 't', set: 'e', elements: els });
  });

  it('a dumped rule with an expression the model lacks keeps the rest and says what it could not read', () => {
    const w = new NlWriter(64);
    const at = w.beginMsg(C.nftMsgType(C.NFT_MSG_NEWRULE), 2, 1);
    w.nfgenmsg(C.NFPROTO_IPV4, 0);
    w.string(C.NFTA_RULE_TABLE, 't');
    w.string(C.NFTA_RULE_CHAIN, 'c');
    const list = w.beginNest(C.NFTA_RULE_EXPRESSIONS);
    const e = w.beginNest(C.NFTA_LIST_ELEM);
    w.string(C.NFTA_EXPR_NAME, 'log');
    w.endNest(e);
    w.endNest(list);
    w.endMsg(at);
    const [m] = parseNlMsgs(w.finish());
    expect(decodeRule(m as NlMsg)).toEqual({ family: 'ip', table: 't', chain: 'c', exprs: [], undecodable: 'expression "log" is not modeled' });
  });
});
