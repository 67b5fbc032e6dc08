// The objects of fixtures/golden.nft in this project's model, op by op in the order nft sends
// them (nft 1.0.6: tables, then chains, then each set followed by its elements, then rules, per
// table). The golden tests encode these and compare with nft's bytes, and decode nft's dumps
// and compare with these.

import type { Expr, NftChain, NftElement, NftOp, NftRule, NftSet } from '../../../modes/nftables/netlink/types.js';

export const b = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const ip4 = (s: string): string => Buffer.from(s.split('.').map(Number)).toString('hex');
/** A 16-byte interface name, as nft compares `iifname "lo"`. */
const ifname = (s: string): Uint8Array => {
  const out = new Uint8Array(16);
  out.set(Buffer.from(s));
  return out;
};

const T4 = 'kptgold';
const T6 = 'kptgold6';

export const chains4: NftChain[] = [
  { family: 'ip', table: T4, name: 'svc-a', comment: 'service a' },
  { family: 'ip', table: T4, name: 'nat-pre', base: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' } },
  { family: 'ip', table: T4, name: 'filt', base: { type: 'filter', hook: 'forward', priority: 0, policy: 'drop' } },
  { family: 'ip', table: T4, name: 'raw-pre', base: { type: 'filter', hook: 'prerouting', priority: -300 } },
  { family: 'ip', table: T4, name: 'nat-out', base: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' } },
  { family: 'ip', table: T4, name: 'nat-post', base: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' } },
];
export const chains6: NftChain[] = [
  { family: 'ip6', table: T6, name: 'filt', base: { type: 'filter', hook: 'input', priority: 0 } },
  { family: 'ip6', table: T6, name: 'nat-out', base: { type: 'nat', hook: 'output', priority: -100 } },
];

const set4 = (s: Omit<NftSet, 'family' | 'table'>): NftSet => ({ family: 'ip', table: T4, ...s });
export const sets4 = {
  clusterIps: set4({ name: 'cluster-ips', keyType: 7, keyLen: 4, comment: 'cluster ips' }),
  svcPorts: set4({ name: 'svc-ports', keyType: 0x730d, keyLen: 12 }),
  srcRanges: set4({ name: 'src-ranges', keyType: 7, keyLen: 4, interval: true }),
  lbRanges: set4({ name: 'lb-ranges', keyType: 0x1cc347, keyLen: 16, interval: true, concat: [4, 1, 2, 4] }),
  aff: set4({ name: 'aff', keyType: 7, keyLen: 4, timeout: true, dynamic: true, timeoutMs: 3 * 3600_000 }),
  dispatch: set4({ name: 'dispatch', keyType: 0x730d, keyLen: 12, data: { type: 'verdict', len: 0 } }),
  /** Declared with `typeof` in golden.nft, whose userdata this model does not write. */
  eps: set4({ name: 'eps', keyType: 4, keyLen: 4, data: { type: 0x1cd, len: 8 } }),
  marks: set4({ name: 'marks', keyType: 7, keyLen: 4, data: { type: 19, len: 4 } }),
};
export const set6 = {
  family: 'ip6',
  table: T6,
  name: 'cluster-ips6',
  keyType: 0x830d,
  keyLen: 24,
} satisfies NftSet;

export const elements4: Record<keyof typeof sets4, NftElement[]> = {
  clusterIps: [{ key: b(ip4('198.19.0.1')) }, { key: b(ip4('198.19.0.2')) }],
  svcPorts: [{ key: b(`${ip4('198.19.0.1')} 06000000 00500000`) }],
  srcRanges: [
    { key: b('00000000'), intervalEnd: true },
    { key: b(ip4('10.0.0.1')) },
    { key: b(ip4('10.0.0.2')), intervalEnd: true },
    { key: b(ip4('198.18.0.0')) },
    { key: b(ip4('198.19.0.0')), intervalEnd: true },
  ],
  lbRanges: [
    {
      key: b(`${ip4('198.19.1.1')} 06000000 01bb0000 ${ip4('198.18.0.0')}`),
      keyEnd: b(`${ip4('198.19.1.1')} 06000000 01bb0000 ${ip4('198.18.0.255')}`),
    },
  ],
  aff: [],
  dispatch: [
    { key: b(`${ip4('198.19.0.1')} 06000000 00500000`), verdict: { code: 'goto', chain: 'svc-a' } },
    { key: b(`${ip4('198.19.0.2')} 11000000 00350000`), verdict: { code: 'jump', chain: 'svc-a' } },
    { key: b(`${ip4('198.19.0.3')} 06000000 1f900000`), verdict: { code: 'drop' } },
  ],
  eps: [
    { key: b('00000000'), data: b(`${ip4('198.18.1.1')} 1f900000`) },
    { key: b('01000000'), data: b(`${ip4('198.18.1.2')} 1f900000`) },
  ],
  marks: [{ key: b(ip4('198.18.9.9')), data: b('00400000') }],
};
export const elements6: NftElement[] = [{ key: b('20010db8000000000000000000000001 06000000 00500000') }];

// Expression helpers, named after what nft prints.
const payload = (base: 'network' | 'transport', offset: number, len: number, dreg = 1): Expr => ({
  type: 'payload',
  base,
  offset,
  len,
  dreg,
});
const cmp = (data: string | Uint8Array, op: 'eq' | 'neq' = 'eq', sreg = 1): Expr => ({
  type: 'cmp',
  sreg,
  op,
  data: typeof data === 'string' ? b(data) : data,
});
const meta = (key: 'l4proto' | 'mark' | 'iifname' | 'oifname', dreg = 1): Expr => ({ type: 'meta', key, dreg });
const verdict = (code: 'accept' | 'drop' | 'return' | 'jump' | 'goto', chain?: string): Expr => ({
  type: 'verdict',
  verdict: chain ? { code, chain } : { code },
});
const bitwise = (mask: string, xor: string): Expr => ({ type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: b(mask), xor: b(xor) });
const rule4 = (chain: string, exprs: Expr[], comment?: string): NftRule => ({
  family: 'ip',
  table: T4,
  chain,
  exprs,
  ...(comment !== undefined ? { comment } : {}),
});
const rule6 = (chain: string, exprs: Expr[]): NftRule => ({ family: 'ip6', table: T6, chain, exprs });

export const rules4: NftRule[] = [
  rule4('svc-a', [payload('network', 12, 4), { type: 'dynset', op: 'update', set: 'aff', sregKey: 1 }]),
  rule4('svc-a', [
    meta('l4proto'),
    cmp('06'),
    { type: 'numgen', dreg: 1, modulus: 2, mode: 'random' },
    { type: 'lookup', sreg: 1, set: 'eps', dreg: 1 },
    { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regProtoMin: 9 },
  ]),
  rule4(
    'nat-pre',
    [
      payload('network', 16, 4),
      meta('l4proto', 9),
      payload('transport', 2, 2, 10),
      { type: 'lookup', sreg: 1, set: 'dispatch', dreg: 0 },
    ],
    'dispatch',
  ),
  rule4('nat-pre', [
    { type: 'fib', result: 'type', flags: { daddr: true }, dreg: 1 },
    cmp('02000000'),
    meta('l4proto'),
    cmp('06'),
    payload('transport', 2, 2),
    cmp('7580'),
    verdict('jump', 'svc-a'),
  ]),
  rule4('filt', [{ type: 'ct', key: 'state', dreg: 1 }, bitwise('01000000', '00000000'), cmp('00000000', 'neq'), verdict('drop')]),
  rule4('filt', [{ type: 'ct', key: 'state', dreg: 1 }, bitwise('06000000', '00000000'), cmp('00000000', 'neq'), verdict('accept')]),
  rule4('filt', [payload('network', 12, 4), { type: 'lookup', sreg: 1, set: 'src-ranges' }, verdict('accept')]),
  rule4('filt', [
    payload('network', 12, 4),
    { type: 'lookup', sreg: 1, set: 'cluster-ips', invert: true },
    { type: 'counter' },
    verdict('drop'),
  ]),
  rule4('filt', [meta('mark'), bitwise('00400000', '00000000'), cmp('00000000'), verdict('return')]),
  rule4('filt', [meta('mark'), bitwise('ffffffff', '00400000'), { type: 'meta-set', key: 'mark', sreg: 1 }]),
  rule4('filt', [meta('mark'), bitwise('ffbfffff', '00400000'), { type: 'meta-set', key: 'mark', sreg: 1 }]),
  rule4('filt', [meta('l4proto'), cmp('06'), { type: 'reject', kind: 'tcp-rst', code: 0 }]),
  rule4('filt', [payload('network', 16, 4), cmp(ip4('198.19.0.9')), { type: 'reject', kind: 'icmp', code: 1 }]),
  rule4('filt', [{ type: 'reject', kind: 'icmp', code: 3 }]),
  rule4('filt', [
    { type: 'ct', key: 'direction', dreg: 1 },
    cmp('00'),
    { type: 'ct', key: 'dst-ip', dreg: 1, direction: 'original' },
    cmp(ip4('198.19.0.1')),
    verdict('accept'),
  ]),
  rule4('filt', [meta('iifname'), cmp(ifname('lo')), payload('network', 16, 1), cmp('7f'), verdict('accept')]),
  rule4('filt', [{ type: 'numgen', dreg: 1, modulus: 4, mode: 'inc', offset: 1 }, cmp('02000000'), verdict('accept')]),
  rule4('filt', [
    payload('network', 12, 4),
    { type: 'lookup', sreg: 1, set: 'marks', dreg: 1 },
    { type: 'meta-set', key: 'mark', sreg: 1 },
  ]),
  rule4('raw-pre', [payload('network', 16, 4), cmp(ip4('198.19.0.7')), { type: 'notrack' }]),
  rule4('nat-out', [payload('network', 12, 4), { type: 'lookup', sreg: 1, set: 'aff' }, verdict('goto', 'svc-a')]),
  rule4('nat-out', [
    meta('l4proto'),
    cmp('11'),
    { type: 'immediate', dreg: 1, data: b(ip4('198.18.1.1')) },
    { type: 'immediate', dreg: 2, data: b('0035') },
    { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regProtoMin: 2 },
  ]),
  rule4('nat-out', [
    payload('network', 16, 4),
    cmp(ip4('198.19.0.5')),
    meta('l4proto'),
    cmp('06'),
    payload('transport', 2, 2),
    cmp('0050'),
    { type: 'immediate', dreg: 1, data: b(ip4('198.18.1.5')) },
    { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1 },
  ]),
  rule4('nat-post', [{ type: 'masq', flags: 0x10 }]),
  rule4('nat-post', [meta('oifname'), cmp(ifname('eth0')), { type: 'masq' }]),
];

export const rules6: NftRule[] = [
  rule6('filt', [
    payload('network', 24, 16),
    cmp('20010db8000000000000000000000001'),
    meta('l4proto'),
    cmp('06'),
    payload('transport', 2, 2),
    cmp('0050'),
    { type: 'reject', kind: 'icmp', code: 4 },
  ]),
  rule6('filt', [
    payload('network', 24, 16),
    meta('l4proto', 2),
    payload('transport', 2, 2, 13),
    { type: 'lookup', sreg: 1, set: 'cluster-ips6' },
    { type: 'reject', kind: 'icmp', code: 1 },
  ]),
  rule6('nat-out', [
    meta('l4proto'),
    cmp('06'),
    { type: 'immediate', dreg: 1, data: b('20010db8000000000000000000000002') },
    { type: 'immediate', dreg: 2, data: b('0050') },
    { type: 'nat', nat: 'dnat', family: 'ip6', regAddrMin: 1, regProtoMin: 2 },
  ]),
];

/** The whole of golden.nft as one transaction, in nft's order. */
export function goldenOps(): NftOp[] {
  const ops: NftOp[] = [{ op: 'add-table', table: { family: 'ip', name: T4, comment: 'golden' } }];
  for (const chain of chains4) ops.push({ op: 'add-chain', chain });
  for (const k of Object.keys(sets4) as (keyof typeof sets4)[]) {
    ops.push({ op: 'add-set', set: sets4[k] });
    if (elements4[k].length) ops.push({ op: 'add-elements', set: sets4[k], elements: elements4[k] });
  }
  for (const rule of rules4) ops.push({ op: 'add-rule', rule });
  ops.push({ op: 'add-table', table: { family: 'ip6', name: T6 } });
  for (const chain of chains6) ops.push({ op: 'add-chain', chain });
  ops.push({ op: 'add-set', set: set6 }, { op: 'add-elements', set: set6, elements: elements6 });
  for (const rule of rules6) ops.push({ op: 'add-rule', rule });
  return ops;
}
