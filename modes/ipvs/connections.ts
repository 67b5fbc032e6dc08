// IPVS's connection table (/proc/net/ip_vs_conn of the reading process's network namespace): which
// connections through our virtual servers can still carry packets that matter. A switch away from
// IPVS mode waits for those before deleting the virtual servers, because the kernel drops every
// further packet of a connection whose real server is gone.
//
// The real servers' ActiveConn counter is not enough: it counts ESTABLISHED only. A connection whose
// SYN IPVS scheduled just before the new mode's rules took over is in SYN_RECV (counted as
// inactive) until the client's ACK, and a half-closed one (CLOSE_WAIT, LAST_ACK) may still be
// sending its response. TIME_WAIT and CLOSE entries carry nothing any more: they linger for up to
// two minutes and must not hold a switch up.

import { readFile } from 'node:fs/promises';

export interface IpvsConnection {
  readonly protocol: string;
  /** Virtual address and port, as `vsAddressKey` spells them. */
  readonly virtual: string;
  readonly client: string;
  readonly state: string;
}

/** TCP and SCTP states in which a connection is still open in at least one direction. */
const LIVE_STATES: Readonly<Record<string, ReadonlySet<string>>> = {
  TCP: new Set(['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYNACK', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK']),
  SCTP: new Set(['INIT1', 'INIT', 'COOKIE_SENT', 'COOKIE_REPLIED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECEIVED', 'SHUTDOWN_ACK_SENT']),
};

/**
 * Still carrying packets. UDP entries never are in this sense (they only time out, and waiting
 * for them would always take the whole period; ActiveConn never counted them either); TEMPLATE
 * (persistence) entries are not connections.
 */
export function isLive(c: IpvsConnection): boolean {
  return LIVE_STATES[c.protocol]?.has(c.state) ?? false;
}

/** `address:port` with the address in one canonical spelling (IPv6 compressed, in brackets). */
export function vsAddressKey(address: string, port: number): string {
  return address.includes(':') ? `${new URL(`http://[${address}]`).hostname}:${port}` : `${address}:${port}`;
}

/** The kernel prints IPv4 addresses as 8 hex digits, IPv6 ones uncompressed (%pI6), ports as 4 hex digits. */
function address(field: string): string {
  if (/^[0-9A-Fa-f]{8}$/.test(field)) {
    const n = parseInt(field, 16);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  return field;
}

/**
 * Lines of /proc/net/ip_vs_conn:
 * `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]`.
 */
export function parseIpvsConnections(text: string): IpvsConnection[] {
  const out: IpvsConnection[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9 || f[0] === 'Pro') continue;
    const [protocol, from, fromPort, to, toPort, , , state] = f as [string, string, string, string, string, string, string, string];
    out.push({
      protocol,
      client: vsAddressKey(address(from), parseInt(fromPort, 16)),
      virtual: vsAddressKey(address(to), parseInt(toPort, 16)),
      state,
    });
  }
  return out;
}

/** This network namespace's IPVS connections (the proc file shows only the reader's namespace). */
export async function readIpvsConnections(path = '/proc/net/ip_vs_conn'): Promise<IpvsConnection[]> {
  return parseIpvsConnections(await readFile(path, 'utf8'));
}
