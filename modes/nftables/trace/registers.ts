// The tracer's register file, laid out as the kernel's: NFT_REG32_00..15 (8..23) are 4-byte
// slots, NFT_REG_1..4 (1..4) overlay them 16 bytes each; a value that partly fills its last
// 32-bit word has the rest zeroed, as nft_payload and nft_meta do.

export const REG_BYTES = 64;

function regOffset(r: number): number {
  if (r >= 8 && r <= 23) return (r - 8) * 4;
  if (r >= 1 && r <= 4) return (r - 1) * 16;
  throw new Error(`register ${r} is not a data register`);
}

export function writeReg(regs: Uint8Array, r: number, data: Uint8Array): void {
  const off = regOffset(r);
  // The kernel zeroes the last 32-bit word a value partly fills.
  regs.fill(0, off, Math.min(REG_BYTES, off + ((data.length + 3) & ~3)));
  regs.set(data.subarray(0, REG_BYTES - off), off);
}

export function readReg(regs: Uint8Array, r: number, len: number): Uint8Array {
  const off = regOffset(r);
  return regs.slice(off, off + len);
}

/** Byte-wise (big-endian) comparison, as nft_cmp and interval sets compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

