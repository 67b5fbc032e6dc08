// Endpoint selection probabilities, formatted like Go's fmt.Sprintf("%0.10f", 1/n) as upstream
// does, so rules compare equal to upstream's and iptables-save round-trips them unchanged.

const cache: string[] = [];

/** The probability with which the first of `n` remaining endpoints is chosen: 1/n, 10 decimals. */
export function probability(n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`probability: n must be a positive integer, got ${n}`);
  let s = cache[n];
  if (s === undefined) {
    s = formatTenDecimals(1 / n);
    if (n <= 1000) cache[n] = s;
  }
  return s;
}

/**
 * toFixed rounds the exact binary value, as Go does, but breaks exact ties upward where Go rounds
 * to even; 1/2048 is such a tie, so ties are detected and rounded to even by hand.
 */
export function formatTenDecimals(x: number): string {
  const fixed = x.toFixed(10);
  const wide = x.toFixed(20);
  if (wide.slice(-10) !== '5000000000') return fixed;
  const truncated = wide.slice(0, -10);
  const lastDigit = Number(truncated.at(-1));
  return lastDigit % 2 === 0 ? truncated : fixed;
}
