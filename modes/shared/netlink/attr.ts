// Netlink attributes (struct nlattr, include/uapi/linux/netlink.h): a TLV with a u16 length
// that counts the 4-byte header plus the payload but NOT the trailing padding, a u16 type whose
// top two bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER), and a payload padded with zeros
// to 4 bytes so the next attribute starts aligned. A nested attribute's payload is itself a
// sequence of attributes.

import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';
import { align4, readU16, readU32, writeU16, writeU32 } from './native-endian.js';

/** One encoded attribute, padding included, ready to be concatenated with its siblings. */
export function encodeAttr(type: number, payload: Buffer): Buffer {
  const len = NLA_HDRLEN + payload.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${len} bytes)`);
  const out = Buffer.alloc(align4(len));
  writeU16(out, len, 0);
  writeU16(out, type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

/** A nested attribute. NLA_F_NESTED is set as the kernel's strict validation expects. */
export function encodeNested(type: number, children: readonly Buffer[]): Buffer {
  return encodeAttr(type | NLA_F_NESTED, Buffer.concat(children));
}

export function attrU16(type: number, value: number): Buffer {
  const b = Buffer.alloc(2);
  writeU16(b, value, 0);
  return encodeAttr(type, b);
}

export function attrU32(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  writeU32(b, value, 0);
  return encodeAttr(type, b);
}

/** A u16 attribute holding a __be16 (ports): network byte order inside a u16 slot. */
export function attrBe16(type: number, value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return encodeAttr(type, b);
}

/** A u32 attribute holding a __be32 (IPv4 netmasks). */
export function attrBe32(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return encodeAttr(type, b);
}

/** NLA_NUL_STRING: the terminating NUL is part of the payload. */
export function attrString(type: number, value: string): Buffer {
  return encodeAttr(type, Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]));
}

export interface NlAttr {
  /** Attribute number with the flag bits masked off. */
  readonly type: number;
  readonly nested: boolean;
  readonly payload: Buffer;
}

/**
 * Split a run of attributes. Malformed input (a length shorter than the header or running
 * past the buffer) throws: a truncated kernel reply must not be half-read as valid state.
 */
export function parseAttrs(buf: Buffer): NlAttr[] {
  const out: NlAttr[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = readU16(buf, off);
    const rawType = readU16(buf, off + 2);
    if (len < NLA_HDRLEN || off + len > buf.length) {
      throw new Error(`malformed netlink attribute at offset ${off}: length ${len}, buffer ${buf.length}`);
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      payload: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes by type; on duplicates the last one wins, as in the kernel's nla_parse. */
export function attrMap(buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of parseAttrs(buf)) m.set(a.type, a.payload);
  return m;
}

function need(p: Buffer, n: number, what: string): Buffer {
  if (p.length < n) throw new Error(`netlink ${what} attribute too short: ${p.length} < ${n}`);
  return p;
}

export const getU16 = (p: Buffer): number => readU16(need(p, 2, 'u16'), 0);
export const getU32 = (p: Buffer): number => readU32(need(p, 4, 'u32'), 0);
export const getBe16 = (p: Buffer): number => need(p, 2, 'be16').readUInt16BE(0);
export const getBe32 = (p: Buffer): number => need(p, 4, 'be32').readUInt32BE(0);

/** A NUL-terminated (or NLA_STRING, unterminated) string payload. */
export function getString(p: Buffer): string {
  const nul = p.indexOf(0);
  return p.subarray(0, nul < 0 ? p.length : nul).toString('utf8');
}

/** Read-only attributes by type (what the decoders need from a Map). */
export interface AttrLookup {
  get(type: number): Buffer | undefined;
  has(type: number): boolean;
}

class AttrIndex implements AttrLookup {
  constructor(private readonly byType: (Buffer | undefined)[]) {}
  get(type: number): Buffer | undefined {
    return this.byType[type];
  }
  has(type: number): boolean {
    return this.byType[type] !== undefined;
  }
}

/**
 * Like attrMap, for hot decode paths (dumps of thousands of rules): one pass, no per-attribute
 * objects, a small array indexed by type. Same rules: malformed input throws, last one wins.
 */
export function attrIndex(buf: Buffer): AttrLookup {
  const byType: (Buffer | undefined)[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = readU16(buf, off);
    const type = readU16(buf, off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > buf.length) {
      throw new Error(`malformed netlink attribute at offset ${off}: length ${len}, buffer ${buf.length}`);
    }
    if (type < 64) byType[type] = buf.subarray(off + NLA_HDRLEN, off + len);
    off += align4(len);
  }
  return new AttrIndex(byType);
}
