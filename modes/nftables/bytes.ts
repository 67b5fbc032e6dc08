// Byte encodings of the values nf_tables compares: addresses and ports in network order, meta/ct
// integers and numgen indexes in host order, concatenated keys with every field padded to 4 bytes
// (the kernel stores each field in its own 32-bit register).

import { isIP } from 'node:net';
import { endianness } from 'node:os';
import { canonicalIPv4Value } from '../../proxy/model/ipv4-scan.js';
import type { Protocol } from '../../proxy/model/types.js';

const LITTLE = endianness() === 'LE';

/**
 * Byte strings of rendered keys, data and rule operands are carved out of shared 2 KiB slabs: a
 * Uint8Array with its own buffer costs ~220 bytes of heap for 4 bytes of data, a view into a slab
 * ~110, and every service port keeps dozens of them for the life of its record. (Each value is
 * written once, when made, and never changed afterwards; a slab lives while any view into it
 * does, which costs at most one slab per retained value.)
 */
const SLAB = 2048;
let slab = new Uint8Array(SLAB);
let slabOff = 0;

export function allocBytes(n: number): Uint8Array {
  if (n > SLAB / 4) return new Uint8Array(n);
  if (slabOff + n > SLAB) {
    slab = new Uint8Array(SLAB);
    slabOff = 0;
  }
  const out = slab.subarray(slabOff, slabOff + n);
  // Keep every view 4-byte aligned, as the kernel's fields are.
  slabOff += (n + 3) & ~3;
  return out;
}

function bytesOf(...v: number[]): Uint8Array {
  const out = allocBytes(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]!;
  return out;
}

export const IPPROTO: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** An IPv4 or IPv6 address in network order (4 or 16 bytes). Throws on a malformed address. */
export function ipBytes(ip: string): Uint8Array {
  const v4 = ipv4Fast(ip);
  if (v4) return v4;
  const v = isIP(ip);
  if (v === 4) return bytesOf(...ip.split('.').map(Number));
  if (v !== 6) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  const out = allocBytes(16);
  let text = ip;
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const b = ipBytes(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

/**
 * Dotted-quad IPv4 without node:net's isIP (a regular expression that was the largest single cost
 * of rendering a service port): four decimal octets 0-255, no leading zeros; else undefined and
 * the careful path decides.
 */
function ipv4Fast(ip: string): Uint8Array | undefined {
  return readOctets(ip) ? bytesOf(octets[0]!, octets[1]!, octets[2]!, octets[3]!) : undefined;
}

/** ipv4Fast's parse into `octets`; false when the careful path must decide. */
function readOctets(ip: string): boolean {
  const v = canonicalIPv4Value(ip);
  if (v < 0) return false;
  octets[0] = v >>> 24;
  octets[1] = (v >>> 16) & 0xff;
  octets[2] = (v >>> 8) & 0xff;
  octets[3] = v & 0xff;
  return true;
}

/**
 * concat(ipBytes(ip), portBytes(port)) (an endpoint map element's data) written into one view:
 * the two field views and the argument list were young garbage for every endpoint element.
 */
export function ipPortBytes(ip: string, port: number): Uint8Array {
  if (!readOctets(ip)) return concat(ipBytes(ip), portBytes(port));
  const out = allocBytes(8);
  out[0] = octets[0]!;
  out[1] = octets[1]!;
  out[2] = octets[2]!;
  out[3] = octets[3]!;
  out[4] = port >> 8;
  out[5] = port & 0xff;
  return out;
}

const octets = [0, 0, 0, 0];

/**
 * concat(ipBytes(ip), ipBytes(ip)) (a hairpin element's key: the endpoint as source and
 * destination) as one view, without the two field views.
 */
export function ipPairBytes(ip: string): Uint8Array {
  if (!readOctets(ip)) {
    const b = ipBytes(ip);
    return concat(b, b);
  }
  const out = allocBytes(8);
  for (let i = 0; i < 4; i++) out[i] = out[i + 4] = octets[i]!;
  return out;
}

/**
 * One byte of protocol number per protocol, shared (values are never written after they are
 * made): Uint8Array.of per render gave each rendered service port two arrays with buffers of
 * their own.
 */
export const PROTO_BYTES: Readonly<Record<Protocol, Uint8Array>> = { TCP: Uint8Array.of(6), UDP: Uint8Array.of(17), SCTP: Uint8Array.of(132) };

/** Start and end (inclusive) of a CIDR, as address bytes. */
export function cidrRange(cidr: string): { start: Uint8Array; end: Uint8Array; prefix: number } {
  const [addr = '', len] = cidr.split('/');
  const start = ipBytes(addr);
  const prefix = len === undefined ? start.length * 8 : Number(len);
  const end = allocBytes(start.length);
  end.set(start);
  for (let bit = prefix; bit < start.length * 8; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    start[i]! &= ~m;
    end[i]! |= m;
  }
  return { start, end, prefix };
}

export function portBytes(port: number): Uint8Array {
  return bytesOf(port >> 8, port & 0xff);
}

/** A 32-bit integer in host order (meta mark, ct state, fib type, numgen results). */
export function u32Host(n: number): Uint8Array {
  const v = n >>> 0;
  // Small values (numgen indexes: every endpoint map element's key; marks, ct states) are one
  // shared instance each. Byte by byte, not through a DataView: touching `.buffer` of a small
  // typed array makes V8 give it its own ArrayBuffer.
  if (v < SMALL_U32) return (smallU32[v] ??= u32Bytes(v));
  return u32Bytes(v);
}

const SMALL_U32 = 4096;
const smallU32: Uint8Array[] = [];

function u32Bytes(v: number): Uint8Array {
  return LITTLE ? bytesOf(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24) : bytesOf(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Fields of a concatenation, each padded to a multiple of 4 bytes. */
export function concat(...fields: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const f of fields) len += pad4(f.length);
  const out = allocBytes(len);
  let off = 0;
  for (const f of fields) {
    out.set(f, off);
    off += pad4(f.length);
  }
  return out;
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
let hexScratch = Buffer.alloc(64);

/**
 * Lowercase hex of the bytes. Not Buffer.from(b.buffer): reading `.buffer` would give each
 * retained key its own ArrayBuffer (see u32Host). Written into one scratch buffer and read back
 * as one flat string: a string built by `+=` is a rope of small strings, several times the size
 * of the flat text, and element keys stay in Maps for the life of the record.
 */
export function hex(b: Uint8Array): string {
  const n = b.length * 2;
  if (n > hexScratch.length) hexScratch = Buffer.alloc(n * 2);
  for (let i = 0; i < b.length; i++) {
    const v = b[i]!;
    hexScratch[2 * i] = HEX_DIGITS[v >> 4]!;
    hexScratch[2 * i + 1] = HEX_DIGITS[v & 15]!;
  }
  return hexScratch.toString('latin1', 0, n);
}

/** Inverse of ipBytes, for describing elements. */
export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

export function readPort(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function readU32Host(b: Uint8Array): number {
  const v = LITTLE ? b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24) : (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  return v >>> 0;
}
