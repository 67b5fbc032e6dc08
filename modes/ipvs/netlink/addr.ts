// IP address <-> the raw network-order bytes IPVS carries in IPVS_*_ATTR_ADDR (the start of a
// union nf_inet_addr). Formatting follows RFC 5952 (lowercase, longest zero run as "::") so a
// decoded address compares equal to what the rest of the proxy and `ipvsadm -Ln` print.

import { isIPv4, isIPv6 } from 'node:net';
import type { IPFamily } from '../../../proxy/model/types.js';
import { formatIPv6Groups } from '../../../proxy/model/ip-parse.js';

export function addressToBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map((o) => Number(o)));
  if (isIPv6(address)) return ipv6ToBytes(address);
  throw new Error(`invalid IP address ${JSON.stringify(address)}`);
}

function ipv6ToBytes(address: string): Buffer {
  let text = address.split('%')[0] ?? address;
  const out = Buffer.alloc(16);
  // An embedded dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${(((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16)}:${(((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function bytesToAddress(bytes: Buffer, family: IPFamily): string {
  if (family === 'IPv4') {
    if (bytes.length < 4) throw new Error(`IPv4 address needs 4 bytes, got ${bytes.length}`);
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  }
  if (bytes.length < 16) throw new Error(`IPv6 address needs 16 bytes, got ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(i * 2));
  return formatIPv6Groups(groups);
}

export function familyOf(address: string): IPFamily {
  if (isIPv4(address)) return 'IPv4';
  if (isIPv6(address)) return 'IPv6';
  throw new Error(`invalid IP address ${JSON.stringify(address)}`);
}
