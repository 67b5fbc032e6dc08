// /proc/net/ip_vs_conn as the kernel prints it (ip_vs_conn_seq_show: IPv4 as 8 hex digits, IPv6
// uncompressed, ports as 4 hex digits), and which entries still carry packets.

import { describe, expect, it } from 'vitest';
import { isLive, parseIpvsConnections, vsAddressKey } from '../../../modes/ipvs/connections.js';

const TABLE = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C6120164 9C40 C613DA57 0050 C612010B 1F90 SYN_RECV         59
TCP C6120164 9C42 C613DA57 0050 C612020B 1F90 TIME_WAIT       118
UDP C6120164 D431 C613DA57 1F90 C612010C 1F90 UDP             299
TCP 00000000 0000 C613DA57 0050 C612010B 1F90 NONE          10799 
TCP 2001:0db8:0001:0000:0000:0000:0000:0100 9C40 2001:0db8:0000:0000:0000:0000:0000:000a 0050 2001:0db8:0001:0000:0000:0000:0000:000b 1F90 ESTABLISHED    899
`;

describe('IPVS connection table', () => {
  it('parses IPv4 and IPv6 entries into canonical address:port keys', () => {
    expect(parseIpvsConnections(TABLE)).toEqual([
      { protocol: 'TCP', client: '198.18.1.100:40000', virtual: '198.19.218.87:80', state: 'SYN_RECV' },
      { protocol: 'TCP', client: '198.18.1.100:40002', virtual: '198.19.218.87:80', state: 'TIME_WAIT' },
      { protocol: 'UDP', client: '198.18.1.100:54321', virtual: '198.19.218.87:8080', state: 'UDP' },
      { protocol: 'TCP', client: '0.0.0.0:0', virtual: '198.19.218.87:80', state: 'NONE' },
      { protocol: 'TCP', client: '[2001:db8:1::100]:40000', virtual: '[2001:db8::a]:80', state: 'ESTABLISHED' },
    ]);
    expect(vsAddressKey('2001:db8::a', 80)).toBe('[2001:db8::a]:80');
    expect(vsAddressKey('198.19.218.87', 80)).toBe('198.19.218.87:80');
  });

  it('counts open TCP/SCTP connections only: not TIME_WAIT, CLOSE, UDP flows or persistence templates', () => {
    const live = (protocol: string, state: string): boolean => isLive({ protocol, state, client: '', virtual: '' });
    for (const s of ['ESTABLISHED', 'SYN_RECV', 'SYN_SENT', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK']) expect(live('TCP', s), s).toBe(true);
    for (const s of ['TIME_WAIT', 'CLOSE', 'NONE', 'TEMPLATE']) expect(live('TCP', s), s).toBe(false);
    expect(live('UDP', 'UDP')).toBe(false);
    expect(live('SCTP', 'ESTABLISHED')).toBe(true);
    expect(live('SCTP', 'CLOSED')).toBe(false);
  });
});
