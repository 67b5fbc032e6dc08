// libnftnl "userdata": an opaque blob the kernel stores with tables, chains, rules, sets and
// elements, which nft fills with TLVs (u8 type, u8 length, value) to remember what the kernel
// does not: comments, and for sets the byte order of keys and data (without it `nft list`
// prints keys as raw hex). We write what nft writes, and read back only the comments (the rest
// follows from the set's types, so it is not part of the model).

import * as C from './constants.js';
import type { NftSet } from './types.js';

type Tlv = readonly [type: number, value: Uint8Array];

function encodeTlvs(tlvs: readonly Tlv[]): Uint8Array {
  let len = 0;
  for (const [, v] of tlvs) len += 2 + v.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const [t, v] of tlvs) {
    if (v.length > 255) throw new RangeError(`userdata value of type ${t} too long (${v.length} bytes)`);
    out[off] = t;
    out[off + 1] = v.length;
    out.set(v, off + 2);
    off += 2 + v.length;
  }
  return out;
}

/** Host order: nft writes these with nftnl_udata_put_u32 (a plain uint32_t copy). */
function u32host(v: number): Uint8Array {
  return new Uint8Array(new Uint32Array([v]).buffer);
}
const U32_HOST = [u32host(0), u32host(1), u32host(2)] as const;

function strz(s: string): Uint8Array {
  const b = Buffer.from(`${s}\0`, 'utf8');
  if (b.length > 255) throw new RangeError(`comment too long (${b.length - 1} bytes, at most 254)`);
  return new Uint8Array(b);
}

/** The comment TLV's type for tables, chains, rules and elements. */
export const NFTNL_UDATA_COMMENT = 0;

/**
 * Comment TLV as a separate array (the encoder writes it in place: NlWriter.tlvString; this
 * form stays as the reference its test compares with).
 */
export function commentUdata(comment: string): Uint8Array {
  return encodeTlvs([[NFTNL_UDATA_COMMENT, strz(comment)]]);
}

/** First TLV of `type` as a string, or undefined. */
export function readUdataString(blob: Uint8Array, type: number): string | undefined {
  let off = 0;
  while (off + 2 <= blob.length) {
    const t = blob[off] ?? 0;
    const len = blob[off + 1] ?? 0;
    if (off + 2 + len > blob.length) return undefined;
    if (t === type) {
      const v = Buffer.from(blob.buffer, blob.byteOffset + off + 2, len);
      const nul = v.indexOf(0);
      return v.subarray(0, nul < 0 ? v.length : nul).toString('utf8');
    }
    off += 2 + len;
  }
  return undefined;
}

// Byte order per nft datatype (nft's datatype.c): addresses, protocols and ports are network
// order; marks, interface names/indexes and plain integers are host order.
const BIG_ENDIAN_TYPES = new Set<number>([6, 7, 8, 9, 10, 12, 13, 14, 15, 29, 36, 37]);
const isConcat = (type: number): boolean => type >= 1 << C.NFT_TYPE_BITS;

function byteorderOf(type: number | 'verdict'): 0 | 1 | 2 {
  if (type === 'verdict' || isConcat(type)) return C.BYTEORDER_INVALID;
  return BIG_ENDIAN_TYPES.has(type) ? C.BYTEORDER_BIG_ENDIAN : C.BYTEORDER_HOST_ENDIAN;
}

/** nft records a concatenated key as a typeof "concat" expression with no further description. */
const CONCAT_TYPEOF = encodeTlvs([
  [C.NFTNL_UDATA_SET_TYPEOF_EXPR, u32host(C.NFT_EXPR_CONCAT)],
  [C.NFTNL_UDATA_SET_TYPEOF_DATA, new Uint8Array(0)],
]);

/**
 * The typeof userdata nft writes for `typeof numgen random mod M : ip daddr . tcp dport` (captured
 * from nft 1.0.6: numgen with mode random, modulus, offset 0; a concat of two payload fields named
 * by nft's protocol description and field ids). The kernel only knows the key as a 32-bit integer,
 * and nft cannot name a plain integer type (it lists such a key as "type 0"), so the endpoint maps
 * say where their key and data come from. Only `nft list` reads it.
 */
const NUMGEN_MODULUS_LABEL = 65536;
const PROTO_DESC = { tcp: 8, udp: 6, sctp: 10 } as const;
const ADDR_DESC = { ip: [12, 12], ip6: [13, 9], inet: [12, 12] } as const;
function payloadTypeof(desc: number, field: number): Uint8Array {
  return encodeTlvs([
    [C.NFTNL_UDATA_SET_TYPEOF_EXPR, u32host(C.NFT_EXPR_PAYLOAD)],
    [C.NFTNL_UDATA_SET_TYPEOF_DATA, encodeTlvs([[0, u32host(desc)], [1, u32host(field)]])],
  ]);
}
function endpointMapTypeof(s: NftSet, proto: keyof typeof PROTO_DESC): Tlv[] {
  const [addrDesc, addrField] = ADDR_DESC[s.family];
  const key = encodeTlvs([
    [C.NFTNL_UDATA_SET_TYPEOF_EXPR, u32host(C.NFT_EXPR_NUMGEN)],
    [C.NFTNL_UDATA_SET_TYPEOF_DATA, encodeTlvs([[0, u32host(1)], [1, u32host(NUMGEN_MODULUS_LABEL)], [2, u32host(0)]])],
  ]);
  const data = encodeTlvs([
    [C.NFTNL_UDATA_SET_TYPEOF_EXPR, u32host(C.NFT_EXPR_CONCAT)],
    [C.NFTNL_UDATA_SET_TYPEOF_DATA, encodeTlvs([[0, payloadTypeof(addrDesc, addrField)], [1, payloadTypeof(PROTO_DESC[proto], 2)]])],
  ]);
  return [
    [C.NFTNL_UDATA_SET_KEY_TYPEOF, key],
    [C.NFTNL_UDATA_SET_DATA_TYPEOF, data],
  ];
}

/**
 * Key and data typeof TLVs nft 1.0.6 writes for the shared endpoint maps (captured with strace
 * from `nft -f` declaring `typeof ip daddr . meta l4proto . th dport . numgen random mod 65536 :
 * ip daddr . th dport`, its ip6 form and the NodePort forms without the address). The kernel
 * knows the key as four 32-bit fields; without this nft could not name the integer field.
 */
const FLAT_TYPEOF: Record<'ip' | 'ip6', Record<'ip' | 'port', readonly [string, string]>> = {
  ip: {
    ip: [
      '00040d00000001580014000407000000010c00040c00000001040c000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010400000100020400000000',
      '00040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000',
    ],
    port: [
      '00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010400000100020400000000',
      '00040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000',
    ],
  },
  ip6: {
    ip: [
      '00040d00000001580014000407000000010c00040d000000010409000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010400000100020400000000',
      '00040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000',
    ],
    port: [
      '00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010400000100020400000000',
      '00040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000',
    ],
  },
};

function flatEndpointsTypeof(s: NftSet, kind: 'ip' | 'port'): Tlv[] {
  const [key, data] = FLAT_TYPEOF[s.family === 'ip6' ? 'ip6' : 'ip'][kind];
  return [
    [C.NFTNL_UDATA_SET_KEY_TYPEOF, new Uint8Array(Buffer.from(key, 'hex'))],
    [C.NFTNL_UDATA_SET_DATA_TYPEOF, new Uint8Array(Buffer.from(data, 'hex'))],
  ];
}

/** The set userdata nft 1.0.6 writes for a set declared with `type ...` (mnl_nft_set_add). */
export function setUdata(s: NftSet): Uint8Array {
  const tlvs: Tlv[] = [[C.NFTNL_UDATA_SET_KEYBYTEORDER, U32_HOST[byteorderOf(s.keyType)]]];
  if (s.data) tlvs.push([C.NFTNL_UDATA_SET_DATABYTEORDER, U32_HOST[byteorderOf(s.data.type)]]);
  if (s.endpointMapOf) tlvs.push(...endpointMapTypeof(s, s.endpointMapOf));
  else if (s.flatEndpointsOf) tlvs.push(...flatEndpointsTypeof(s, s.flatEndpointsOf));
  else if (isConcat(s.keyType)) tlvs.push([C.NFTNL_UDATA_SET_KEY_TYPEOF, CONCAT_TYPEOF]);
  if (s.data) {
    if (!s.endpointMapOf && !s.flatEndpointsOf && s.data.type !== 'verdict' && isConcat(s.data.type)) tlvs.push([C.NFTNL_UDATA_SET_DATA_TYPEOF, CONCAT_TYPEOF]);
    tlvs.push([C.NFTNL_UDATA_SET_DATA_INTERVAL, U32_HOST[0]]);
  }
  if (s.comment !== undefined) tlvs.push([C.NFTNL_UDATA_SET_COMMENT, strz(s.comment)]);
  return encodeTlvs(tlvs);
}
