// Canonical dotted-quad IPv4 ("198.18.0.1": four decimal octets 0-255, no leading zeros), read in
// place. Nearly every address the daemon sees is one, and the general paths (node:net's isIP, a
// regular expression; split/map/join) were the largest allocators and costs of converting a slice
// and rendering a service port. Anything else returns -1 and the caller's careful path decides.

/** The address as an unsigned 32-bit value, or -1 when `text` is not canonical dotted-quad IPv4. */
export function canonicalIPv4Value(text: string): number {
  let acc = 0;
  let val = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      acc = acc * 256 + val;
      val = digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) return -1; // a leading zero: not canonical
      val = val * 10 + (c - 48);
      if (++digits > 3 || val > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? acc * 256 + val : -1;
}
