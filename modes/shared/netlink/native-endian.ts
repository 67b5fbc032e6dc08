// Netlink headers and most attribute payloads are in the host's byte order (the kernel just
// copies its own structs), unlike ports and addresses, which stay in network byte order.
// These helpers pick the host order once so the encoders read like the uapi structs.

import { endianness } from 'node:os';

const LE = endianness() === 'LE';

export function writeU16(buf: Buffer, value: number, offset: number): void {
  if (LE) buf.writeUInt16LE(value, offset);
  else buf.writeUInt16BE(value, offset);
}

export function writeU32(buf: Buffer, value: number, offset: number): void {
  if (LE) buf.writeUInt32LE(value >>> 0, offset);
  else buf.writeUInt32BE(value >>> 0, offset);
}

export function writeI32(buf: Buffer, value: number, offset: number): void {
  if (LE) buf.writeInt32LE(value, offset);
  else buf.writeInt32BE(value, offset);
}

export function readU16(buf: Buffer, offset = 0): number {
  return LE ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
}

export function readU32(buf: Buffer, offset = 0): number {
  return LE ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
}

export function readI32(buf: Buffer, offset = 0): number {
  return LE ? buf.readInt32LE(offset) : buf.readInt32BE(offset);
}

/** Round up to netlink's 4-byte alignment (NLMSG_ALIGN / NLA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}
