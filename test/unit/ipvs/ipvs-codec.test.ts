import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { decodeGenlMsg, encodeGenlMsg } from '../../../modes/ipvs/netlink/genl.js';
import {
  decodeConfig,
  decodeDest,
  decodeInfo,
  decodeService,
  delDestRequest,
  delServiceRequest,
  listDestsRequest,
  listServicesRequest,
  newDestRequest,
  newServiceRequest,
  setConfigRequest,
  setDestRequest,
  setServiceRequest,
  type IpvsRequest,
} from '../../../modes/ipvs/netlink/ipvs-codec.js';
import { parseNlMsgs } from '../../../modes/shared/netlink/nlmsg.js';
import type { RealServer, VirtualServer } from '../../../modes/ipvs/netlink/types.js';
import { hex, toHex } from './hex.js';

const vs4: VirtualServer = {
  family: 'IPv4',
  protocol: 'TCP',
  address: '10.96.0.10',
  port: 80,
  scheduler: 'rr',
  flags: 0,
  timeoutSeconds: 0,
  netmask: 0xffffffff,
};
const rs: RealServer = { address: '10.244.1.2', port: 8080, weight: 3, fwdMethod: 'Masq' };

/** Attribute bytes of a request (the part after nlmsghdr + genlmsghdr). */
const body = (r: IpvsRequest): string => toHex(Buffer.concat([...r.attrs]));

// The nested IPVS_CMD_ATTR_SERVICE identity of vs4, laid out by hand from ip_vs.h.
const SVC_KEY_V4 = [
  '0600 0100 0200 0000', // IPVS_SVC_ATTR_AF u16 AF_INET
  '0600 0200 0600 0000', // IPVS_SVC_ATTR_PROTOCOL u16 IPPROTO_TCP
  '0800 0300 0a60000a', // IPVS_SVC_ATTR_ADDR 10.96.0.10 (network order)
  '0600 0400 0050 0000', // IPVS_SVC_ATTR_PORT __be16 80
];

describe.runIf(endianness() === 'LE')('IPVS request encoding (golden bytes)', () => {
  it('NEW_SERVICE: full framed message', () => {
    const r = newServiceRequest(vs4);
    const msg = encodeGenlMsg({ family: 32, cmd: r.cmd, version: 1, flags: 0x05, seq: 1, attrs: r.attrs });
    expect(toHex(msg)).toBe(
      toHex(
        hex(
          '5c000000 2000 0500 01000000 00000000', // len 92, family 32, REQUEST|ACK, seq 1
          '01 01 0000', // IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION
          '4800 0180', // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, len 72
          ...SVC_KEY_V4,
          '0700 0600 7272 0000', // SCHED_NAME "rr\0"
          '0c00 0700 00000000 ffffffff', // FLAGS {flags 0, mask ~0}
          '0800 0800 00000000', // TIMEOUT 0
          '0800 0900 ffffffff', // NETMASK
        ),
      ),
    );
    expect(r).toMatchObject({ dump: false, mutating: true });
  });

  it('SET_SERVICE: persistent flag, timeout, /24 netmask in network order', () => {
    const r = setServiceRequest({ ...vs4, scheduler: 'wrr', flags: 1 | 2, timeoutSeconds: 10800, netmask: 0xffffff00 });
    expect(r.cmd).toBe(2);
    expect(body(r)).toBe(
      toHex(
        hex(
          '4800 0180',
          ...SVC_KEY_V4,
          '0800 0600 777272 00', // "wrr\0" needs no padding
          '0c00 0700 01000000 ffffffff', // PERSISTENT only: HASHED is kernel-owned and masked off
          '0800 0800 302a0000', // 10800 s
          '0800 0900 ffffff00',
        ),
      ),
    );
  });

  it('IPv6 service: 16-byte address, AF_INET6, netmask is a host-order prefix length', () => {
    const r = newServiceRequest({ ...vs4, family: 'IPv6', protocol: 'UDP', address: 'fd00::10', port: 53, netmask: 128 });
    expect(body(r)).toBe(
      toHex(
        hex(
          '5400 0180',
          '0600 0100 0a00 0000',
          '0600 0200 1100 0000',
          '1400 0300 fd000000000000000000000000000010',
          '0600 0400 0035 0000',
          '0700 0600 7272 0000',
          '0c00 0700 00000000 ffffffff',
          '0800 0800 00000000',
          '0800 0900 80000000',
        ),
      ),
    );
  });

  it('DEL_SERVICE carries only the identity', () => {
    const r = delServiceRequest(vs4);
    expect(r.cmd).toBe(3);
    expect(body(r)).toBe(toHex(hex('2400 0180', ...SVC_KEY_V4)));
  });

  it('NEW_DEST: service identity then the full destination', () => {
    const r = newDestRequest(vs4, rs);
    expect(r.cmd).toBe(5);
    expect(body(r)).toBe(
      toHex(
        hex(
          '2400 0180',
          ...SVC_KEY_V4,
          '3c00 0280', // IPVS_CMD_ATTR_DEST | NLA_F_NESTED, len 60
          '0800 0100 0af40102', // DEST_ADDR 10.244.1.2
          '0600 0200 1f90 0000', // DEST_PORT __be16 8080
          '0600 0b00 0200 0000', // DEST_ADDR_FAMILY AF_INET
          '0800 0300 00000000', // FWD_METHOD IP_VS_CONN_F_MASQ
          '0800 0400 03000000', // WEIGHT 3
          '0800 0500 00000000', // U_THRESH
          '0800 0600 00000000', // L_THRESH
        ),
      ),
    );
  });

  it('SET_DEST uses the same layout with its own command; DEL_DEST only the dest identity', () => {
    expect(setDestRequest(vs4, { ...rs, fwdMethod: 'Route' }).cmd).toBe(6);
    expect(body(setDestRequest(vs4, { ...rs, fwdMethod: 'Route' }))).toContain('0800030003000000');
    const d = delDestRequest(vs4, rs);
    expect(d.cmd).toBe(7);
    expect(body(d)).toBe(
      toHex(hex('2400 0180', ...SVC_KEY_V4, '1c00 0280', '0800 0100 0af40102', '0600 0200 1f90 0000', '0600 0b00 0200 0000')),
    );
  });

  it('listings are dumps that do not mutate; GET_DEST names its service', () => {
    expect(listServicesRequest()).toEqual({ cmd: 4, dump: true, mutating: false, attrs: [] });
    const l = listDestsRequest(vs4);
    expect(l).toMatchObject({ cmd: 8, dump: true, mutating: false });
    expect(body(l)).toBe(toHex(hex('2400 0180', ...SVC_KEY_V4)));
  });

  it('SET_CONFIG: first-level u32 timeouts, only those given', () => {
    expect(body(setConfigRequest({ tcp: 900, tcpFin: 120, udp: 300 }))).toBe(
      toHex(hex('0800 0400 84030000', '0800 0500 78000000', '0800 0600 2c010000')),
    );
    expect(body(setConfigRequest({ udp: 5 }))).toBe(toHex(hex('0800 0600 05000000')));
    expect(setConfigRequest({}).cmd).toBe(12);
  });

  it('validates before encoding', () => {
    expect(() => newServiceRequest({ ...vs4, address: 'fd00::1' })).toThrow(/IPv6, service family is IPv4/);
    expect(() => newServiceRequest({ ...vs4, port: 70000 })).toThrow(/invalid port/);
    expect(() => newServiceRequest({ ...vs4, scheduler: 'a'.repeat(16) })).toThrow(/scheduler/);
    expect(() => newServiceRequest({ ...vs4, family: 'IPv6', address: 'fd00::1', netmask: 0xffffffff })).toThrow(/prefix length/);
    expect(() => newDestRequest(vs4, { ...rs, weight: -1 })).toThrow(/weight/);
  });
});

// Replies as the 6.1 kernel sends them (ip_vs_genl_fill_service / _fill_dest): ADDR is the full
// 16-byte union nf_inet_addr, FLAGS carries HASHED, nested stats are present.
const SERVICE_DUMP_MSG = hex(
  '74000000 2000 0200 2a000000 00000000', // len 116, family 32, NLM_F_MULTI, seq 42
  '01 01 0000', // IPVS_CMD_NEW_SERVICE
  '6000 0180',
  '0600 0100 0200 0000', // AF_INET
  '0600 0200 1100 0000', // UDP
  '1400 0300 0a60000a 000000000000000000000000', // 10.96.0.10 in a 16-byte union
  '0600 0400 0035 0000', // port 53
  '0700 0600 7272 0000', // "rr"
  '0c00 0700 03000000 ffffffff', // PERSISTENT | HASHED
  '0800 0800 b4000000', // timeout 180
  '0800 0900 ffffff00', // netmask 255.255.255.0
  '0c00 0a80 0800 0100 05000000', // STATS { CONNS 5 }
);

const DEST_DUMP_MSG = hex(
  '74000000 2000 0200 2b000000 00000000',
  '05 01 0000', // IPVS_CMD_NEW_DEST
  '6000 0280',
  '1400 0100 fd000000000000000000000000010002', // fd00::1:2
  '0600 0200 14e9 0000', // 5353
  '0800 0300 00000000', // Masq
  '0800 0400 03000000', // weight 3
  '0800 0500 00000000',
  '0800 0600 00000000',
  '0800 0700 02000000', // active 2
  '0800 0800 07000000', // inactive 7
  '0800 0900 00000000',
  '0600 0b00 0a00 0000', // AF_INET6
);

const attrsOf = (datagram: Buffer): Buffer => decodeGenlMsg(parseNlMsgs(datagram)[0]!).attrs;

describe.runIf(endianness() === 'LE')('IPVS reply decoding', () => {
  it('decodes a service dump entry, dropping the kernel-internal HASHED flag', () => {
    expect(decodeService(attrsOf(SERVICE_DUMP_MSG))).toEqual({
      family: 'IPv4',
      protocol: 'UDP',
      address: '10.96.0.10',
      port: 53,
      scheduler: 'rr',
      flags: 1,
      timeoutSeconds: 180,
      netmask: 0xffffff00,
    });
  });

  it('decodes a destination dump entry with connection counters', () => {
    expect(decodeDest(attrsOf(DEST_DUMP_MSG), 'IPv6')).toEqual({
      address: 'fd00::1:2',
      port: 5353,
      weight: 3,
      fwdMethod: 'Masq',
      activeConns: 2,
      inactiveConns: 7,
    });
  });

  it('skips firewall-mark services', () => {
    const fw = hex('1c00 0180', '0600 0100 0200 0000', '0800 0500 01000000', '0800 0600 72720000');
    expect(decodeService(fw)).toBeUndefined();
  });

  it('fails loudly on a service without its nested attribute', () => {
    expect(() => decodeService(hex('0800 0400 84030000'))).toThrow(/IPVS_CMD_ATTR_SERVICE/);
  });

  it('decodes GET_CONFIG and GET_INFO replies', () => {
    expect(decodeConfig(hex('0800 0400 84030000', '0800 0500 78000000', '0800 0600 2c010000'))).toEqual({
      tcp: 900,
      tcpFin: 120,
      udp: 300,
    });
    expect(decodeInfo(hex('0800 0100 01020100', '0800 0200 00100000'))).toEqual({ version: '1.2.1', connTableSize: 4096 });
  });
});
