// What a rule means, in a form that reads the same whether it comes from our renderer or from
// iptables-save. The kernel hands rules back rewritten (`-d 198.19.0.1` becomes
// `-d 198.19.0.1/32`, matches are reordered, `-m recent` gains `--mask`/`--rsource`,
// REJECT gains `--reject-with`), so text never compares equal; the options that decide where a
// packet goes do. A full sync uses this to verify the kernel against its record and rewrite only
// the chains that differ, instead of rewriting every chain on every full sync.

import { createHash, type Hash } from 'node:crypto';
import { kernelProbability } from '../probability.js';

/** Option → signature key. Options not listed (defaults the kernel adds, module names) are ignored. */
const KEYS: ReadonlyMap<string, string> = new Map([
  ['-p', 'p'],
  ['--protocol', 'p'],
  ['-s', 's'],
  ['--source', 's'],
  ['-d', 'd'],
  ['--destination', 'd'],
  ['--dport', 'dport'],
  ['--destination-port', 'dport'],
  ['--comment', 'comment'],
  ['-j', 'j'],
  ['--jump', 'j'],
  ['-g', 'g'],
  ['--goto', 'g'],
  ['--to-destination', 'to'],
  ['--probability', 'prob'],
  ['--name', 'name'],
  ['--set', 'set'],
  ['--rcheck', 'rcheck'],
  ['--seconds', 'seconds'],
  ['--mark', 'mark'],
  ['--dst-type', 'dsttype'],
  ['--src-type', 'srctype'],
  ['--ctstate', 'ctstate'],
]);

/** Flags without a value. */
const FLAGS = new Set(['--set', '--rcheck']);

/**
 * One option with its value, if any: `[! ]-x value` or `[! ]--xyz "quoted value"`. A value never
 * starts with '-', so a flag (--reap, --set) never swallows the next option. One regex pass is
 * ~1.7x faster than tokenizing (a 10,000-service full sync signs ~430,000 rules on each side).
 */
const OPTION = /(?<=^|\s)(!\s+)?(--?[a-zA-Z][\w-]*)(?:\s+("(?:[^"\\]|\\.)*"|[^\s"-][^\s"]*))?/g;

let signed = 0;

/** Rules signed since the process started: a count the O(change) tests compare (signing is most of a digest's cost). */
export function rulesSigned(): number {
  return signed;
}

/** A canonical string for one rule (the text after `-A <chain> `). */
export function ruleSignature(rule: string): string {
  signed++;
  const parts: string[] = [];
  OPTION.lastIndex = 0;
  for (let m = OPTION.exec(rule); m !== null; m = OPTION.exec(rule)) {
    const option = m[2] as string;
    const key = KEYS.get(option);
    if (key === undefined) continue;
    const neg = m[1] ? '!' : '';
    if (FLAGS.has(option)) {
      parts.push(`${neg}${key}`);
      // Whatever followed a flag is not its value: scan it again.
      if (m[3] !== undefined) OPTION.lastIndex = m.index + m[0].length - m[3].length;
      continue;
    }
    let value = m[3] ?? '';
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    if (key === 's' || key === 'd') value = value.replace(/\/(32|128)$/, '');
    // The kernel keeps a 31-bit fraction: we write 0.1000000000, iptables-save prints
    // 0.10000000009. Compare what it keeps, not a rounding of either text (see probability.ts).
    else if (key === 'prob') value = String(kernelProbability(value));
    parts.push(`${neg}${key}=${value}`);
  }
  return parts.sort().join(' ');
}

/** Same rules in the same order (static chains: order is meaning). */
export function sameOrderedRules(kernel: readonly string[] | undefined, desired: readonly string[]): boolean {
  if (kernel === undefined || kernel.length !== desired.length) return false;
  return desired.every((r, i) => ruleSignature(kernel[i] as string) === ruleSignature(r));
}

export interface RuleSetDiff {
  /** Kernel rules (saved text) no desired rule matches. */
  readonly extra: readonly string[];
  /** Desired rules the kernel lacks. */
  readonly missing: readonly string[];
}

/**
 * Multiset difference of two rule lists by signature: for dispatch chains, where every rule
 * matches its own (address, port, protocol) and partial syncs insert at the top, so order
 * carries no meaning apart from the tail rule, which the caller checks.
 */
export function diffRuleSets(kernel: readonly string[], desired: readonly string[]): RuleSetDiff {
  const want = new Map<string, string[]>();
  for (const r of desired) {
    const sig = ruleSignature(r);
    const list = want.get(sig);
    if (list) list.push(r);
    else want.set(sig, [r]);
  }
  const extra: string[] = [];
  for (const r of kernel) {
    const list = want.get(ruleSignature(r));
    if (list && list.length > 0) list.pop();
    else extra.push(r);
  }
  const missing: string[] = [];
  for (const list of want.values()) for (const r of list) missing.push(r);
  return { extra, missing };
}

/**
 * A chain's rules reduced to one short string: a hash of their signatures in order. The record
 * keeps this instead of the rule text (at 10,000 services that text is ~50 MB of heap), and the
 * kernel side is hashed line by line from iptables-save, so verifying a chain is comparing two
 * strings.
 */
export class ChainDigest {
  private readonly hash: Hash = createHash('md5');

  add(rule: string): void {
    this.hash.update(`${ruleSignature(rule)}\n`);
  }

  /** 24 characters, one flat string (a template here would keep a two-piece rope per chain). */
  digest(): string {
    return this.hash.digest('base64');
  }
}

export function chainDigest(rules: readonly string[]): string {
  const d = new ChainDigest();
  for (const r of rules) d.add(r);
  return d.digest();
}
