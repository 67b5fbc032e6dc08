// What a rule means, in a form that reads the same whether it comes from our renderer or from
// iptables-save. The kernel hands rules back rewritten (`-d 198.19.0.1` becomes
// `-d 198.19.0.1/32`, matches are reordered, `-m recent` gains `--mask`/`--rsource`,
// REJECT gains `--reject-with`), so text never compares equal; the options that decide where a
// packet goes do. A full sync uses this to verify the kernel against its record and rewrite only
// the chains that differ, instead of rewriting every chain on every full sync.

import { createHash } from 'node:crypto';
import { kernelProbability } from '../probability.js';
import { nextOption, type OptionMatch } from './rule-options.js';

/** Option → signature key. Options not listed (defaults the kernel adds, module names) are ignored. */
export const SIGNATURE_KEYS: ReadonlyMap<string, string> = new Map([
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
export const SIGNATURE_FLAGS: ReadonlySet<string> = new Set(['--set', '--rcheck']);

let signed = 0;

/** Rules signed since the process started: a count the O(change) tests compare (signing is most of a digest's cost). */
export function rulesSigned(): number {
  return signed;
}

const scratch: OptionMatch = { neg: false, name: '', valueStart: -1, end: 0 };

/** A canonical string for one rule (the text after `-A <chain> `). */
export function ruleSignature(rule: string): string {
  signed++;
  const parts: string[] = [];
  for (let m = nextOption(rule, 0, scratch); m !== undefined; ) {
    const option = m.name;
    const key = SIGNATURE_KEYS.get(option);
    const hasValue = m.valueStart >= 0;
    let resume = m.end;
    if (key !== undefined) {
      const neg = m.neg ? '!' : '';
      if (SIGNATURE_FLAGS.has(option)) {
        insertSorted(parts, `${neg}${key}`);
        // Whatever followed a flag is not its value: scan it again.
        if (hasValue) resume = m.valueStart;
      } else {
        insertSorted(parts, `${neg}${key}=${optionValue(key, hasValue ? rawValue(rule, m.valueStart, m.end) : '')}`);
      }
    }
    m = nextOption(rule, resume, scratch);
  }
  let sig = parts[0] ?? '';
  for (let i = 1; i < parts.length; i++) sig += ' ' + parts[i];
  return sig;
}

/**
 * Insert keeping `parts` in Array.prototype.sort()'s order (UTF-16 code units). A rule has a
 * handful of parts; sort() copied them into a work array on every call.
 */
function insertSorted(parts: string[], part: string): void {
  let i = parts.length;
  parts.push(part);
  for (; i > 0 && (parts[i - 1] as string) > part; i--) parts[i] = parts[i - 1] as string;
  parts[i] = part;
}

/** A value's text, unquoted. */
function rawValue(rule: string, start: number, end: number): string {
  if (rule.charCodeAt(start) !== 0x22) return rule.slice(start, end);
  const value = rule.slice(start + 1, end - 1);
  return value.includes('\\') ? value.replace(/\\(.)/g, '$1') : value;
}

/** A value as signatures compare it: without a host prefix length, a probability as the kernel keeps it. */
function optionValue(key: string, value: string): string {
  if (key === 's' || key === 'd') {
    if (value.endsWith('/32')) return value.slice(0, -3);
    if (value.endsWith('/128')) return value.slice(0, -4);
    return value;
  }
  // The kernel keeps a 31-bit fraction: we write 0.1000000000, iptables-save prints
  // 0.10000000009. Compare what it keeps, not a rounding of either text (see probability.ts).
  if (key === 'prob') return String(kernelProbability(value));
  return value;
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
  /** The signature lines, hashed at once: one native call per chain instead of one per rule. */
  private text = '';

  add(rule: string): void {
    this.text += `${ruleSignature(rule)}\n`;
  }

  /** 24 characters, one flat string (a template here would keep a two-piece rope per chain). */
  digest(): string {
    return createHash('md5').update(this.text).digest('base64');
  }
}

export function chainDigest(rules: readonly string[]): string {
  const d = new ChainDigest();
  for (const r of rules) d.add(r);
  return d.digest();
}
