/** An address reader that counts its calls (host-address tests of the iptables and nftables dataplanes). */
export function countingReader(list: readonly string[]): { read: () => string[]; calls: () => number } {
  let n = 0;
  return { read: () => (n++, [...list]), calls: () => n };
}
