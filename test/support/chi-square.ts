// Pearson's chi-square goodness-of-fit test for load-balancing checks: observed connection counts
// per endpoint against the shares the rules promise. A band like "each share within 12-40 %" lets
// a skewed balancer pass; the test below rejects a wrong distribution with a known error rate
// (alpha) and, with enough connections, near-certain power (see test/unit/support/chi-square).
// The chi-square CDF comes from jstat (regularized incomplete gamma function).

import jStat from 'jstat';

/** The significance level the suite uses: a correct balancer fails one run in a thousand. */
export const BALANCE_ALPHA = 0.001;

export interface ChiSquareResult {
  readonly statistic: number;
  readonly dof: number;
  /** P(chi-square >= statistic) under the expected distribution. */
  readonly pValue: number;
  readonly observed: Readonly<Record<string, number>>;
  readonly expected: Readonly<Record<string, number>>;
}

/**
 * `observed`: counts per category (categories absent from `shares` are a hard mismatch: they make
 * the statistic infinite). `shares`: expected probability per category, summing to 1.
 */
export function chiSquareTest(observed: Readonly<Record<string, number>>, shares: Readonly<Record<string, number>>): ChiSquareResult {
  const cats = Object.keys(shares);
  if (cats.length < 2) throw new Error(`chi-square needs at least 2 categories, got ${cats.length}`);
  const sum = cats.reduce((s, k) => s + (shares[k] ?? 0), 0);
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`expected shares sum to ${sum}, not 1`);
  const total = Object.values(observed).reduce((s, v) => s + v, 0);
  const expected: Record<string, number> = {};
  let statistic = 0;
  for (const k of cats) {
    const e = (shares[k] ?? 0) * total;
    if (e < 5) throw new Error(`expected count for ${k} is ${e.toFixed(1)} (< 5): too few samples for a chi-square test`);
    expected[k] = e;
    const o = observed[k] ?? 0;
    statistic += ((o - e) * (o - e)) / e;
  }
  const stray = Object.keys(observed).filter((k) => !(k in shares) && (observed[k] ?? 0) > 0);
  if (stray.length > 0) statistic = Infinity;
  const dof = cats.length - 1;
  const pValue = statistic === Infinity ? 0 : 1 - jStat.chisquare.cdf(statistic, dof);
  return { statistic, dof, pValue, observed, expected };
}

/** Equal shares over `names`. */
export function uniformShares(names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, 1 / names.length]));
}

/** True when the counts are consistent with `shares` at `alpha`. */
export function fitsShares(observed: Readonly<Record<string, number>>, shares: Readonly<Record<string, number>>, alpha = BALANCE_ALPHA): boolean {
  return chiSquareTest(observed, shares).pValue >= alpha;
}

export function describeChiSquare(r: ChiSquareResult): string {
  const exp = Object.fromEntries(Object.entries(r.expected).map(([k, v]) => [k, Number(v.toFixed(1))]));
  return `chi2=${r.statistic.toFixed(2)} dof=${r.dof} p=${r.pValue.toExponential(2)} observed=${JSON.stringify(r.observed)} expected=${JSON.stringify(exp)}`;
}

/**
 * Connections per balance check, by endpoint count: enough that the 1/n-probability bug is
 * rejected at BALANCE_ALPHA in >= 99 % of runs (noncentrality ~67 for 3 endpoints, ~150 for 5;
 * measured by simulation in test/unit/iptables/balance-chi-square.test.ts).
 */
export const BALANCE_CONNECTIONS = { 3: 900, 5: 500 } as const;
