// A numeric ordering of IP addresses (IPv4 before IPv6), so endpoint lists sort as an operator
// expects ("10.0.0.9" before "10.0.0.10") and identically on every sync.

import { isIP } from 'node:net';

let keysMade = 0;

/** Sort keys made since the process started (for the tests that count the model's work per change). */
export function sortKeysMade(): number {
  return keysMade;
}

/** A string whose lexical order is the numeric order of the address; invalid input sorts last. */
export function ipSortKey(ip: string): string {
  keysMade++;
  const v4 = ipv4Value(ip);
  if (v4 !== undefined) return '4' + v4.toString(16).padStart(8, '0');
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

/**
 * Dotted-quad IPv4 (the model's canonical form) as one 32-bit number, read in place: the key is
 * then two strings, where split/map/padStart/join made a dozen per address. Undefined for
 * anything else (isIP decides).
 */
function ipv4Value(ip: string): number | undefined {
  let acc = 0;
  let val = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      acc = acc * 256 + val;
      val = digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) return undefined;
      val = val * 10 + (c - 48);
      if (++digits > 3 || val > 255) return undefined;
    } else return undefined;
  }
  return dots === 3 && digits > 0 ? acc * 256 + val : undefined;
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
