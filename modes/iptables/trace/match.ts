// Evaluating one saved rule against a traced packet: the match options our renderer emits, and
// the target with its options. Unknown matches never match, so the tracer errs towards "this rule
// does not apply" rather than inventing a path.

import { cidrsContain } from '../../../proxy/model/ip.js';
import { tokenize } from '../save-parse.js';

export interface PacketState {
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly dport: number;
  readonly mark: number;
  readonly dnat: boolean;
  readonly inInterface: string | undefined;
  readonly localAddrs: readonly string[];
}

export interface ParsedRule {
  /** Probability that the rule's `-m statistic` match fires (1 when there is none). */
  readonly probability: number;
  /** Deterministic part of the match. */
  readonly matches: (p: PacketState) => boolean;
  readonly target: string | undefined;
  readonly isGoto: boolean;
  readonly targetArgs: ReadonlyMap<string, string>;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

function isLocal(ip: string, p: PacketState): boolean {
  return p.localAddrs.includes(ip) || cidrsContain(LOOPBACK, ip);
}

function ifaceMatches(pattern: string, iface: string | undefined): boolean {
  if (iface === undefined) return false;
  return pattern.endsWith('+') ? iface.startsWith(pattern.slice(0, -1)) : iface === pattern;
}

function matchMark(spec: string, mark: number): boolean {
  const [v = '0', m = '0xffffffff'] = spec.split('/');
  return ((mark & Number(m)) >>> 0) === (Number(v) >>> 0);
}

function evalOption(opt: string, val: string | undefined, p: PacketState): boolean {
  switch (opt) {
    case '-s':
      return cidrsContain([val ?? ''], p.src);
    case '-d':
      return cidrsContain([val ?? ''], p.dst);
    case '-p':
      return val === p.proto;
    case '-i':
      return ifaceMatches(val ?? '', p.inInterface);
    case '--dport':
      return Number(val) === p.dport;
    case '--dst-type':
      return val === 'LOCAL' && isLocal(p.dst, p);
    case '--src-type':
      return val === 'LOCAL' && isLocal(p.src, p);
    case '--mark':
      return matchMark(val ?? '', p.mark);
    case '--ctstate':
      return (val ?? '').split(',').some((s) => s === 'NEW' || (s === 'DNAT' && p.dnat));
    default:
      return false;
  }
}

/** Options that take a value and are evaluated against the packet. */
const VALUED = new Set(['-s', '-d', '-p', '-i', '--dport', '--dst-type', '--src-type', '--mark', '--ctstate']);
/** Options that only configure a module or carry data. */
// --mask/--rsource are how iptables-save prints the recent match's defaults.
const IGNORED_WITH_VALUE = new Set(['-m', '--comment', '--mode', '--name', '--seconds', '--mask']);
const IGNORED_FLAGS = new Set(['--set', '--reap', '--rsource']);

export function parseRule(rule: string): ParsedRule {
  const t = tokenize(rule);
  const checks: ((p: PacketState) => boolean)[] = [];
  const targetArgs = new Map<string, string>();
  let probability = 1;
  let target: string | undefined;
  let isGoto = false;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i] as string;
    if (target !== undefined) {
      const next = t[i + 1];
      if (next !== undefined && !next.startsWith('--')) targetArgs.set(tok, t[++i] as string);
      else targetArgs.set(tok, '');
      continue;
    }
    const negate = tok === '!';
    const opt = negate ? (t[++i] as string) : tok;
    if (opt === '-j' || opt === '-g') {
      target = t[++i];
      isGoto = opt === '-g';
    } else if (opt === '--probability') {
      probability = Number(t[++i]);
    } else if (opt === '--rcheck') {
      checks.push(() => false); // affinity lists are empty for a fresh packet
    } else if (VALUED.has(opt)) {
      const val = t[++i];
      checks.push((p) => evalOption(opt, val, p) !== negate);
    } else if (IGNORED_WITH_VALUE.has(opt)) {
      i++;
    } else if (!IGNORED_FLAGS.has(opt)) {
      checks.push(() => false);
    }
  }
  return { probability, matches: (p) => checks.every((c) => c(p)), target, isGoto, targetArgs };
}
