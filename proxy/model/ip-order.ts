// A numeric ordering of IP addresses (IPv4 before IPv6), so endpoint lists sort as an operator
// expects ("10.0.0.9" before "10.0.0.10") and identically on every sync.

import { isIP } from 'node:net';
import { canonicalIPv4Value } from './ipv4-scan.js';

let keysMade = 0;

/** Sort keys made since the process started (for the tests that count the model's work per change). */
export function sortKeysMade(): number {
  return keysMade;
}

/** A string whose lexical order is the numeric order of the address; invalid input sorts last. */
export function ipSortKey(ip: string): string {
  keysMade++;
  // Canonical IPv4 keyed from its value: two strings, where split/map/padStart/join made a dozen.
  const v4 = canonicalIPv4Value(ip);
  if (v4 >= 0) return '4' + v4.toString(16).padStart(8, '0');
  const v = isIP(ip);
  if (v === 4) return '4' + ipv4Hex(ip);
  if (v === 6) return '6' + ipv6Hex(ip);
  return '9' + ip;
}

export function compareIPs(a: string, b: string): number {
  const ka = ipSortKey(a);
  const kb = ipSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function ipv4Hex(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

function ipv6Hex(ip: string): string {
  let s = ip;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Embedded IPv4 (e.g. ::ffff:198.18.0.1): rewrite as two hex groups.
    const hex = ipv4Hex(tail);
    s = `${s.slice(0, lastColon + 1)}${hex.slice(0, 4)}:${hex.slice(4)}`;
  }
  const [head = '', rest] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return groups.map((g) => g.toLowerCase().padStart(4, '0')).join('');
}
