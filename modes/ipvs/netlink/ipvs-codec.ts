// Pure encoding of IPVS generic-netlink requests and decoding of their replies, following
// include/uapi/linux/ip_vs.h and the attribute policies of net/netfilter/ipvs/ip_vs_ctl.c.
//
// Kernel rules this encodes:
// - A service is identified by AF + PROTOCOL + ADDR + PORT (or AF + FWMARK). NEW/SET_SERVICE
//   additionally require SCHED_NAME, FLAGS, TIMEOUT and NETMASK ("full entry").
// - FLAGS is a struct ip_vs_flags { u32 flags; u32 mask; }: the kernel keeps the bits outside
//   `mask`, so sending mask = ~0 replaces the flags entirely.
// - PORT is a u16 attribute holding a __be16; NETMASK a u32 holding a __be32 (for IPv6 the
//   kernel compares that raw value with 1..128, so a prefix length goes in host order).
// - NEW/SET_DEST need ADDR, PORT, FWD_METHOD, WEIGHT, U_THRESH and L_THRESH; DEL_DEST only
//   ADDR and PORT. Destination commands carry the service in IPVS_CMD_ATTR_SERVICE.
// - The kernel always sends ADDR as the full 16-byte union nf_inet_addr; it accepts shorter
//   payloads (nla_memcpy zero-fills), so requests carry 4 bytes for IPv4 and 16 for IPv6.

import type { IPFamily, Protocol } from '../../../proxy/model/types.js';
import { addressToBytes, bytesToAddress, familyOf } from './addr.js';
import {
  attrMap,
  attrBe16,
  attrBe32,
  attrString,
  attrU16,
  attrU32,
  encodeAttr,
  encodeNested,
  getBe16,
  getBe32,
  getString,
  getU16,
  getU32,
} from '../../shared/netlink/attr.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPVS_CMD_ATTR_DEST,
  IPVS_CMD_ATTR_SERVICE,
  IPVS_CMD_ATTR_TIMEOUT_TCP,
  IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
  IPVS_CMD_ATTR_TIMEOUT_UDP,
  IPVS_CMD_DEL_DEST,
  IPVS_CMD_DEL_SERVICE,
  IPVS_CMD_FLUSH,
  IPVS_CMD_GET_CONFIG,
  IPVS_CMD_GET_DEST,
  IPVS_CMD_GET_INFO,
  IPVS_CMD_GET_SERVICE,
  IPVS_CMD_NEW_DEST,
  IPVS_CMD_NEW_SERVICE,
  IPVS_CMD_SET_CONFIG,
  IPVS_CMD_SET_DEST,
  IPVS_CMD_SET_SERVICE,
  IPVS_DEST_ATTR_ACTIVE_CONNS,
  IPVS_DEST_ATTR_ADDR,
  IPVS_DEST_ATTR_ADDR_FAMILY,
  IPVS_DEST_ATTR_FWD_METHOD,
  IPVS_DEST_ATTR_INACT_CONNS,
  IPVS_DEST_ATTR_L_THRESH,
  IPVS_DEST_ATTR_PORT,
  IPVS_DEST_ATTR_U_THRESH,
  IPVS_DEST_ATTR_WEIGHT,
  IPVS_INFO_ATTR_CONN_TAB_SIZE,
  IPVS_INFO_ATTR_VERSION,
  IPVS_SVC_ATTR_ADDR,
  IPVS_SVC_ATTR_AF,
  IPVS_SVC_ATTR_FLAGS,
  IPVS_SVC_ATTR_FWMARK,
  IPVS_SVC_ATTR_NETMASK,
  IPVS_SVC_ATTR_PORT,
  IPVS_SVC_ATTR_PROTOCOL,
  IPVS_SVC_ATTR_SCHED_NAME,
  IPVS_SVC_ATTR_TIMEOUT,
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FWD_MASK,
  IP_VS_CONN_F_LOCALNODE,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_SCHEDNAME_MAXLEN,
  IP_VS_SVC_F_HASHED,
} from './constants.js';
import { writeU32 } from '../../shared/netlink/native-endian.js';
import type {
  FwdMethod,
  IpvsInfo,
  RealServer,
  RealServerKey,
  Timeouts,
  VirtualServer,
  VirtualServerKey,
} from './types.js';

/** One IPVS request before framing: the client adds the family id, sequence and flags. */
export interface IpvsRequest {
  readonly cmd: number;
  /** True for GET_SERVICE/GET_DEST listings, sent with NLM_F_DUMP. */
  readonly dump: boolean;
  /** True for commands that change kernel state (counted by the client). */
  readonly mutating: boolean;
  readonly attrs: readonly Buffer[];
}

const AF: Record<IPFamily, number> = { IPv4: AF_INET, IPv6: AF_INET6 };
const PROTO: Record<Protocol, number> = { TCP: IPPROTO_TCP, UDP: IPPROTO_UDP, SCTP: IPPROTO_SCTP };
const FWD: Record<FwdMethod, number> = {
  Masq: IP_VS_CONN_F_MASQ,
  Local: IP_VS_CONN_F_LOCALNODE,
  Tunnel: IP_VS_CONN_F_TUNNEL,
  Route: IP_VS_CONN_F_DROUTE,
};

function reverse<K extends string>(m: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
}
const AF_NAME = reverse(AF);
const PROTO_NAME = reverse(PROTO);
const FWD_NAME = reverse(FWD);

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`invalid port ${port}`);
}

function checkAddressFamily(address: string, family: IPFamily): void {
  const actual = familyOf(address);
  if (actual !== family) throw new Error(`address ${address} is ${actual}, service family is ${family}`);
}

/** The identifying attributes of a service, nested in IPVS_CMD_ATTR_SERVICE. */
function serviceKeyAttrs(vs: VirtualServerKey): Buffer[] {
  checkAddressFamily(vs.address, vs.family);
  checkPort(vs.port);
  return [
    attrU16(IPVS_SVC_ATTR_AF, AF[vs.family]),
    attrU16(IPVS_SVC_ATTR_PROTOCOL, PROTO[vs.protocol]),
    encodeAttr(IPVS_SVC_ATTR_ADDR, addressToBytes(vs.address)),
    attrBe16(IPVS_SVC_ATTR_PORT, vs.port),
  ];
}

function netmaskAttr(vs: VirtualServer): Buffer {
  if (vs.family === 'IPv6') {
    if (!Number.isInteger(vs.netmask) || vs.netmask < 1 || vs.netmask > 128) {
      throw new RangeError(`IPv6 service netmask must be a prefix length 1..128, got ${vs.netmask}`);
    }
    return attrU32(IPVS_SVC_ATTR_NETMASK, vs.netmask);
  }
  return attrBe32(IPVS_SVC_ATTR_NETMASK, vs.netmask);
}

function serviceFullAttrs(vs: VirtualServer): Buffer[] {
  if (vs.scheduler.length === 0 || Buffer.byteLength(vs.scheduler) >= IP_VS_SCHEDNAME_MAXLEN) {
    throw new Error(`invalid IPVS scheduler name ${JSON.stringify(vs.scheduler)}`);
  }
  const flags = Buffer.alloc(8);
  writeU32(flags, vs.flags & ~IP_VS_SVC_F_HASHED, 0);
  writeU32(flags, 0xffffffff, 4);
  return [
    ...serviceKeyAttrs(vs),
    attrString(IPVS_SVC_ATTR_SCHED_NAME, vs.scheduler),
    encodeAttr(IPVS_SVC_ATTR_FLAGS, flags),
    attrU32(IPVS_SVC_ATTR_TIMEOUT, vs.timeoutSeconds),
    netmaskAttr(vs),
  ];
}

const serviceKey = (vs: VirtualServerKey): Buffer => encodeNested(IPVS_CMD_ATTR_SERVICE, serviceKeyAttrs(vs));

function destKeyAttrs(rs: RealServerKey): Buffer[] {
  checkPort(rs.port);
  return [
    encodeAttr(IPVS_DEST_ATTR_ADDR, addressToBytes(rs.address)),
    attrBe16(IPVS_DEST_ATTR_PORT, rs.port),
    // Lets the kernel reject (or, for tunnels, allow) a destination of the other family
    // instead of misreading 4 address bytes as the start of an IPv6 address.
    attrU16(IPVS_DEST_ATTR_ADDR_FAMILY, AF[familyOf(rs.address)]),
  ];
}

function destFullAttrs(rs: RealServer): Buffer[] {
  if (!Number.isInteger(rs.weight) || rs.weight < 0 || rs.weight > 0x7fffffff) {
    throw new RangeError(`invalid weight ${rs.weight}`);
  }
  return [
    ...destKeyAttrs(rs),
    attrU32(IPVS_DEST_ATTR_FWD_METHOD, FWD[rs.fwdMethod]),
    attrU32(IPVS_DEST_ATTR_WEIGHT, rs.weight),
    attrU32(IPVS_DEST_ATTR_U_THRESH, 0),
    attrU32(IPVS_DEST_ATTR_L_THRESH, 0),
  ];
}

const mutate = (cmd: number, attrs: Buffer[]): IpvsRequest => ({ cmd, dump: false, mutating: true, attrs });

export const newServiceRequest = (vs: VirtualServer): IpvsRequest =>
  mutate(IPVS_CMD_NEW_SERVICE, [encodeNested(IPVS_CMD_ATTR_SERVICE, serviceFullAttrs(vs))]);

export const setServiceRequest = (vs: VirtualServer): IpvsRequest =>
  mutate(IPVS_CMD_SET_SERVICE, [encodeNested(IPVS_CMD_ATTR_SERVICE, serviceFullAttrs(vs))]);

export const delServiceRequest = (vs: VirtualServerKey): IpvsRequest => mutate(IPVS_CMD_DEL_SERVICE, [serviceKey(vs)]);

export const newDestRequest = (vs: VirtualServerKey, rs: RealServer): IpvsRequest =>
  mutate(IPVS_CMD_NEW_DEST, [serviceKey(vs), encodeNested(IPVS_CMD_ATTR_DEST, destFullAttrs(rs))]);

export const setDestRequest = (vs: VirtualServerKey, rs: RealServer): IpvsRequest =>
  mutate(IPVS_CMD_SET_DEST, [serviceKey(vs), encodeNested(IPVS_CMD_ATTR_DEST, destFullAttrs(rs))]);

export const delDestRequest = (vs: VirtualServerKey, rs: RealServerKey): IpvsRequest =>
  mutate(IPVS_CMD_DEL_DEST, [serviceKey(vs), encodeNested(IPVS_CMD_ATTR_DEST, destKeyAttrs(rs))]);

export const flushRequest = (): IpvsRequest => mutate(IPVS_CMD_FLUSH, []);

/** Only the timeouts given (and > 0) are changed; the kernel treats 0 as "leave as is". */
export function setConfigRequest(t: Partial<Timeouts>): IpvsRequest {
  const attrs: Buffer[] = [];
  if (t.tcp !== undefined) attrs.push(attrU32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp));
  if (t.tcpFin !== undefined) attrs.push(attrU32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin));
  if (t.udp !== undefined) attrs.push(attrU32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp));
  return mutate(IPVS_CMD_SET_CONFIG, attrs);
}

export const listServicesRequest = (): IpvsRequest => ({
  cmd: IPVS_CMD_GET_SERVICE,
  dump: true,
  mutating: false,
  attrs: [],
});

export const listDestsRequest = (vs: VirtualServerKey): IpvsRequest => ({
  cmd: IPVS_CMD_GET_DEST,
  dump: true,
  mutating: false,
  attrs: [serviceKey(vs)],
});

export const getConfigRequest = (): IpvsRequest => ({ cmd: IPVS_CMD_GET_CONFIG, dump: false, mutating: false, attrs: [] });
export const getInfoRequest = (): IpvsRequest => ({ cmd: IPVS_CMD_GET_INFO, dump: false, mutating: false, attrs: [] });

// --- replies ---------------------------------------------------------------------------------

function required(m: Map<number, Buffer>, type: number, what: string): Buffer {
  const v = m.get(type);
  if (!v) throw new Error(`IPVS reply is missing ${what}`);
  return v;
}

/**
 * One service from a GET_SERVICE dump message's attributes (after the genl header).
 * Returns undefined for firewall-mark services and for families/protocols this model lacks.
 */
export function decodeService(genlAttrs: Buffer): VirtualServer | undefined {
  const svc = attrMap(required(attrMap(genlAttrs), IPVS_CMD_ATTR_SERVICE, 'IPVS_CMD_ATTR_SERVICE'));
  const fwmark = svc.get(IPVS_SVC_ATTR_FWMARK);
  if (fwmark && getU32(fwmark) !== 0) return undefined;
  const family = AF_NAME.get(getU16(required(svc, IPVS_SVC_ATTR_AF, 'IPVS_SVC_ATTR_AF')));
  const protocol = PROTO_NAME.get(getU16(required(svc, IPVS_SVC_ATTR_PROTOCOL, 'IPVS_SVC_ATTR_PROTOCOL')));
  if (!family || !protocol) return undefined;
  const flagsAttr = svc.get(IPVS_SVC_ATTR_FLAGS);
  const netmask = svc.get(IPVS_SVC_ATTR_NETMASK);
  const timeout = svc.get(IPVS_SVC_ATTR_TIMEOUT);
  const sched = svc.get(IPVS_SVC_ATTR_SCHED_NAME);
  return {
    family,
    protocol,
    address: bytesToAddress(required(svc, IPVS_SVC_ATTR_ADDR, 'IPVS_SVC_ATTR_ADDR'), family),
    port: getBe16(required(svc, IPVS_SVC_ATTR_PORT, 'IPVS_SVC_ATTR_PORT')),
    scheduler: sched ? getString(sched) : '',
    flags: flagsAttr ? getU32(flagsAttr) & ~IP_VS_SVC_F_HASHED : 0,
    timeoutSeconds: timeout ? getU32(timeout) : 0,
    netmask: netmask ? (family === 'IPv6' ? getU32(netmask) : getBe32(netmask)) : family === 'IPv6' ? 128 : 0xffffffff,
  };
}

/** One destination from a GET_DEST dump message's attributes. */
export function decodeDest(genlAttrs: Buffer, serviceFamily: IPFamily): RealServer | undefined {
  const d = attrMap(required(attrMap(genlAttrs), IPVS_CMD_ATTR_DEST, 'IPVS_CMD_ATTR_DEST'));
  // Kernels before ADDR_FAMILY existed only had same-family destinations.
  const afAttr = d.get(IPVS_DEST_ATTR_ADDR_FAMILY);
  const family = afAttr ? AF_NAME.get(getU16(afAttr)) : serviceFamily;
  const fwd = FWD_NAME.get(getU32(required(d, IPVS_DEST_ATTR_FWD_METHOD, 'IPVS_DEST_ATTR_FWD_METHOD')) & IP_VS_CONN_F_FWD_MASK);
  if (!family || !fwd) return undefined;
  const active = d.get(IPVS_DEST_ATTR_ACTIVE_CONNS);
  const inactive = d.get(IPVS_DEST_ATTR_INACT_CONNS);
  return {
    address: bytesToAddress(required(d, IPVS_DEST_ATTR_ADDR, 'IPVS_DEST_ATTR_ADDR'), family),
    port: getBe16(required(d, IPVS_DEST_ATTR_PORT, 'IPVS_DEST_ATTR_PORT')),
    weight: getU32(required(d, IPVS_DEST_ATTR_WEIGHT, 'IPVS_DEST_ATTR_WEIGHT')),
    fwdMethod: fwd,
    ...(active ? { activeConns: getU32(active) } : {}),
    ...(inactive ? { inactiveConns: getU32(inactive) } : {}),
  };
}

export function decodeConfig(genlAttrs: Buffer): Timeouts {
  const m = attrMap(genlAttrs);
  const get = (t: number): number => {
    const v = m.get(t);
    return v ? getU32(v) : 0;
  };
  return {
    tcp: get(IPVS_CMD_ATTR_TIMEOUT_TCP),
    tcpFin: get(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN),
    udp: get(IPVS_CMD_ATTR_TIMEOUT_UDP),
  };
}

export function decodeInfo(genlAttrs: Buffer): IpvsInfo {
  const m = attrMap(genlAttrs);
  const v = getU32(required(m, IPVS_INFO_ATTR_VERSION, 'IPVS_INFO_ATTR_VERSION'));
  const size = m.get(IPVS_INFO_ATTR_CONN_TAB_SIZE);
  return {
    version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`,
    connTableSize: size ? getU32(size) : 0,
  };
}
