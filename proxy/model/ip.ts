// Small, pure IP helpers shared by the model and the dataplanes. These are strict (node:net) and
// meant for canonical text and for our own flags; text from API objects goes through
// ip-parse.ts, which reads it as the apiserver does.

import { BlockList, isIP } from 'node:net';
import type { IPFamily } from './types.js';

export function ipFamily(ip: string): IPFamily | undefined {
  const v = isIP(ip);
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : undefined;
}

export function isValidIP(ip: string): boolean {
  return isIP(ip) !== 0;
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: IPFamily;
}

/** Parse "a.b.c.d/n" or "x::/n"; a bare address gets a host prefix. Undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (extra !== undefined || addr === undefined) return undefined;
  const family = ipFamily(addr);
  if (!family) return undefined;
  const max = family === 'IPv4' ? 32 : 128;
  if (len === undefined) return { address: addr, prefix: max, family };
  if (!/^\d{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > max) return undefined;
  return { address: addr, prefix, family };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}

/** True when `ip` lies inside any of `cidrs` (unparseable entries are ignored). */
export function cidrsContain(cidrs: readonly string[], ip: string): boolean {
  const family = ipFamily(ip);
  if (!family) return false;
  const list = new BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c && c.family === family) list.addSubnet(c.address, c.prefix, family === 'IPv4' ? 'ipv4' : 'ipv6');
  }
  return list.check(ip, family === 'IPv4' ? 'ipv4' : 'ipv6');
}
