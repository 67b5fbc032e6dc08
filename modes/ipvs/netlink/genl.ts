// Generic netlink (include/uapi/linux/genetlink.h): after the nlmsghdr comes a 4-byte
// genlmsghdr { u8 cmd; u8 version; u16 reserved } and then the family's attributes. The
// nlmsg_type of a genl message is the family id, which is assigned dynamically at module load
// and must be looked up by name through the controller family "nlctrl" (fixed id GENL_ID_CTRL).

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_CMD_GETFAMILY,
  CTRL_VERSION,
  GENL_HDRLEN,
  GENL_ID_CTRL,
} from './constants.js';
import { attrMap, attrString, getU16 } from '../../shared/netlink/attr.js';
import { NLM_F_ACK, NLM_F_REQUEST } from '../../shared/netlink/constants.js';
import { encodeNlMsg, type NlMsg } from '../../shared/netlink/nlmsg.js';

export interface GenlRequest {
  readonly family: number;
  readonly cmd: number;
  readonly version: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid?: number;
  readonly attrs: readonly Buffer[];
}

export function encodeGenlMsg(r: GenlRequest): Buffer {
  const genlhdr = Buffer.alloc(GENL_HDRLEN);
  genlhdr[0] = r.cmd;
  genlhdr[1] = r.version;
  return encodeNlMsg(
    { type: r.family, flags: r.flags, seq: r.seq, pid: r.pid ?? 0 },
    Buffer.concat([genlhdr, ...r.attrs]),
  );
}

export interface GenlMsg {
  readonly cmd: number;
  readonly version: number;
  /** The attribute bytes after the genl header. */
  readonly attrs: Buffer;
}

export function decodeGenlMsg(msg: NlMsg): GenlMsg {
  if (msg.payload.length < GENL_HDRLEN) throw new Error(`genl message too short (${msg.payload.length})`);
  return { cmd: msg.payload[0] ?? 0, version: msg.payload[1] ?? 0, attrs: msg.payload.subarray(GENL_HDRLEN) };
}

/** CTRL_CMD_GETFAMILY for one family by name (a doit request, answered by CTRL_CMD_NEWFAMILY). */
export function encodeGetFamily(name: string, seq: number): Buffer {
  return encodeGenlMsg({
    family: GENL_ID_CTRL,
    cmd: CTRL_CMD_GETFAMILY,
    version: CTRL_VERSION,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq,
    attrs: [attrString(CTRL_ATTR_FAMILY_NAME, name)],
  });
}

/** The family id from a CTRL_CMD_NEWFAMILY reply. */
export function decodeFamilyId(msg: NlMsg): number {
  const id = attrMap(decodeGenlMsg(msg).attrs).get(CTRL_ATTR_FAMILY_ID);
  if (!id) throw new Error('nlctrl reply without CTRL_ATTR_FAMILY_ID');
  return getU16(id);
}
