// What a rule means, in a form that reads the same whether it comes from our renderer or from
// iptables-save. The kernel hands rules back rewritten (`-d 198.19.0.1` becomes
// `-d 198.19.0.1/32`, matches are reordered, `-m recent` gains `--mask`/`--rsource`,
// REJECT gains `--reject-with`), so text never compares equal; the options that decide where a
// packet goes do. A full sync uses this to verify the kernel against its record and rewrite only
// the chains that differ, instead of rewriting every chain on every full sync.

import { createHash, type Hash } from 'node:crypto';
import { tokenize } from '../save-parse.js';

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

/** A canonical string for one rule (the text after `-A <chain> `). */
export function ruleSignature(rule: string): string {
  const t = tokenize(rule);
  const parts: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const key = KEYS.get(t[i] as string);
    if (key === undefined) continue;
    const neg = t[i - 1] === '!' ? '!' : '';
    if (FLAGS.has(t[i] as string)) {
      parts.push(`${neg}${key}`);
      continue;
    }
    let value = t[i + 1] ?? '';
    if (key === 's' || key === 'd') value = value.replace(/\/(32|128)$/, '');
    // The kernel keeps a 32-bit fraction: we write 0.1000000000, iptables-save prints 0.10000000009.
    else if (key === 'prob') value = Number(value).toFixed(8);
    parts.push(`${neg}${key}=${value}`);
    i++;
  }
  return parts.sort().join(' ');
}

/**
 * Signatures of rendered rule lists, kept as long as the list is: unchanged service ports keep
 * their rendered arrays between syncs, so each full sync only signs the kernel's side again.
 */
const signed = new WeakMap<readonly string[], readonly string[]>();

function signatures(rules: readonly string[]): readonly string[] {
  let s = signed.get(rules);
  if (!s) signed.set(rules, (s = rules.map(ruleSignature)));
  return s;
}

/** Same rules in the same order (service chains and static chains: order is meaning). */
export function sameOrderedRules(kernel: readonly string[] | undefined, desired: readonly string[]): boolean {
  if (kernel === undefined || kernel.length !== desired.length) return false;
  const want = signatures(desired);
  for (let i = 0; i < want.length; i++) if (ruleSignature(kernel[i] as string) !== want[i]) return false;
  return true;
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
 * A chain's rules reduced to one short string: a hash of their signatures in order. The record keeps this instead of the rule text (at 10,000 services that text is ~50 MB
 * of heap), and the kernel side is hashed line by line from iptables-save, so verifying a chain
 * is comparing two strings.
 */
export class ChainDigest {
  private readonly hash: Hash = createHash('md5');

  add(rule: string): void {
    this.hash.update(ruleSignature(rule));
    this.hash.update('\n');
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
