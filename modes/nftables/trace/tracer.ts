// A packet tracer over our nftables table as the kernel dumps it: a small interpreter of the
// expressions we program (payload/meta/ct/fib loads into registers, cmp, bitwise, set and map
// lookups, numgen, nat, masquerade, reject, verdicts) that follows a new connection through the
// base chains at their hooks and priorities, the verdict maps, the service chains and the endpoint
// maps. A numgen splits the packet into one branch per value, so the result is every possible
// outcome with its probability and the steps that led to it. Pure: (dump, packet) -> outcomes.
//
// It models only this table (foreign tables and iptables are not part of the dump) and a packet
// that starts a connection (`ct state new`; conntrack would send later packets the same way).

import { formatIP, hex, ipBytes, readPort, readU32Host, u32Host } from '../bytes.js';
import { elementText, exprText } from '../describe.js';
import type { Expr, NftRule, NftTableDump, Verdict } from '../netlink/types.js';
import { viewFromDump, type TableView } from '../view.js';
import { compareBytes, readReg, REG_BYTES, writeReg } from './registers.js';
import { findElement } from './set-lookup.js';

export interface NftTraceInput {
  readonly src: string;
  readonly dst: string;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly dport: number;
  readonly sport?: number;
  /** Addresses local to the node (for `fib … type local` and the routing decision). */
  readonly localAddresses: readonly string[];
  /** Sent by a process on the node (output hook) rather than arriving (prerouting). */
  readonly locallyOriginated?: boolean;
  /** Interface the packet arrives on (for `iifname` matches). */
  readonly inInterface?: string;
}

export type NftTraceVerdict = 'DNAT' | 'ACCEPT' | 'DROP' | 'REJECT';

export interface NftTraceOutcome {
  readonly probability: number;
  readonly verdict: NftTraceVerdict;
  /** Destination after DNAT (or the original one). */
  readonly ip: string;
  readonly port: number;
  readonly masquerade: boolean;
  /** What happened, in order: hooks, rules that matched, map entries found, NAT. */
  readonly steps: readonly string[];
}

export interface NftTraceResult {
  /** Chains entered (any branch), in order of first entry. */
  readonly chainPath: string[];
  readonly destinations: { ip: string; port: number; probability: number }[];
  readonly verdict: NftTraceVerdict;
  readonly masquerade: boolean;
  readonly outcomes: NftTraceOutcome[];
}

const PROTO: Record<NftTraceInput['protocol'], number> = { tcp: 6, udp: 17, sctp: 132 };
const RTN_UNICAST = 1;
const RTN_LOCAL = 2;
const CT_STATE_NEW = 1 << 3;
const MAX_DEPTH = 64;

interface Pkt {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly mark: number;
  readonly dnat: boolean;
  readonly masq: boolean;
  readonly iif: string;
}

interface Branch {
  readonly pkt: Pkt;
  readonly prob: number;
  readonly steps: readonly string[];
}

/** How a chain (or rule) ended for one branch. */
type End = 'next' | 'return' | 'accept' | 'drop' | 'reject';
interface Ended {
  readonly b: Branch;
  readonly end: End;
}

/** One expression-evaluation branch inside a rule: registers are per traversal in the kernel. */
interface Eval {
  pkt: Pkt;
  prob: number;
  regs: Uint8Array;
  notes: string[];
  verdict?: Verdict;
  /** Terminal effect of a nat/masq/reject expression. */
  stop?: 'accept' | 'reject';
}

function isLoopback(b: Uint8Array): boolean {
  return b.length === 4 ? b[0] === 127 : b.every((x, i) => x === (i === 15 ? 1 : 0));
}

class Tracer {
  readonly chainPath: string[] = [];
  private readonly local: Set<string>;
  private readonly addrLen: number;

  constructor(
    private readonly view: TableView,
    /** The dump's elements by set: the view keeps only keys and values, a lookup needs the bytes. */
    private readonly elements: NftTableDump['elements'],
    family: 'ip' | 'ip6' | 'inet',
    localAddresses: readonly string[],
  ) {
    this.addrLen = family === 'ip6' ? 16 : 4;
    this.local = new Set(localAddresses.filter((a) => (a.includes(':') ? 16 : 4) === this.addrLen).map((a) => hex(ipBytes(a))));
  }

  isLocal(addr: Uint8Array): boolean {
    return isLoopback(addr) || this.local.has(hex(addr));
  }

  /** Base chains of `hook` in priority order (the kernel runs them one after another). */
  hookChains(hook: string): string[] {
    return [...this.view.chains]
      .filter(([, c]) => c.base?.hook === hook)
      .sort(([, a], [, b]) => a.base!.priority - b.base!.priority)
      .map(([name]) => name);
  }

  /** Runs one hook; returns the branches that leave it and the ones dropped or rejected in it. */
  hook(hook: string, branches: readonly Branch[]): { passed: Branch[]; stopped: Ended[] } {
    let live: Branch[] = branches.map((b) => ({ ...b, steps: [...b.steps, `hook ${hook}`] }));
    const stopped: Ended[] = [];
    for (const name of this.hookChains(hook)) {
      const policy = this.view.chains.get(name)!.base?.policy ?? 'accept';
      const next: Branch[] = [];
      for (const b of live) {
        for (const r of this.chain(name, b, 0)) {
          const end = r.end === 'return' || r.end === 'next' ? policy : r.end;
          if (end === 'accept') next.push(r.b);
          else stopped.push({ b: r.b, end });
        }
      }
      live = next;
    }
    return { passed: live, stopped };
  }

  chain(name: string, start: Branch, depth: number): Ended[] {
    const c = this.view.chains.get(name);
    if (!c || depth > MAX_DEPTH) return [{ b: { ...start, steps: [...start.steps, `${name}: no such chain`] }, end: 'return' }];
    if (!this.chainPath.includes(name)) this.chainPath.push(name);
    let live: Branch[] = [start];
    const done: Ended[] = [];
    c.rules.forEach((rule, i) => {
      const next: Branch[] = [];
      for (const b of live) {
        for (const r of this.rule(name, i, rule, b, depth)) {
          if (r.end === 'next') next.push(r.b);
          else done.push(r);
        }
      }
      live = merge(next);
    });
    return [...done, ...live.map((b) => ({ b, end: 'return' as const }))];
  }

  private rule(chain: string, index: number, rule: NftRule, b: Branch, depth: number): Ended[] {
    const label = `${chain} #${index + 1}${rule.comment ? ` (${rule.comment})` : ''}`;
    const out: Ended[] = [];
    for (const e of this.exprs(rule.exprs, { pkt: b.pkt, prob: b.prob, regs: new Uint8Array(REG_BYTES), notes: [] })) {
      const base: Branch = { pkt: e.pkt, prob: e.prob, steps: b.steps };
      const noted = (extra: string[] = []): Branch => {
        const notes = [...e.notes, ...extra];
        return notes.length ? { ...base, steps: [...b.steps, `${label}: ${notes.join('; ')}`] } : base;
      };
      if (e.stop) {
        out.push({ b: noted(), end: e.stop });
        continue;
      }
      const v = e.verdict;
      if (!v || v.code === 'continue') {
        out.push({ b: noted(), end: 'next' });
        continue;
      }
      switch (v.code) {
        case 'accept':
        case 'drop':
          out.push({ b: noted([v.code]), end: v.code });
          break;
        case 'return':
          out.push({ b: noted(['return']), end: 'return' });
          break;
        case 'jump':
        case 'goto':
          for (const r of this.chain(v.chain!, noted([`${v.code} ${v.chain}`]), depth + 1)) {
            // A jump comes back to the next rule; a goto's return ends this chain too.
            out.push(r.end === 'return' && v.code === 'jump' ? { b: r.b, end: 'next' } : r);
          }
          break;
      }
    }
    return out;
  }

  /** Evaluates a rule's expressions; a failed match ends that branch with no verdict. */
  private exprs(exprs: readonly Expr[], start: Eval): Eval[] {
    let live: Eval[] = [start];
    const finished: Eval[] = [];
    for (const x of exprs) {
      const next: Eval[] = [];
      for (const e of live) {
        const r = this.expr(x, e);
        for (const o of r) (o.verdict || o.stop ? finished : next).push(o);
        // A branch that failed a match stops here, keeping whatever it changed on the packet.
        if (r.length === 0) finished.push({ ...e, notes: [] });
      }
      live = next;
    }
    return [...finished, ...live];
  }

  private expr(x: Expr, e: Eval): Eval[] {
    const p = e.pkt;
    switch (x.type) {
      case 'payload': {
        let v: Uint8Array = new Uint8Array(x.len);
        if (x.base === 'network') {
          const srcOff = this.addrLen === 4 ? 12 : 8;
          const dstOff = this.addrLen === 4 ? 16 : 24;
          if (x.offset === srcOff && x.len === this.addrLen) v = p.src;
          else if (x.offset === dstOff && x.len === this.addrLen) v = p.dst;
        } else if (x.base === 'transport' && x.len === 2) {
          if (x.offset === 0) v = Uint8Array.of(p.sport >> 8, p.sport & 0xff);
          else if (x.offset === 2) v = Uint8Array.of(p.dport >> 8, p.dport & 0xff);
        }
        writeReg(e.regs, x.dreg, v);
        return [e];
      }
      case 'meta': {
        let v: Uint8Array;
        if (x.key === 'l4proto' || x.key === 'protocol') v = Uint8Array.of(p.proto);
        else if (x.key === 'mark') v = u32Host(p.mark);
        else if (x.key === 'nfproto') v = Uint8Array.of(this.addrLen === 4 ? 2 : 10);
        else if (x.key === 'iifname') {
          v = new Uint8Array(16);
          v.set(new TextEncoder().encode(p.iif).subarray(0, 15));
        } else v = new Uint8Array(4);
        writeReg(e.regs, x.dreg, v);
        return [e];
      }
      case 'meta-set':
        if (x.key === 'mark') {
          const mark = readU32Host(readReg(e.regs, x.sreg, 4));
          return [{ ...e, pkt: { ...p, mark }, notes: [...e.notes, `mark set 0x${mark.toString(16)}`] }];
        }
        return [e];
      case 'ct':
        writeReg(e.regs, x.dreg, x.key === 'state' ? u32Host(CT_STATE_NEW) : new Uint8Array(4));
        return [e];
      case 'fib': {
        const addr = x.flags.saddr ? p.src : p.dst;
        writeReg(e.regs, x.dreg, u32Host(x.result === 'type' ? (this.isLocal(addr) ? RTN_LOCAL : RTN_UNICAST) : 0));
        return [e];
      }
      case 'cmp': {
        const c = compareBytes(readReg(e.regs, x.sreg, x.data.length), x.data);
        const ok = { eq: c === 0, neq: c !== 0, lt: c < 0, lte: c <= 0, gt: c > 0, gte: c >= 0 }[x.op];
        return ok ? [e] : [];
      }
      case 'bitwise': {
        const src = readReg(e.regs, x.sreg, x.len);
        const out = new Uint8Array(x.len);
        for (let i = 0; i < x.len; i++) out[i] = ((src[i] ?? 0) & (x.mask[i] ?? 0)) ^ (x.xor[i] ?? 0);
        writeReg(e.regs, x.dreg, out);
        return [e];
      }
      case 'lookup': {
        const s = this.view.sets.get(x.set);
        if (!s) return [];
        const key = readReg(e.regs, x.sreg, s.set.keyLen);
        const el = findElement(s.set, this.elements.get(x.set) ?? [], key);
        if (x.invert) return el ? [] : [{ ...e, notes: [...e.notes, `not in @${x.set}`] }];
        if (!el) return [];
        const note = `@${x.set} ${elementText(s.set, el)}`;
        if (x.dreg === undefined) return [{ ...e, notes: [...e.notes, `in ${note}`] }];
        if (x.dreg === 0) return el.verdict ? [{ ...e, verdict: el.verdict, notes: [...e.notes, note] }] : [];
        writeReg(e.regs, x.dreg, el.data ?? new Uint8Array(0));
        return [{ ...e, notes: [...e.notes, note] }];
      }
      case 'immediate':
        writeReg(e.regs, x.dreg, x.data);
        return [e];
      case 'verdict':
        return [{ ...e, verdict: x.verdict }];
      case 'numgen': {
        const out: Eval[] = [];
        for (let i = 0; i < x.modulus; i++) {
          const regs = new Uint8Array(e.regs);
          writeReg(regs, x.dreg, u32Host(i + (x.offset ?? 0)));
          out.push({ ...e, regs, prob: e.prob / x.modulus, notes: [...e.notes, `numgen ${x.mode} mod ${x.modulus} = ${i}`] });
        }
        return out;
      }
      case 'nat': {
        if (x.nat !== 'dnat' || x.regAddrMin === undefined) return [{ ...e, stop: 'accept', notes: [...e.notes, exprText(x)] }];
        const dst = readReg(e.regs, x.regAddrMin, this.addrLen);
        const dport = x.regProtoMin !== undefined ? readPort(readReg(e.regs, x.regProtoMin, 2), 0) : p.dport;
        return [{ ...e, pkt: { ...p, dst, dport, dnat: true }, stop: 'accept', notes: [...e.notes, `dnat to ${hostPort(formatIP(dst), dport)}`] }];
      }
      case 'masq':
        return [{ ...e, pkt: { ...p, masq: true }, stop: 'accept', notes: [...e.notes, 'masquerade'] }];
      case 'reject':
        return [{ ...e, stop: 'reject', notes: [...e.notes, exprText(x)] }];
      case 'dynset':
        return [{ ...e, notes: [...e.notes, `${x.op} @${x.set}`] }];
      case 'counter':
      case 'notrack':
        return [e];
    }
  }
}

function stateKey(b: Branch): string {
  const p = b.pkt;
  return [hex(p.src), hex(p.dst), p.dport, p.mark, p.dnat, p.masq, ...b.steps].join('|');
}

/** Branches that ended up identical (a numgen value that did not match) become one again. */
function merge(branches: readonly Branch[]): Branch[] {
  const out = new Map<string, Branch>();
  for (const b of branches) {
    const k = stateKey(b);
    const seen = out.get(k);
    out.set(k, seen ? { ...seen, prob: seen.prob + b.prob } : b);
  }
  return [...out.values()];
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function traceNftPacket(dump: NftTableDump, inp: NftTraceInput): NftTraceResult {
  const t = new Tracer(viewFromDump(dump), dump.elements, dump.table.family, inp.localAddresses);
  const start: Branch = {
    pkt: {
      src: ipBytes(inp.src),
      dst: ipBytes(inp.dst),
      proto: PROTO[inp.protocol],
      sport: inp.sport ?? 40000,
      dport: inp.dport,
      mark: 0,
      dnat: false,
      masq: false,
      iif: inp.inInterface ?? (inp.locallyOriginated ? '' : 'eth0'),
    },
    prob: 1,
    steps: [],
  };
  const stopped: Ended[] = [];
  const delivered: Branch[] = [];
  const run = (hook: string, bs: readonly Branch[]): Branch[] => {
    const r = t.hook(hook, bs);
    stopped.push(...r.stopped);
    return r.passed;
  };
  if (inp.locallyOriginated) {
    const out = run('postrouting', run('output', [start]));
    // A packet to one of the node's own addresses comes back in through the input hook.
    delivered.push(...out.filter((b) => !t.isLocal(b.pkt.dst)), ...run('input', out.filter((b) => t.isLocal(b.pkt.dst))));
  } else {
    const pre = run('prerouting', [start]);
    delivered.push(...run('input', pre.filter((b) => t.isLocal(b.pkt.dst))));
    delivered.push(...run('postrouting', run('forward', pre.filter((b) => !t.isLocal(b.pkt.dst)))));
  }
  const outcomes: NftTraceOutcome[] = [
    ...stopped.map(({ b, end }) => outcome(b, end === 'reject' ? 'REJECT' : 'DROP')),
    ...delivered.map((b) => outcome(b, b.pkt.dnat ? 'DNAT' : 'ACCEPT')),
  ].sort((a, b) => b.probability - a.probability);
  const dest = new Map<string, { ip: string; port: number; probability: number }>();
  for (const o of outcomes) {
    if (o.verdict !== 'DNAT') continue;
    const k = hostPort(o.ip, o.port);
    const d = dest.get(k) ?? { ip: o.ip, port: o.port, probability: 0 };
    d.probability += o.probability;
    dest.set(k, d);
  }
  const passed = outcomes.filter((o) => o.verdict === 'DNAT' || o.verdict === 'ACCEPT');
  return {
    chainPath: t.chainPath,
    destinations: [...dest.values()],
    verdict: dest.size > 0 ? 'DNAT' : passed.length > 0 ? 'ACCEPT' : (outcomes[0]?.verdict ?? 'ACCEPT'),
    masquerade: passed.some((o) => o.masquerade),
    outcomes,
  };
}

function outcome(b: Branch, verdict: NftTraceVerdict): NftTraceOutcome {
  return { probability: b.prob, verdict, ip: formatIP(b.pkt.dst), port: b.pkt.dport, masquerade: b.pkt.masq, steps: b.steps };
}
