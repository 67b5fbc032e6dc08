// What iptables-save prints for a `--probability` we wrote, computed the way iptables does it and
// independently of modes/iptables/probability.ts (so a test comparing the two can fail):
// libxt_statistic parses the text with strtod and stores `lround(0x80000000 * p)` as a u32, and
// prints `printf("%.11f", 1.0 * u / 0x80000000)`. u / 2^31 is exact in a double and has a finite
// decimal expansion, so glibc's %.11f is that exact value rounded to 11 decimals, ties to even
// (u = 2^19, from 1/4096, is such a tie: glibc prints 0.00024414062 where toFixed gives ...63).
// test/integration/iptables-verify.test.ts checks this against the real tools for n = 1..5000.

const ONE = 2n ** 31n;
const SCALE = 10n ** 11n;

/**
 * lround(0x80000000 * strtod(text)) with libxt_statistic's own double arithmetic: Number parses
 * like strtod (both round correctly to the nearest double), the product by 2^31 is exact, and
 * lround rounds ties away from zero, which is written out here rather than left to Math.round.
 */
export function xtStatisticStore(text: string): bigint {
  if (!/^\d+(?:\.\d*)?$/.test(text)) throw new Error(`not a probability: ${text}`);
  const x = 0x80000000 * Number(text);
  const floor = Math.floor(x);
  return BigInt(x - floor >= 0.5 ? floor + 1 : floor);
}

/** `%.11f` of u / 2^31, exactly rounded, ties to even (glibc's default rounding mode). */
export function printStatistic(u: bigint): string {
  const num = u * SCALE;
  let q = num / ONE;
  const twice = 2n * (num % ONE);
  if (twice > ONE || (twice === ONE && q % 2n === 1n)) q++;
  const s = q.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

/** The probability text iptables-save shows for one we restored. */
export function savedProbability(text: string): string {
  return printStatistic(xtStatisticStore(text));
}

/** A rule as iptables-save shows it, as far as its probability is concerned. */
export function savedRule(rule: string): string {
  return rule.replace(/(--probability )(\S+)/, (_m, opt: string, p: string) => `${opt}${savedProbability(p)}`);
}
