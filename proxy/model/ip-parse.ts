// IP and CIDR text from API objects, parsed as the Kubernetes API server parses it, and printed in
// one canonical form.
//
// The v1.26 apiserver validates Service and EndpointSlice addresses with netutils.ParseIPSloppy
// (Go 1.16's net.ParseIP), which accepts IPv4 octets with leading zeros and reads them as DECIMAL
// ("198.018.0.012" is 198.18.0.12). Node's net.isIP rejects such text, and iptables/ipset read a
// leading zero as OCTAL (or refuse "018"), so the raw string must never reach a dataplane: the
// model stores only the canonical form printed here. Canonical is what Go's IP.String() prints:
// dotted decimal without leading zeros for IPv4 (and for IPv4-mapped IPv6, which Go treats as
// IPv4), RFC 5952 for IPv6 (lowercase, no leading zeros, longest zero run of 2+ groups as "::").
// Equal addresses then compare equal as strings everywhere (dedup, caches, rule diffs).
//
// Zones ("fe80::1%eth0") are rejected, as Go's ParseIP rejects them: no dataplane can program one.

import type { IPFamily } from './types.js';
import { canonicalIPv4Value } from './ipv4-scan.js';

export interface ParsedIP {
  /** Canonical text. */
  readonly address: string;
  readonly family: IPFamily;
}

export interface ParsedCIDR {
  /** Canonical network address (host bits cleared, as Go's ParseCIDR returns it). */
  readonly address: string;
  readonly prefix: number;
  readonly family: IPFamily;
}

/** Upstream's netutils.ParseIPSloppy, returning canonical text; undefined when invalid. */
export function parseIPSloppy(text: string): ParsedIP | undefined {
  // Canonical dotted IPv4 (nearly every address) is its own canonical form: checked in place,
  // without the split, byte array and join of the general path (the largest allocator of the
  // model's work for a changed slice, issue #13).
  if (canonicalIPv4Value(text) >= 0) return { address: text, family: 'IPv4' };
  const bytes = ipBytes(text);
  if (bytes === undefined) return undefined;
  const ip = formatBytes(bytes);
  // Nearly every address arrives canonical already: keep the caller's string rather than the
  // freshly printed copy, so the model shares it with the informer's cached object (~32 bytes
  // per endpoint address, half a million of them at 50,000 Services x 10).
  return ip.address === text ? { address: text, family: ip.family } : ip;
}

/**
 * Upstream's netutils.ParseCIDRSloppy ("a.b.c.d/n", "x::/n", prefix digits may have leading
 * zeros too). With `bareAddress`, an address without "/n" is accepted as a host route, as the
 * legacy source-ranges annotation is read.
 */
export function parseCIDRSloppy(text: string, opts: { bareAddress?: boolean } = {}): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = ipBytes(addr);
  if (bytes === undefined) return undefined;
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash < 0) {
    if (opts.bareAddress !== true) return undefined;
  } else {
    const len = text.slice(slash + 1);
    if (!/^[0-9]+$/.test(len)) return undefined;
    prefix = Number(len);
    if (prefix > bits) return undefined;
  }
  const network = bytes.map((b, i) => {
    const keep = Math.min(8, Math.max(0, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const ip = formatBytes(network);
  // A masked IPv4-mapped network prints as IPv4 (as Go's IPNet.String does): its prefix counts
  // from bit 96.
  const v4InV6 = ip.family === 'IPv4' && network.length === 16;
  return { address: ip.address, prefix: v4InV6 ? prefix - 96 : prefix, family: ip.family };
}

/** "a.b.c.d/n" or "x::/n". */
export function formatParsedCIDR(c: ParsedCIDR): string {
  return `${c.address}/${c.prefix}`;
}

/** 4 bytes for IPv4 text, 16 for IPv6 text (Go's rule: the first '.' or ':' decides). */
function ipBytes(text: string): number[] | undefined {
  for (const ch of text) {
    if (ch === '.') return ipv4Bytes(text);
    if (ch === ':') return ipv6Bytes(text);
  }
  return undefined;
}

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Any number of digits, read as decimal: "010" is ten, exactly as the apiserver reads it.
    if (!/^[0-9]+$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function ipv6Bytes(text: string): number[] | undefined {
  const ellipsis = text.indexOf('::');
  if (ellipsis >= 0 && text.indexOf('::', ellipsis + 1) >= 0) return undefined;
  const split = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = split(ellipsis < 0 ? text : text.slice(0, ellipsis));
  const tail = ellipsis < 0 ? [] : split(text.slice(ellipsis + 2));
  const groups = [...head, ...tail];
  const values: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? '';
    if (g.includes('.')) {
      // An embedded IPv4 address is only allowed as the last 32 bits (the end of the text).
      const lastOfText = i === groups.length - 1 && (ellipsis < 0 || tail.length > 0);
      if (!lastOfText) return undefined;
      const v4 = ipv4Bytes(g);
      if (v4 === undefined) return undefined;
      values.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    // Go accepts more than 4 hex digits as long as the value fits 16 bits ("00001").
    if (!/^[0-9a-fA-F]+$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    if (n > 0xffff) return undefined;
    values.push(n);
  }
  const headCount = ellipsis < 0 ? values.length : values.length - countValues(tail);
  if (ellipsis < 0 ? values.length !== 8 : values.length > 7) return undefined;
  const full =
    ellipsis < 0
      ? values
      : [...values.slice(0, headCount), ...new Array<number>(8 - values.length).fill(0), ...values.slice(headCount)];
  return full.flatMap((v) => [v >> 8, v & 0xff]);
}

/** How many 16-bit values the groups of `tail` make (an embedded IPv4 address makes two). */
function countValues(tail: readonly string[]): number {
  return tail.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
}

function formatBytes(b: readonly number[]): ParsedIP {
  if (b.length === 4) return { address: b.join('.'), family: 'IPv4' };
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return { address: b.slice(12).join('.'), family: 'IPv4' };
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  return { address: formatIPv6Groups(groups), family: 'IPv6' };
}

/**
 * The canonical text of an IPv6 address given as its eight 16-bit groups (RFC 5952: lowercase
 * hex, the longest run of two or more zero groups compressed, the first one on a tie).
 */
export function formatIPv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: readonly number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
