// An allocation-light netlink message writer: messages and attributes are written straight into
// one growing Buffer (a batch of thousands of messages costs a handful of allocations), nests
// are closed by patching their length in place, and the finished bytes are one contiguous
// datagram. Integers are written in host order (netlink headers, nfgenmsg aside) or big endian
// (what nf_tables' NLA_BE32/NLA_BE64 attributes want).

import { NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN } from './constants.js';
import { align4 } from './native-endian.js';
import { endianness } from 'node:os';

const LE = endianness() === 'LE';

export class NlWriter {
  private buf: Buffer;
  private off = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.off;
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  // Byte stores instead of Buffer.write*: no range checks on the hot path (callers ensure()).
  private u16h(v: number, at: number): void {
    const b = this.buf;
    if (LE) {
      b[at] = v & 0xff;
      b[at + 1] = (v >>> 8) & 0xff;
    } else {
      b[at] = (v >>> 8) & 0xff;
      b[at + 1] = v & 0xff;
    }
  }

  private u32h(v: number, at: number): void {
    const b = this.buf;
    if (LE) {
      b[at] = v & 0xff;
      b[at + 1] = (v >>> 8) & 0xff;
      b[at + 2] = (v >>> 16) & 0xff;
      b[at + 3] = (v >>> 24) & 0xff;
    } else {
      this.u32be(v, at);
    }
  }

  private u32be(v: number, at: number): void {
    const b = this.buf;
    b[at] = (v >>> 24) & 0xff;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }

  private pad(): void {
    const end = align4(this.off);
    if (end === this.off) return;
    this.ensure(end - this.off);
    while (this.off < end) this.buf[this.off++] = 0;
  }

  /** Start a message (struct nlmsghdr); returns its offset for endMsg. */
  beginMsg(type: number, flags: number, seq: number, pid = 0): number {
    this.pad();
    const at = this.off;
    this.ensure(NLMSG_HDRLEN);
    this.u32h(0, at);
    this.u16h(type, at + 4);
    this.u16h(flags, at + 6);
    this.u32h(seq, at + 8);
    this.u32h(pid, at + 12);
    this.off += NLMSG_HDRLEN;
    return at;
  }

  endMsg(at: number): void {
    this.u32h(this.off - at, at);
    this.pad();
  }

  /** struct nfgenmsg: u8 family, u8 version (0), __be16 res_id. */
  nfgenmsg(family: number, resId: number): void {
    this.ensure(4);
    this.buf[this.off] = family;
    this.buf[this.off + 1] = 0;
    this.buf.writeUInt16BE(resId, this.off + 2);
    this.off += 4;
  }

  private attrHeader(type: number, payloadLen: number): void {
    const len = NLA_HDRLEN + payloadLen;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${type & 0x3fff} too long (${len} bytes)`);
    this.ensure(align4(len) + 3);
    this.u16h(len, this.off);
    this.u16h(type, this.off + 2);
    this.off += NLA_HDRLEN;
  }

  bytes(type: number, data: Uint8Array): void {
    this.pad();
    this.attrHeader(type, data.length);
    this.buf.set(data, this.off);
    this.off += data.length;
    this.pad();
  }

  u8(type: number, v: number): void {
    this.pad();
    this.attrHeader(type, 1);
    this.buf[this.off++] = v;
    this.pad();
  }

  be32(type: number, v: number): void {
    this.pad();
    this.attrHeader(type, 4);
    this.u32be(v >>> 0, this.off);
    this.off += 4;
  }

  be64(type: number, v: bigint): void {
    this.pad();
    this.attrHeader(type, 8);
    this.buf.writeBigUInt64BE(v, this.off);
    this.off += 8;
  }

  /** NLA_NUL_STRING / NLA_STRING with its terminating NUL, as the nf_tables tools send names. */
  string(type: number, s: string): void {
    this.pad();
    // Names are short ASCII: copy char codes; anything else goes through the UTF-8 encoder.
    let ascii = s.length <= 256;
    for (let i = 0; ascii && i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
    const n = ascii ? s.length : Buffer.byteLength(s, 'utf8');
    this.attrHeader(type, n + 1);
    if (ascii) {
      const b = this.buf;
      for (let i = 0; i < n; i++) b[this.off + i] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.off, 'utf8');
    }
    this.off += n;
    this.buf[this.off++] = 0;
    this.pad();
  }

  /**
   * An attribute holding one TLV (u8 type, u8 length, value) whose value is `s` in UTF-8 with a
   * terminating NUL: libnftnl's userdata comment, written in place (one per rule and element of
   * a large batch; building it as separate arrays first was a visible share of encoding).
   */
  tlvString(type: number, tlvType: number, s: string): void {
    this.pad();
    let ascii = s.length <= 256;
    for (let i = 0; ascii && i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
    const n = (ascii ? s.length : Buffer.byteLength(s, 'utf8')) + 1;
    if (n > 255) throw new RangeError(`comment too long (${n - 1} bytes, at most 254)`);
    this.attrHeader(type, 2 + n);
    const b = this.buf;
    b[this.off] = tlvType;
    b[this.off + 1] = n;
    this.off += 2;
    if (ascii) for (let i = 0; i < n - 1; i++) b[this.off + i] = s.charCodeAt(i);
    else b.write(s, this.off, 'utf8');
    this.off += n - 1;
    b[this.off++] = 0;
    this.pad();
  }

  /** Start a nested attribute (NLA_F_NESTED set, as strict validation wants); returns its offset. */
  beginNest(type: number): number {
    this.pad();
    const at = this.off;
    this.attrHeader(type | NLA_F_NESTED, 0);
    return at;
  }

  endNest(at: number): void {
    const len = this.off - at;
    if (len > 0xffff) throw new RangeError(`netlink nested attribute too long (${len} bytes)`);
    this.u16h(len, at);
  }

  /** Offset of the next byte: lets callers measure what they wrote since a point. */
  get position(): number {
    return this.off;
  }

  /** Drop everything written after `at` (used to undo a partly written piece). */
  truncate(at: number): void {
    this.off = at;
  }

  /** The written bytes (a view: the writer must not be written to afterwards). */
  finish(): Buffer {
    this.pad();
    return this.buf.subarray(0, this.off);
  }
}
