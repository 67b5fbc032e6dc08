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

/**
 * What xt_statistic keeps of a `--probability` text: a 31-bit fixed-point fraction, computed as
 * libxt_statistic does (`lround(0x80000000 * strtod(text))`). iptables-save prints it back as
 * `%.11f` of that integer over 2^31, a different text (and, rounded to a fixed number of
 * decimals, sometimes a different number: 0.0049504950 comes back as 0.00495049499), so two
 * texts mean the same rule exactly when these integers are equal. `Number` parses like strtod
 * (correctly rounded), scaling by 2^31 is exact, and for the non-negative values that occur
 * Math.round is lround (ties away from zero); the sign is kept apart so a negative value rounds
 * like lround too. NaN for text that is not a number.
 */
export function kernelProbability(text: string): number {
  const x = 0x80000000 * Number(text);
  return Math.sign(x) * Math.round(Math.abs(x));
}
