// A packet tracer over iptables-save text: which chains a new connection walks, where it can be
// DNATed to and with what probability, the final verdict and whether it is masqueraded. Used by
// tests and by the `trace` CLI to explain what the kernel will do with a packet.

import { parseSave, type SavedTables } from '../save-parse.js';
import { parseRule, type PacketState, type ParsedRule } from './match.js';

export interface TraceInput {
  readonly src: string;
  readonly protocol: string;
  readonly dst: string;
  readonly dport: number;
  /** This node's addresses (for `--dst-type LOCAL` / `--src-type LOCAL`). */
  readonly nodeIPs: readonly string[];
  /** Packet generated on the node (nat OUTPUT) rather than arriving (nat PREROUTING). */
  readonly locallyOriginated?: boolean;
  readonly inInterface?: string;
}

export type Verdict = 'DNAT' | 'ACCEPT' | 'DROP' | 'REJECT';

export interface TraceResult {
  readonly chainPath: string[];
  readonly destinations: { ip: string; port: number; probability: number }[];
  readonly verdict: Verdict;
  readonly masquerade: boolean;
}

/** RETURN ends the current chain; FALL continues with its next rule; the rest are verdicts. */
type End = 'FALL' | 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' | 'DNAT' | 'MASQUERADE';
interface Branch {
  readonly pkt: PacketState;
  readonly prob: number;
  readonly end: End;
}

const MAX_DEPTH = 32;

class Walker {
  readonly path: string[] = [];
  constructor(
    private readonly tables: SavedTables,
    /** Parsed rules per `table/chain`, shared by the traces of one ruleset. */
    private readonly parsed: Map<string, ParsedRule[]> = new Map(),
  ) {}

  run(table: string, chain: string, pkt: PacketState, prob: number, depth = 0): Branch[] {
    const saved = this.tables.get(table)?.get(chain);
    if (!saved || depth > MAX_DEPTH) return [{ pkt, prob, end: 'RETURN' }];
    const id = `${table}/${chain}`;
    if (!this.path.includes(id)) this.path.push(id);
    const rules = this.parsed.get(id) ?? saved.rules.map(parseRule);
    this.parsed.set(id, rules);
    let live: { pkt: PacketState; prob: number }[] = [{ pkt, prob }];
    const done: Branch[] = [];
    for (const rule of rules) {
      const next: { pkt: PacketState; prob: number }[] = [];
      for (const b of live) {
        if (!rule.matches(b.pkt)) {
          next.push(b);
          continue;
        }
        if (rule.probability < 1) next.push({ pkt: b.pkt, prob: b.prob * (1 - rule.probability) });
        const hit = { pkt: b.pkt, prob: b.prob * rule.probability };
        for (const out of this.apply(table, rule, hit.pkt, hit.prob, depth)) {
          if (out.end === 'FALL') next.push(out);
          else done.push(out);
        }
      }
      live = next.filter((b) => b.prob > 0);
    }
    return [...done, ...live.map((b) => ({ ...b, end: 'RETURN' as const }))];
  }

  private apply(table: string, rule: ParsedRule, pkt: PacketState, prob: number, depth: number): Branch[] {
    const t = rule.target;
    switch (t) {
      case undefined:
        return [{ pkt, prob, end: 'FALL' }];
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
      case 'MASQUERADE':
        return [{ pkt, prob, end: t }];
      case 'RETURN':
        return [{ pkt, prob, end: 'RETURN' }];
      case 'MARK':
        return [{ pkt: { ...pkt, mark: applyMark(pkt.mark, rule.targetArgs) }, prob, end: 'FALL' }];
      case 'DNAT': {
        const [ip, port] = splitHostPort(rule.targetArgs.get('--to-destination') ?? '');
        return [{ pkt: { ...pkt, dst: ip, dport: port, dnat: true }, prob, end: 'DNAT' }];
      }
      default:
        // A jump continues here when the called chain returns; a goto returns from this chain too.
        return this.run(table, t, pkt, prob, depth + 1).map((b) =>
          b.end === 'RETURN' && !rule.isGoto ? { ...b, end: 'FALL' } : b,
        );
    }
  }
}

function applyMark(mark: number, args: ReadonlyMap<string, string>): number {
  const or = args.get('--or-mark');
  if (or !== undefined) return (mark | Number(or)) >>> 0;
  const xor = args.get('--xor-mark');
  if (xor !== undefined) return (mark ^ Number(xor)) >>> 0;
  const setx = args.get('--set-xmark');
  if (setx !== undefined) {
    const [v = '0', m = '0xffffffff'] = setx.split('/');
    return ((mark & ~Number(m)) ^ Number(v)) >>> 0;
  }
  return mark;
}

function splitHostPort(s: string): [string, number] {
  const m = /^\[(.*)\]:(\d+)$/.exec(s) ?? /^([^:]*):(\d+)$/.exec(s);
  return m ? [m[1] as string, Number(m[2])] : [s, 0];
}

export function tracePacket(rules: string | SavedTables, inp: TraceInput): TraceResult {
  return packetTracer(rules)(inp);
}

/** Many traces over one ruleset, parsing each chain's rules once for all of them. */
export function packetTracer(rules: string | SavedTables): (inp: TraceInput) => TraceResult {
  const tables = typeof rules === 'string' ? parseSave(rules) : rules;
  const parsed = new Map<string, ParsedRule[]>();
  return (inp) => trace(new Walker(tables, parsed), inp);
}

function trace(w: Walker, inp: TraceInput): TraceResult {
  const local = inp.locallyOriginated ?? false;
  const start: PacketState = {
    src: inp.src,
    dst: inp.dst,
    proto: inp.protocol.toLowerCase(),
    dport: inp.dport,
    mark: 0,
    dnat: false,
    inInterface: inp.inInterface,
    localAddrs: inp.nodeIPs,
  };
  const outcomes: { prob: number; verdict: Verdict; masq: boolean; pkt: PacketState }[] = [];
  for (const b of w.run('nat', local ? 'OUTPUT' : 'PREROUTING', start, 1)) {
    const pkt = b.pkt;
    const toNode = !local && inp.nodeIPs.includes(pkt.dst);
    const filterChain = local ? 'OUTPUT' : toNode ? 'INPUT' : 'FORWARD';
    for (const f of w.run('filter', filterChain, pkt, b.prob)) {
      const verdict: Verdict = f.end === 'DROP' || f.end === 'REJECT' ? f.end : pkt.dnat ? 'DNAT' : 'ACCEPT';
      const post = verdict === 'DROP' || verdict === 'REJECT' || toNode ? [] : w.run('nat', 'POSTROUTING', f.pkt, f.prob);
      const masq = post.some((p) => p.end === 'MASQUERADE');
      outcomes.push({ prob: f.prob, verdict, masq, pkt: f.pkt });
    }
  }
  return summarize(w.path, outcomes);
}

function summarize(
  path: string[],
  outcomes: readonly { prob: number; verdict: Verdict; masq: boolean; pkt: PacketState }[],
): TraceResult {
  const dest = new Map<string, { ip: string; port: number; probability: number }>();
  for (const o of outcomes) {
    if (o.verdict !== 'DNAT') continue;
    const id = `${o.pkt.dst}|${o.pkt.dport}`;
    const d = dest.get(id) ?? { ip: o.pkt.dst, port: o.pkt.dport, probability: 0 };
    d.probability += o.prob;
    dest.set(id, d);
  }
  const passed = outcomes.filter((o) => o.verdict === 'DNAT' || o.verdict === 'ACCEPT');
  const verdict: Verdict = dest.size > 0 ? 'DNAT' : passed.length > 0 ? 'ACCEPT' : (outcomes[0]?.verdict ?? 'ACCEPT');
  return {
    chainPath: path,
    destinations: [...dest.values()],
    verdict,
    masquerade: passed.some((o) => o.masq),
  };
}
