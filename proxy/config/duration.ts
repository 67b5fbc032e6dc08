// Go time.Duration text <-> milliseconds. Upstream flags and KubeProxyConfiguration carry durations
// as Go strings ("30s", "1m30s", "15m0s"); we keep milliseconds internally and print Go's form back
// on /configz so output diffs cleanly against upstream's.

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const COMPONENT = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parse a Go duration ("1h2m3.5s", "250ms", "-1s", "0") to milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  // Go accepts a bare "0" (and only zero) without a unit.
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let ns = 0;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) return undefined;
    const [whole, num, unit] = m as unknown as [string, string, string];
    ns += Number(num) * (NS_PER_UNIT[unit] ?? NaN);
    rest = rest.slice(whole.length);
  }
  if (!Number.isFinite(ns)) return undefined;
  // Milliseconds may be fractional for sub-millisecond inputs; round to whole nanoseconds.
  return (sign * Math.round(ns)) / 1e6;
}

/** Format milliseconds the way Go's Duration.String() does: "30s", "1m30s", "15m0s", "1h0m0s", "250ms". */
export function formatDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  ns = Math.abs(ns);
  if (ns < 1e9) {
    // Below one second Go picks the largest unit that keeps an integer part.
    if (ns < 1e3) return `${sign}${ns}ns`;
    if (ns < 1e6) return `${sign}${decimal(ns, 1e3)}µs`;
    return `${sign}${decimal(ns, 1e6)}ms`;
  }
  const hours = Math.floor(ns / 3600e9);
  ns -= hours * 3600e9;
  const minutes = Math.floor(ns / 60e9);
  ns -= minutes * 60e9;
  const seconds = `${decimal(ns, 1e9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** value/unit printed with the fraction's trailing zeros trimmed, using integer maths to avoid float noise. */
function decimal(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const frac = value - whole * unit;
  if (frac === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(frac).padStart(digits, '0').replace(/0+$/, '')}`;
}
