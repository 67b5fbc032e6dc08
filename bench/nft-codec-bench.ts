// Micro-benchmark of the nf_tables codec (pure, no kernel): how long encoding a transaction
// takes and how many bytes it sends, for the shapes the nftables dataplane commits — one
// endpoint change (an element out, an element in, the service's numgen rule replaced), a
// service added, and a 10,000-service map load — and how fast a dumped rule decodes.
//
//   npx tsc -p tsconfig.json && node dist/bench/nft-codec-bench.js

import { encodeBatch } from '../modes/nftables/netlink/batch.js';
import { decodeRule } from '../modes/nftables/netlink/decode.js';
import type { Expr, NftElement, NftOp, NftRule, NftSet } from '../modes/nftables/netlink/types.js';
import { parseNlMsgs } from '../modes/shared/netlink/nlmsg.js';

const T = 'kube-proxy';
const dispatch: NftSet = { family: 'ip', table: T, name: 'service-ips', keyType: 0x730d, keyLen: 12, data: { type: 'verdict', len: 0 } };
const eps = (svc: number): NftSet => ({
  family: 'ip',
  table: T,
  name: `service-${svc}-endpoints`,
  keyType: 19,
  keyLen: 4,
  data: { type: 0x1cd, len: 8 },
});
const u32h = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const ep = (svc: number, i: number): NftElement => ({
  key: u32h(i),
  data: new Uint8Array([198, 18, (svc >> 8) & 255, svc & 255, i, 0, 0x1f, 0x90].slice(0, 8)),
});
const numgenRule = (svc: number, n: number, handle?: bigint): NftRule => {
  const exprs: Expr[] = [
    { type: 'numgen', dreg: 1, modulus: n, mode: 'random' },
    { type: 'lookup', sreg: 1, set: `service-${svc}-endpoints`, dreg: 1 },
    { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regProtoMin: 9 },
  ];
  return { family: 'ip', table: T, chain: `service-${svc}`, exprs, comment: `ns/svc-${svc}:http`, ...(handle ? { handle } : {}) };
};

function time(label: string, reps: number, f: () => { bytes: number }): void {
  for (let i = 0; i < Math.min(reps, 200); i++) f(); // warm up
  let bytes = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) bytes = f().bytes;
  const us = Number(process.hrtime.bigint() - t) / 1000 / reps;
  console.log(`${label.padEnd(48)} ${us.toFixed(1).padStart(9)} us  ${String(bytes).padStart(9)} bytes`);
}

const oneEndpoint: NftOp[] = [
  { op: 'delete-elements', set: eps(7), elements: [ep(7, 9)] },
  { op: 'add-elements', set: eps(7), elements: [ep(7, 9)] },
  { op: 'replace-rule', rule: numgenRule(7, 10, 1234n) },
];
const serviceAdded: NftOp[] = [
  { op: 'add-chain', chain: { family: 'ip', table: T, name: 'service-8' } },
  { op: 'add-set', set: eps(8) },
  { op: 'add-elements', set: eps(8), elements: Array.from({ length: 10 }, (_, i) => ep(8, i)) },
  { op: 'add-rule', rule: numgenRule(8, 10) },
  {
    op: 'add-elements',
    set: dispatch,
    elements: [{ key: new Uint8Array([198, 19, 0, 8, 6, 0, 0, 0, 0, 80, 0, 0]), verdict: { code: 'goto', chain: 'service-8' } }],
  },
];
const bigMap: NftOp[] = [
  {
    op: 'add-elements',
    set: dispatch,
    elements: Array.from({ length: 10_000 }, (_, i) => ({
      key: new Uint8Array([198, 19, i >> 8, i & 255, 6, 0, 0, 0, 0, 80, 0, 0]),
      verdict: { code: 'goto' as const, chain: `service-${i}` },
    })),
  },
];

console.log('nf_tables codec (encode = whole batch datagram; bytes = what the kernel receives)');
time('encode: one endpoint change (3 ops)', 20_000, () => ({ bytes: encodeBatch(oneEndpoint, { firstSeq: 1 }).datagram.length }));
time('encode: one service added (5 ops, 10 endpoints)', 20_000, () => ({ bytes: encodeBatch(serviceAdded, { firstSeq: 1 }).datagram.length }));
time('encode: dispatch map of 10,000 services', 50, () => ({ bytes: encodeBatch(bigMap, { firstSeq: 1 }).datagram.length }));
const ruleMsg = parseNlMsgs(encodeBatch([{ op: 'add-rule', rule: numgenRule(3, 10) }], { firstSeq: 1 }).datagram)[1];
if (!ruleMsg) throw new Error('no rule message');
time('decode: one numgen dnat rule', 50_000, () => {
  decodeRule(ruleMsg);
  return { bytes: ruleMsg.payload.length + 16 };
});
