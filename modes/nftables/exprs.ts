// Builders of the expression lists the ruleset uses, at the kernel's level (what `nft
// --debug=netlink` prints): each match loads a value into a register, then compares or looks it
// up. Concatenated keys are loaded into consecutive registers, one 32-bit register per 4 bytes.

import type { IPFamily } from '../../proxy/model/types.js';
import { allocBytes, cidrRange, pad4, u32Host } from './bytes.js';
import { REG32_00, type Expr, type Reg, type VerdictCode } from './netlink/types.js';

export const R0: Reg = REG32_00;

export function addrLen(f: IPFamily): number {
  return f === 'IPv4' ? 4 : 16;
}

/** The register after a value of `len` bytes loaded at `reg`. */
export function next(reg: Reg, len: number): Reg {
  return reg + pad4(len) / 4;
}

export function loadAddr(f: IPFamily, which: 'saddr' | 'daddr', dreg: Reg): Expr {
  const v4 = f === 'IPv4';
  const offset = which === 'saddr' ? (v4 ? 12 : 8) : v4 ? 16 : 24;
  return { type: 'payload', base: 'network', offset, len: addrLen(f), dreg };
}

export const loadL4proto = (dreg: Reg): Expr => ({ type: 'meta', key: 'l4proto', dreg });
/** `th dport`: the destination port of TCP, UDP and SCTP sits at the same offset. */
export const loadDport = (dreg: Reg): Expr => ({ type: 'payload', base: 'transport', offset: 2, len: 2, dreg });

/** `ip daddr . meta l4proto . th dport` into R0.. (the key of the dispatch maps). */
export function loadDispatchKey(f: IPFamily): Expr[] {
  const r1 = next(R0, addrLen(f));
  return [loadAddr(f, 'daddr', R0), loadL4proto(r1), loadDport(next(r1, 1))];
}

/** `meta l4proto . th dport` into R0, R0+1. */
export function loadPortKey(): Expr[] {
  return [loadL4proto(R0), loadDport(next(R0, 1))];
}

export function dispatchKeyLen(f: IPFamily): number {
  return pad4(addrLen(f)) + 4 + 4;
}

export const cmp = (sreg: Reg, op: 'eq' | 'neq', data: Uint8Array): Expr => ({ type: 'cmp', sreg, op, data });

/** `ip saddr [!=] cidr`; a host prefix needs no mask. */
export function matchCidr(f: IPFamily, which: 'saddr' | 'daddr', cidr: string, negate: boolean): Expr[] {
  const { start, prefix } = cidrRange(cidr);
  const len = addrLen(f);
  const out: Expr[] = [loadAddr(f, which, R0)];
  if (prefix < len * 8) {
    const mask = allocBytes(len);
    for (let bit = 0; bit < prefix; bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
    out.push({ type: 'bitwise', sreg: R0, dreg: R0, len, mask, xor: allocBytes(len) });
  }
  out.push(cmp(R0, negate ? 'neq' : 'eq', start));
  return out;
}

/** `iifname [!=] name`, where a trailing "+" (iptables' wildcard) matches by prefix. */
export function matchIifname(name: string, negate: boolean): Expr[] {
  const prefix = name.endsWith('+');
  const text = prefix ? name.slice(0, -1) : name;
  // A whole name is compared with its NUL terminator; a prefix without one.
  const data = new TextEncoder().encode(prefix ? text : text + '\0');
  return [{ type: 'meta', key: 'iifname', dreg: R0 }, cmp(R0, negate ? 'neq' : 'eq', data)];
}

const CT_STATE_NEW = 1 << 3;
/** `ct state new`: the filter checks only look at the first packet of a connection. */
export function ctStateNew(): Expr[] {
  return [
    { type: 'ct', key: 'state', dreg: R0 },
    { type: 'bitwise', sreg: R0, dreg: R0, len: 4, mask: u32Host(CT_STATE_NEW), xor: u32Host(0) },
    cmp(R0, 'neq', u32Host(0)),
  ];
}

const RTN_LOCAL = 2;
/** `fib daddr type local` / `fib saddr type local`. */
export function fibLocal(which: 'saddr' | 'daddr'): Expr[] {
  return [
    { type: 'fib', result: 'type', flags: which === 'daddr' ? { daddr: true } : { saddr: true }, dreg: R0 },
    cmp(R0, 'eq', u32Host(RTN_LOCAL)),
  ];
}

export function lookup(sreg: Reg, set: string, opts: { dreg?: Reg; invert?: boolean } = {}): Expr {
  return { type: 'lookup', sreg, set, ...(opts.dreg !== undefined ? { dreg: opts.dreg } : {}), ...(opts.invert ? { invert: true } : {}) };
}

export function verdict(code: VerdictCode, chain?: string): Expr {
  return { type: 'verdict', verdict: chain === undefined ? { code } : { code, chain } };
}

/** `meta mark set mark or bit`. */
export function markOr(mark: number): Expr[] {
  return [
    { type: 'meta', key: 'mark', dreg: R0 },
    { type: 'bitwise', sreg: R0, dreg: R0, len: 4, mask: u32Host(~mark), xor: u32Host(mark) },
    { type: 'meta-set', key: 'mark', sreg: R0 },
  ];
}

/** `meta mark and bit == 0`. */
export function markClear(mark: number): Expr[] {
  return [
    { type: 'meta', key: 'mark', dreg: R0 },
    { type: 'bitwise', sreg: R0, dreg: R0, len: 4, mask: u32Host(mark), xor: u32Host(0) },
    cmp(R0, 'eq', u32Host(0)),
  ];
}

/** `meta mark set mark xor bit`. */
export function markXor(mark: number): Expr[] {
  return [
    { type: 'meta', key: 'mark', dreg: R0 },
    { type: 'bitwise', sreg: R0, dreg: R0, len: 4, mask: u32Host(0xffffffff), xor: u32Host(mark) },
    { type: 'meta-set', key: 'mark', sreg: R0 },
  ];
}

export const NAT_RANGE_PROTO_RANDOM_FULLY = 16;

/**
 * `dnat to <addr reg>:<port reg>`. No flags: the kernel implies NF_NAT_RANGE_MAP_IPS and
 * PROTO_SPECIFIED from the registers, and dumps decode without them.
 */
export function dnat(f: IPFamily, regAddr: Reg): Expr {
  return { type: 'nat', nat: 'dnat', family: f === 'IPv4' ? 'ip' : 'ip6', regAddrMin: regAddr, regProtoMin: next(regAddr, addrLen(f)) };
}
