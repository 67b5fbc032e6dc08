// Netlink message framing (struct nlmsghdr, include/uapi/linux/netlink.h). One datagram from
// the kernel can carry several messages back to back, each 4-byte aligned; a dump is a series
// of NLM_F_MULTI messages ended by NLMSG_DONE, and an acknowledged request ends with an
// NLMSG_ERROR whose error is 0 (success) or a negative errno.

import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from './constants.js';
import { attrMap, getString } from './attr.js';
import { align4, readI32, readU16, readU32, writeU16, writeU32 } from './native-endian.js';

export interface NlMsgHeader {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** nlmsg_pid: the sender's port id (0 for the kernel). */
  readonly pid: number;
}

export interface NlMsg extends NlMsgHeader {
  /** The bytes after the 16-byte header, up to nlmsg_len (padding excluded). */
  readonly payload: Buffer;
}

export function encodeNlMsg(h: NlMsgHeader, payload: Buffer): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  writeU32(out, len, 0);
  writeU16(out, h.type, 4);
  writeU16(out, h.flags, 6);
  writeU32(out, h.seq, 8);
  writeU32(out, h.pid, 12);
  payload.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Split one received datagram into its messages; a bad length throws rather than guessing. */
export function parseNlMsgs(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new Error(`malformed netlink message at offset ${off}: length ${len}, datagram ${buf.length}`);
    }
    out.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** struct nlmsgerr: int error, then the offending request's header (and maybe more). */
export interface NlError {
  /** 0 for an ACK, otherwise a negative errno. */
  readonly error: number;
  /** The sequence number of the request this answers (from the echoed header). */
  readonly requestSeq: number;
  /** NLMSGERR_ATTR_MSG from extended ACK, when the kernel supplied one. */
  readonly extMessage?: string;
}

export function decodeNlError(msg: NlMsg): NlError {
  if (msg.type !== NLMSG_ERROR) throw new Error(`not an NLMSG_ERROR (type ${msg.type})`);
  if (msg.payload.length < 4) throw new Error('truncated NLMSG_ERROR');
  const error = readI32(msg.payload, 0);
  const echoed = msg.payload.subarray(4);
  const requestSeq = echoed.length >= NLMSG_HDRLEN ? readU32(echoed, 8) : msg.seq;
  let extMessage: string | undefined;
  if (msg.flags & NLM_F_ACK_TLVS && echoed.length >= NLMSG_HDRLEN) {
    // Without NLM_F_CAPPED the whole original request is echoed before the TLVs.
    const echoedLen = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : readU32(echoed, 0);
    const tlvs = echoed.subarray(Math.min(align4(echoedLen), echoed.length));
    const m = attrMap(tlvs).get(NLMSGERR_ATTR_MSG);
    if (m) extMessage = getString(m);
  }
  return extMessage === undefined ? { error, requestSeq } : { error, requestSeq, extMessage };
}

/** NLMSG_DONE carries an int: 0, or a negative errno when the dump itself failed. */
export function decodeDoneError(msg: NlMsg): number {
  if (msg.type !== NLMSG_DONE) throw new Error(`not an NLMSG_DONE (type ${msg.type})`);
  return msg.payload.length >= 4 ? readI32(msg.payload, 0) : 0;
}
