// The part of jstat (no bundled types) the chi-square helper uses.
declare module 'jstat' {
  interface ChiSquareDistribution {
    /** P(X <= x) for X ~ chi-square with `dof` degrees of freedom. */
    cdf(x: number, dof: number): number;
    /** The x with cdf(x, dof) = p. */
    inv(p: number, dof: number): number;
  }
  const jStat: { readonly chisquare: ChiSquareDistribution };
  export default jStat;
}
