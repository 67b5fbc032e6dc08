// nf_tables expressions <-> netlink: one NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA {...} }
// per expression, with the attributes in the order libnftnl writes them (so that our bytes equal
// what `nft` sends). All integer attributes are NLA_BE32 (register numbers too); only the
// reject code and the ct direction are u8, and data is raw bytes.
//
// Canonical form (decode(encode(x)) equals x): attributes that the kernel fills in with
// defaults on its own are left out on decode — nat's addr_max/proto_max (= min) and its implied
// MAP_IPS/PROTO_SPECIFIED flags, lookup flags 0, dynset timeout 0 (= the set's default),
// numgen offset 0, counter values 0, bitwise op MASK_XOR.

import { attrIndex, getString, parseAttrs, type AttrLookup } from '../../shared/netlink/attr.js';
import type { NlWriter } from '../../shared/netlink/writer.js';
import * as C from './constants.js';
import type { CmpOp, CtKey, Expr, FibFlags, FibResult, MetaKey, PayloadBase, Verdict, VerdictCode } from './types.js';

/** Per-batch facts the encoder needs: ids of sets created earlier in the same batch. */
export interface EncodeContext {
  readonly setIds?: ReadonlyMap<string, number>;
}

const PAYLOAD_BASES: readonly PayloadBase[] = ['ll', 'network', 'transport'];
const CMP_OPS: readonly CmpOp[] = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'];
const META_KEYS: Readonly<Record<MetaKey, number>> = {
  len: 0,
  protocol: 1,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  nfproto: 15,
  l4proto: 16,
  pkttype: 19,
};
const CT_KEYS: Readonly<Record<CtKey, number>> = {
  state: 0,
  direction: 1,
  status: 2,
  mark: 3,
  l3protocol: 7,
  src: 8,
  dst: 9,
  protocol: 10,
  'proto-src': 11,
  'proto-dst': 12,
  'src-ip': 19,
  'dst-ip': 20,
  'src-ip6': 21,
  'dst-ip6': 22,
};
const FIB_RESULTS: Readonly<Record<FibResult, number>> = { oif: 1, oifname: 2, type: 3 };
const FIB_FLAG_BITS: readonly (readonly [keyof FibFlags, number])[] = [
  ['saddr', 1 << 0],
  ['daddr', 1 << 1],
  ['mark', 1 << 2],
  ['iif', 1 << 3],
  ['oif', 1 << 4],
  ['present', 1 << 5],
];
const REJECT_KINDS = { icmp: 0, 'tcp-rst': 1, icmpx: 2 } as const;
const NAT_IMPLIED = C.NF_NAT_RANGE_MAP_IPS | C.NF_NAT_RANGE_PROTO_SPECIFIED;

const invert = <K extends string>(m: Readonly<Record<K, number>>): Map<number, K> =>
  new Map((Object.entries(m) as [K, number][]).map(([k, v]) => [v, k]));
const META_BY_NUM = invert(META_KEYS);
const CT_BY_NUM = invert(CT_KEYS);
const FIB_BY_NUM = invert(FIB_RESULTS);

// --- verdicts ----------------------------------------------------------------------------------

const VERDICT_CODES: Readonly<Record<VerdictCode, number>> = {
  drop: C.NF_DROP,
  accept: C.NF_ACCEPT,
  continue: C.NFT_CONTINUE,
  return: C.NFT_RETURN,
  jump: C.NFT_JUMP,
  goto: C.NFT_GOTO,
};
const VERDICT_BY_NUM = invert(VERDICT_CODES);

/** NFTA_DATA_VERDICT { CODE, CHAIN } inside an already opened NFTA_*_DATA nest. */
export function writeVerdict(w: NlWriter, v: Verdict): void {
  const n = w.beginNest(C.NFTA_DATA_VERDICT);
  w.be32(C.NFTA_VERDICT_CODE, VERDICT_CODES[v.code]);
  if (v.code === 'jump' || v.code === 'goto') {
    if (!v.chain) throw new Error(`verdict ${v.code} needs a chain`);
    w.string(C.NFTA_VERDICT_CHAIN, v.chain);
  }
  w.endNest(n);
}

export function readVerdict(p: Buffer): Verdict {
  const a = attrIndex(p);
  const code = a.get(C.NFTA_VERDICT_CODE);
  if (!code) throw new Error('verdict without NFTA_VERDICT_CODE');
  const num = code.readInt32BE(0);
  const name = VERDICT_BY_NUM.get(num);
  if (!name) throw new Error(`unknown verdict code ${num}`);
  const chain = a.get(C.NFTA_VERDICT_CHAIN);
  return chain ? { code: name, chain: getString(chain) } : { code: name };
}

/** NFTA_*_DATA { NFTA_DATA_VALUE bytes }. */
function writeValue(w: NlWriter, type: number, data: Uint8Array): void {
  const n = w.beginNest(type);
  w.bytes(C.NFTA_DATA_VALUE, data);
  w.endNest(n);
}

function readValue(p: Buffer | undefined, what: string): Uint8Array {
  const v = p && attrIndex(p).get(C.NFTA_DATA_VALUE);
  if (!v) throw new Error(`${what}: missing NFTA_DATA_VALUE`);
  return new Uint8Array(v);
}

// --- encoding -----------------------------------------------------------------------------------

function fibFlags(f: FibFlags): number {
  let bits = 0;
  for (const [k, bit] of FIB_FLAG_BITS) if (f[k]) bits |= bit;
  return bits;
}

/** One expression as an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS. */
export function writeExpr(w: NlWriter, e: Expr, ctx: EncodeContext = {}): void {
  const elem = w.beginNest(C.NFTA_LIST_ELEM);
  w.string(C.NFTA_EXPR_NAME, exprName(e));
  if (e.type !== 'notrack') {
    const data = w.beginNest(C.NFTA_EXPR_DATA);
    writeExprData(w, e, ctx);
    w.endNest(data);
  }
  w.endNest(elem);
}

function exprName(e: Expr): string {
  switch (e.type) {
    case 'meta-set':
      return 'meta';
    case 'verdict':
      return 'immediate';
    default:
      return e.type;
  }
}

function writeExprData(w: NlWriter, e: Expr, ctx: EncodeContext): void {
  switch (e.type) {
    case 'payload':
      w.be32(C.NFTA_PAYLOAD_DREG, e.dreg);
      w.be32(C.NFTA_PAYLOAD_BASE, PAYLOAD_BASES.indexOf(e.base));
      w.be32(C.NFTA_PAYLOAD_OFFSET, e.offset);
      w.be32(C.NFTA_PAYLOAD_LEN, e.len);
      return;
    case 'meta':
      w.be32(C.NFTA_META_KEY, META_KEYS[e.key]);
      w.be32(C.NFTA_META_DREG, e.dreg);
      return;
    case 'meta-set':
      w.be32(C.NFTA_META_KEY, META_KEYS[e.key]);
      w.be32(C.NFTA_META_SREG, e.sreg);
      return;
    case 'cmp':
      w.be32(C.NFTA_CMP_SREG, e.sreg);
      w.be32(C.NFTA_CMP_OP, CMP_OPS.indexOf(e.op));
      writeValue(w, C.NFTA_CMP_DATA, e.data);
      return;
    case 'bitwise':
      if (e.mask.length !== e.len || e.xor.length !== e.len) {
        throw new Error(`bitwise: mask and xor must be ${e.len} bytes`);
      }
      w.be32(C.NFTA_BITWISE_SREG, e.sreg);
      w.be32(C.NFTA_BITWISE_DREG, e.dreg);
      w.be32(C.NFTA_BITWISE_OP, 0 /* NFT_BITWISE_MASK_XOR */);
      w.be32(C.NFTA_BITWISE_LEN, e.len);
      writeValue(w, C.NFTA_BITWISE_MASK, e.mask);
      writeValue(w, C.NFTA_BITWISE_XOR, e.xor);
      return;
    case 'lookup': {
      w.be32(C.NFTA_LOOKUP_SREG, e.sreg);
      if (e.dreg !== undefined) w.be32(C.NFTA_LOOKUP_DREG, e.dreg);
      w.string(C.NFTA_LOOKUP_SET, e.set);
      const id = ctx.setIds?.get(e.set);
      if (id !== undefined) w.be32(C.NFTA_LOOKUP_SET_ID, id);
      if (e.invert) w.be32(C.NFTA_LOOKUP_FLAGS, C.NFT_LOOKUP_F_INV);
      return;
    }
    case 'immediate':
      w.be32(C.NFTA_IMMEDIATE_DREG, e.dreg);
      writeValue(w, C.NFTA_IMMEDIATE_DATA, e.data);
      return;
    case 'verdict': {
      w.be32(C.NFTA_IMMEDIATE_DREG, 0);
      const d = w.beginNest(C.NFTA_IMMEDIATE_DATA);
      writeVerdict(w, e.verdict);
      w.endNest(d);
      return;
    }
    case 'ct':
      w.be32(C.NFTA_CT_KEY, CT_KEYS[e.key]);
      w.be32(C.NFTA_CT_DREG, e.dreg);
      if (e.direction !== undefined) w.u8(C.NFTA_CT_DIRECTION, e.direction === 'original' ? 0 : 1);
      return;
    case 'fib':
      w.be32(C.NFTA_FIB_FLAGS, fibFlags(e.flags));
      w.be32(C.NFTA_FIB_RESULT, FIB_RESULTS[e.result]);
      w.be32(C.NFTA_FIB_DREG, e.dreg);
      return;
    case 'nat': {
      w.be32(C.NFTA_NAT_TYPE, e.nat === 'snat' ? 0 : 1);
      w.be32(C.NFTA_NAT_FAMILY, e.family === 'ip' ? C.NFPROTO_IPV4 : C.NFPROTO_IPV6);
      if (e.regAddrMin !== undefined) w.be32(C.NFTA_NAT_REG_ADDR_MIN, e.regAddrMin);
      if (e.regProtoMin !== undefined) w.be32(C.NFTA_NAT_REG_PROTO_MIN, e.regProtoMin);
      const flags = (e.flags ?? 0) & ~NAT_IMPLIED;
      if (flags) w.be32(C.NFTA_NAT_FLAGS, flags);
      return;
    }
    case 'masq':
      if (e.flags) w.be32(C.NFTA_MASQ_FLAGS, e.flags);
      return;
    case 'numgen':
      w.be32(C.NFTA_NG_DREG, e.dreg);
      w.be32(C.NFTA_NG_MODULUS, e.modulus);
      w.be32(C.NFTA_NG_TYPE, e.mode === 'inc' ? 0 : 1);
      w.be32(C.NFTA_NG_OFFSET, e.offset ?? 0);
      return;
    case 'reject':
      w.be32(C.NFTA_REJECT_TYPE, REJECT_KINDS[e.kind]);
      w.u8(C.NFTA_REJECT_ICMP_CODE, e.code);
      return;
    case 'counter':
      if (e.bytes) w.be64(C.NFTA_COUNTER_BYTES, e.bytes);
      if (e.packets) w.be64(C.NFTA_COUNTER_PACKETS, e.packets);
      return;
    case 'dynset': {
      w.be32(C.NFTA_DYNSET_SREG_KEY, e.sregKey);
      if (e.sregData !== undefined) w.be32(C.NFTA_DYNSET_SREG_DATA, e.sregData);
      w.be32(C.NFTA_DYNSET_OP, e.op === 'add' ? 0 : 1);
      if (e.timeoutMs) w.be64(C.NFTA_DYNSET_TIMEOUT, BigInt(e.timeoutMs));
      w.string(C.NFTA_DYNSET_SET_NAME, e.set);
      const id = ctx.setIds?.get(e.set);
      if (id !== undefined) w.be32(C.NFTA_DYNSET_SET_ID, id);
      return;
    }
    case 'notrack':
      return;
  }
}

// --- decoding -----------------------------------------------------------------------------------

const be32 = (a: AttrLookup, t: number, what: string): number => {
  const p = a.get(t);
  if (!p || p.length < 4) throw new Error(`${what}: missing attribute ${t}`);
  return p.readUInt32BE(0);
};
const optBe32 = (a: AttrLookup, t: number): number | undefined => {
  const p = a.get(t);
  return p && p.length >= 4 ? p.readUInt32BE(0) : undefined;
};
const optBe64 = (a: AttrLookup, t: number): bigint | undefined => {
  const p = a.get(t);
  return p && p.length >= 8 ? p.readBigUInt64BE(0) : undefined;
};

function pick<T>(table: ReadonlyMap<number, T> | readonly T[], n: number, what: string): T {
  const v = Array.isArray(table) ? (table as readonly T[])[n] : (table as ReadonlyMap<number, T>).get(n);
  if (v === undefined) throw new Error(`${what}: unknown value ${n}`);
  return v;
}

/** Thrown for an expression the model has no shape for; the rule decoder records its name. */
export class UnknownExprError extends Error {
  constructor(readonly exprName: string, detail: string) {
    super(detail);
    this.name = 'UnknownExprError';
  }
}

/** One NFTA_LIST_ELEM payload (NFTA_EXPR_NAME + NFTA_EXPR_DATA) back to an Expr. */
export function readExpr(elem: Buffer): Expr {
  const top = attrIndex(elem);
  const nameAttr = top.get(C.NFTA_EXPR_NAME);
  if (!nameAttr) throw new Error('expression without NFTA_EXPR_NAME');
  const name = getString(nameAttr);
  const a = attrIndex(top.get(C.NFTA_EXPR_DATA) ?? Buffer.alloc(0));
  switch (name) {
    case 'payload': {
      if (a.has(5 /* NFTA_PAYLOAD_SREG: a payload write */)) throw new UnknownExprError(name, 'payload set is not modeled');
      return {
        type: 'payload',
        base: pick(PAYLOAD_BASES, be32(a, C.NFTA_PAYLOAD_BASE, name), 'payload base'),
        offset: be32(a, C.NFTA_PAYLOAD_OFFSET, name),
        len: be32(a, C.NFTA_PAYLOAD_LEN, name),
        dreg: be32(a, C.NFTA_PAYLOAD_DREG, name),
      };
    }
    case 'meta': {
      const key = pick(META_BY_NUM, be32(a, C.NFTA_META_KEY, name), 'meta key');
      const sreg = optBe32(a, C.NFTA_META_SREG);
      if (sreg !== undefined) return { type: 'meta-set', key, sreg };
      return { type: 'meta', key, dreg: be32(a, C.NFTA_META_DREG, name) };
    }
    case 'cmp':
      return {
        type: 'cmp',
        sreg: be32(a, C.NFTA_CMP_SREG, name),
        op: pick(CMP_OPS, be32(a, C.NFTA_CMP_OP, name), 'cmp op'),
        data: readValue(a.get(C.NFTA_CMP_DATA), name),
      };
    case 'bitwise': {
      const op = optBe32(a, C.NFTA_BITWISE_OP) ?? 0;
      if (op !== 0) throw new UnknownExprError(name, `bitwise shift (op ${op}) is not modeled`);
      return {
        type: 'bitwise',
        sreg: be32(a, C.NFTA_BITWISE_SREG, name),
        dreg: be32(a, C.NFTA_BITWISE_DREG, name),
        len: be32(a, C.NFTA_BITWISE_LEN, name),
        mask: readValue(a.get(C.NFTA_BITWISE_MASK), name),
        xor: readValue(a.get(C.NFTA_BITWISE_XOR), name),
      };
    }
    case 'lookup': {
      const setAttr = a.get(C.NFTA_LOOKUP_SET);
      if (!setAttr) throw new Error('lookup without a set name');
      const dreg = optBe32(a, C.NFTA_LOOKUP_DREG);
      const flags = optBe32(a, C.NFTA_LOOKUP_FLAGS) ?? 0;
      return {
        type: 'lookup',
        sreg: be32(a, C.NFTA_LOOKUP_SREG, name),
        set: getString(setAttr),
        ...(dreg !== undefined ? { dreg } : {}),
        ...(flags & C.NFT_LOOKUP_F_INV ? { invert: true } : {}),
      };
    }
    case 'immediate': {
      const dreg = be32(a, C.NFTA_IMMEDIATE_DREG, name);
      const data = attrIndex(a.get(C.NFTA_IMMEDIATE_DATA) ?? Buffer.alloc(0));
      const verdict = data.get(C.NFTA_DATA_VERDICT);
      if (verdict) return { type: 'verdict', verdict: readVerdict(verdict) };
      const value = data.get(C.NFTA_DATA_VALUE);
      if (!value) throw new Error('immediate without data');
      return { type: 'immediate', dreg, data: new Uint8Array(value) };
    }
    case 'ct': {
      if (a.has(4 /* NFTA_CT_SREG: ct set */)) throw new UnknownExprError(name, 'ct set is not modeled');
      const key = pick(CT_BY_NUM, be32(a, C.NFTA_CT_KEY, name), 'ct key');
      const dir = a.get(C.NFTA_CT_DIRECTION);
      return {
        type: 'ct',
        key,
        dreg: be32(a, C.NFTA_CT_DREG, name),
        ...(dir ? { direction: dir[0] === 0 ? ('original' as const) : ('reply' as const) } : {}),
      };
    }
    case 'fib': {
      const bits = be32(a, C.NFTA_FIB_FLAGS, name);
      const flags: Record<string, boolean> = {};
      for (const [k, bit] of FIB_FLAG_BITS) if (bits & bit) flags[k] = true;
      return {
        type: 'fib',
        result: pick(FIB_BY_NUM, be32(a, C.NFTA_FIB_RESULT, name), 'fib result'),
        flags: flags as FibFlags,
        dreg: be32(a, C.NFTA_FIB_DREG, name),
      };
    }
    case 'nat': {
      const fam = be32(a, C.NFTA_NAT_FAMILY, name);
      const regAddrMin = optBe32(a, C.NFTA_NAT_REG_ADDR_MIN);
      const regProtoMin = optBe32(a, C.NFTA_NAT_REG_PROTO_MIN);
      const flags = (optBe32(a, C.NFTA_NAT_FLAGS) ?? 0) & ~NAT_IMPLIED;
      return {
        type: 'nat',
        nat: be32(a, C.NFTA_NAT_TYPE, name) === 0 ? 'snat' : 'dnat',
        family: fam === C.NFPROTO_IPV6 ? 'ip6' : 'ip',
        ...(regAddrMin !== undefined ? { regAddrMin } : {}),
        ...(regProtoMin !== undefined ? { regProtoMin } : {}),
        ...(flags ? { flags } : {}),
      };
    }
    case 'masq': {
      const flags = optBe32(a, C.NFTA_MASQ_FLAGS) ?? 0;
      if (a.has(2 /* NFTA_MASQ_REG_PROTO_MIN */)) throw new UnknownExprError(name, 'masquerade to ports is not modeled');
      return flags ? { type: 'masq', flags } : { type: 'masq' };
    }
    case 'numgen': {
      const offset = optBe32(a, C.NFTA_NG_OFFSET) ?? 0;
      return {
        type: 'numgen',
        dreg: be32(a, C.NFTA_NG_DREG, name),
        modulus: be32(a, C.NFTA_NG_MODULUS, name),
        mode: be32(a, C.NFTA_NG_TYPE, name) === 0 ? 'inc' : 'random',
        ...(offset ? { offset } : {}),
      };
    }
    case 'reject': {
      const kind = be32(a, C.NFTA_REJECT_TYPE, name);
      const code = a.get(C.NFTA_REJECT_ICMP_CODE);
      return {
        type: 'reject',
        kind: kind === 0 ? 'icmp' : kind === 1 ? 'tcp-rst' : 'icmpx',
        code: code ? (code[0] ?? 0) : 0,
      };
    }
    case 'counter': {
      const bytes = optBe64(a, C.NFTA_COUNTER_BYTES) ?? 0n;
      const packets = optBe64(a, C.NFTA_COUNTER_PACKETS) ?? 0n;
      return { type: 'counter', ...(packets ? { packets } : {}), ...(bytes ? { bytes } : {}) };
    }
    case 'dynset': {
      const setAttr = a.get(C.NFTA_DYNSET_SET_NAME);
      if (!setAttr) throw new Error('dynset without a set name');
      if (a.has(7) || a.has(10)) throw new UnknownExprError(name, 'dynset with expressions is not modeled');
      const sregData = optBe32(a, C.NFTA_DYNSET_SREG_DATA);
      const timeout = optBe64(a, C.NFTA_DYNSET_TIMEOUT) ?? 0n;
      const op = be32(a, C.NFTA_DYNSET_OP, name);
      if (op > 1) throw new UnknownExprError(name, 'dynset delete is not modeled');
      return {
        type: 'dynset',
        op: op === 0 ? 'add' : 'update',
        set: getString(setAttr),
        sregKey: be32(a, C.NFTA_DYNSET_SREG_KEY, name),
        ...(sregData !== undefined ? { sregData } : {}),
        ...(timeout ? { timeoutMs: Number(timeout) } : {}),
      };
    }
    case 'notrack':
      return { type: 'notrack' };
    default:
      throw new UnknownExprError(name, `expression "${name}" is not modeled`);
  }
}

/** The NFTA_RULE_EXPRESSIONS payload: a list of NFTA_LIST_ELEM. */
export function readExprList(p: Buffer): Expr[] {
  return parseAttrs(p).map((a) => readExpr(a.payload));
}
