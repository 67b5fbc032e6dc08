// The chi-square helper the balance tests rely on, checked against published table values (upper
// critical values of the chi-square distribution, e.g. NIST/SEMATECH e-Handbook table 1.3.6.7.4)
// and a worked example, so a wrong CDF or statistic cannot make every balance check pass.

import { describe, expect, it } from 'vitest';
import { chiSquareTest, fitsShares, uniformShares } from '../../support/chi-square.js';
import jStat from 'jstat';

describe('chi-square helper', () => {
  it('upper-tail probabilities match the table at p = 0.001, 0.01 and 0.05', () => {
    const table: [dof: number, p: number, critical: number][] = [
      [1, 0.001, 10.828],
      [2, 0.001, 13.816],
      [3, 0.001, 16.266],
      [4, 0.001, 18.467],
      [5, 0.001, 20.515],
      [10, 0.001, 29.588],
      [2, 0.01, 9.21],
      [4, 0.01, 13.277],
      [1, 0.05, 3.841],
      [3, 0.05, 7.815],
      [20, 0.05, 31.41],
    ];
    for (const [dof, p, x] of table) {
      const upper = 1 - jStat.chisquare.cdf(x, dof);
      // Table values have 3-5 significant digits.
      expect(Math.abs(upper - p) / p, `dof ${dof} x ${x}`).toBeLessThan(0.002);
    }
  });

  it('computes the statistic and p-value of a worked example', () => {
    // Observed 30/20/50 over 3 equally likely categories: expected 33.33 each,
    // chi2 = (3.33^2 + 13.33^2 + 16.67^2) / 33.33 = 14.0, dof 2, p = exp(-14/2) = 0.000912.
    const r = chiSquareTest({ a: 30, b: 20, c: 50 }, uniformShares(['a', 'b', 'c']));
    expect(r.statistic).toBeCloseTo(14.0, 6);
    expect(r.dof).toBe(2);
    expect(r.pValue).toBeCloseTo(Math.exp(-7), 8);
    expect(fitsShares({ a: 30, b: 20, c: 50 }, uniformShares(['a', 'b', 'c']))).toBe(false);
    expect(fitsShares({ a: 34, b: 31, c: 35 }, uniformShares(['a', 'b', 'c']))).toBe(true);
  });

  it('treats a category that should never be chosen as a mismatch, and refuses too few samples', () => {
    expect(chiSquareTest({ a: 50, b: 49, x: 1 }, uniformShares(['a', 'b'])).pValue).toBe(0);
    expect(() => chiSquareTest({ a: 3, b: 4 }, uniformShares(['a', 'b']))).toThrow(/too few samples/);
    expect(() => chiSquareTest({ a: 3 }, { a: 1 })).toThrow(/at least 2/);
  });
});
