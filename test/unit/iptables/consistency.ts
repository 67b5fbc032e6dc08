// Checking a ruleset left between two full syncs (A before, B after) for consistency, shared by
// the fake-runner unit test (full-sync-atomicity.test.ts) and the real-iptables integration test
// (test/integration/iptables-verify.test.ts):
//   - nat: each service port's dispatch rules and every chain they reach are entirely A's or
//     entirely B's (so no jump to a missing or flushed chain, no half-replaced service);
//   - filter: its dispatch rules lie between A's and B's, with B's additions all present once
//     nat is new and A's rules all still present while nat is old;
//   - packets: for every address, port and kind of client of every service port, the traced
//     outcome (verdict, DNAT destinations with probabilities, masquerade) is A's or B's;
//   - the KUBE-NODEPORTS jump is still the last rule of nat KUBE-SERVICES.

import { commentKey, isServiceChain } from '../../../modes/iptables/names.js';
import { ruleTarget, type SavedTables } from '../../../modes/iptables/save-parse.js';
import { packetTracer, type TraceInput, type TraceResult } from '../../../modes/iptables/trace/tracer.js';
import type { Endpoint, ProxyState, ServicePort } from '../../../proxy/model/types.js';
import { ep, localEp, NODE_IP, sp, state } from './fixtures.js';

type Entry = [ServicePort, Endpoint[]];

const e = (i: number): Endpoint => ep(`198.18.1.${i}`);
const local = (i: number): Endpoint => localEp(`198.18.16.${i}`);
const lb = (n: number, extra: Partial<ServicePort> = {}): Partial<ServicePort> => ({
  type: 'LoadBalancer',
  nodePort: 30100 + n,
  loadBalancerIPs: [`198.18.200.${n}`],
  ...extra,
});

/** [name, before (undefined: absent), after (undefined: gone)], one per kind of change. */
export function scenario(): [string, Entry | undefined, Entry | undefined][] {
  const s = (name: string, n: number, extra: Partial<ServicePort> = {}): ServicePort => sp('ns', name, { clusterIPs: [`198.19.0.${n}`], ...extra });
  return [
    ['unchanged', [s('unchanged', 1), [e(1), e(2)]], [s('unchanged', 1), [e(1), e(2)]]],
    ['endpoints-swapped', [s('endpoints-swapped', 2), [e(3), e(4)]], [s('endpoints-swapped', 2), [e(4), e(5), e(6)]]],
    ['lost-endpoints', [s('lost-endpoints', 3, { type: 'NodePort', nodePort: 30003 }), [e(7)]], [s('lost-endpoints', 3, { type: 'NodePort', nodePort: 30003 }), []]],
    ['gained-endpoints', [s('gained-endpoints', 4, { type: 'NodePort', nodePort: 30004 }), []], [s('gained-endpoints', 4, { type: 'NodePort', nodePort: 30004 }), [e(8), e(9)]]],
    ['added', undefined, [s('added', 5, { type: 'NodePort', nodePort: 30005 }), [e(10)]]],
    ['deleted', [s('deleted', 6, { type: 'NodePort', nodePort: 30006 }), [e(11), e(12)]], undefined],
    ['deleted-empty', [s('deleted-empty', 7), []], undefined],
    ['itp-local', [s('itp-local', 8), [e(13), local(13)]], [s('itp-local', 8, { internalTrafficPolicy: 'Local' }), [e(13), local(13)]]],
    ['source-ranges', [s('source-ranges', 9, lb(9)), [e(14)]], [s('source-ranges', 9, lb(9, { loadBalancerSourceRanges: ['203.0.113.0/24'] })), [e(14)]]],
    ['affinity', [s('affinity', 10), [e(15), e(16)]], [s('affinity', 10, { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } }), [e(15), e(16)]]],
    ['etp-local', [s('etp-local', 11, lb(11)), [e(17), local(17)]], [s('etp-local', 11, lb(11, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32011 })), [e(17), local(17)]]],
    ['etp-local-no-local', [s('etp-local-no-local', 12, lb(12)), [e(18)]], [s('etp-local-no-local', 12, lb(12, { externalTrafficPolicy: 'Local', healthCheckNodePort: 32012 })), [e(18)]]],
    ['cluster-ip-moved', [s('cluster-ip-moved', 13), [e(19)]], [s('cluster-ip-moved', 113), [e(19)]]],
    ['port-changed', [s('port-changed', 14), [e(20)]], [s('port-changed', 14, { port: 8080 }), [e(20)]]],
    ['external-ip', [s('external-ip', 15), [e(21)]], [s('external-ip', 15, { externalIPs: ['198.18.201.15'] }), [e(21)]]],
    ['udp-now', [s('udp-now', 16), [e(22)]], [s('udp-now', 16, { protocol: 'UDP' }), [e(22)]]],
    ['lost-local-only', [s('lost-local-only', 17, { internalTrafficPolicy: 'Local' }), [local(23)]], [s('lost-local-only', 17, { internalTrafficPolicy: 'Local' }), [e(23)]]],
  ];
}

export function states(): { a: ProxyState; b: ProxyState; services: ServicePort[] } {
  const sc = scenario();
  const a = sc.flatMap(([, before]) => (before ? [before] : []));
  const b = sc.flatMap(([, , after]) => (after ? [after] : []));
  // Filler so a small budget cuts the sync into many transactions.
  for (let i = 0; i < 12; i++) {
    const filler = (eps: Endpoint[]): Entry => [sp('fill', `f${i}`, { clusterIPs: [`198.19.1.${i + 1}`] }), eps];
    a.push(filler([ep(`198.18.2.${i + 1}`)]));
    b.push(filler(i % 3 === 0 ? [ep(`198.18.3.${i + 1}`)] : [ep(`198.18.2.${i + 1}`)]));
  }
  return { a: state(a), b: state(b), services: [...a, ...b].map(([s]) => s) };
}

const NAT_ROOTS = ['KUBE-SERVICES', 'KUBE-NODEPORTS'];
const FILTER_DISPATCH = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'];

/** A service port's nat dispatch rules and the content of every chain they reach. */
export function natView(t: SavedTables, key: string): string {
  const nat = t.get('nat');
  const out: string[] = [];
  const queue: string[] = [];
  for (const c of NAT_ROOTS) {
    for (const r of nat?.get(c)?.rules ?? []) {
      if (commentKey(r) !== key) continue;
      out.push(`${c}: ${r}`);
      queue.push(ruleTarget(r) ?? '');
    }
  }
  out.sort();
  const reached: string[] = [];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const chain = queue.shift() as string;
    if (!isServiceChain(chain) || seen.has(chain)) continue;
    seen.add(chain);
    const rules = nat?.get(chain)?.rules;
    reached.push(`${chain} = ${rules === undefined ? 'MISSING' : `[${rules.join(' | ')}]`}`);
    for (const r of rules ?? []) queue.push(ruleTarget(r) ?? '');
  }
  return [...out, ...reached.sort()].join('\n');
}

function filterView(t: SavedTables, key: string): Set<string> {
  const out = new Set<string>();
  for (const c of FILTER_DISPATCH) for (const r of t.get('filter')?.get(c)?.rules ?? []) if (commentKey(r) === key) out.add(`${c}: ${r}`);
  return out;
}

export interface Probe {
  readonly key: string;
  readonly input: TraceInput;
}

/** Every kind of packet that reaches a service port, in A or in B. */
export function probes(services: readonly ServicePort[]): Probe[] {
  const out = new Map<string, Probe>();
  // Off-cluster client inside the LB source range, one outside it, a pod.
  const sources = ['203.0.113.7', '198.51.100.1', '198.18.130.1'];
  const add = (key: string, input: TraceInput): void => void out.set(`${key} ${JSON.stringify(input)}`, { key, input });
  for (const s of services) {
    const targets: [string, number][] = [
      ...s.clusterIPs.map((ip): [string, number] => [ip, s.port]),
      ...s.externalIPs.map((ip): [string, number] => [ip, s.port]),
      ...s.loadBalancerIPs.map((ip): [string, number] => [ip, s.port]),
      ...(s.nodePort ? [[NODE_IP, s.nodePort] as [string, number]] : []),
      ...(s.healthCheckNodePort ? [[NODE_IP, s.healthCheckNodePort] as [string, number]] : []),
    ];
    for (const [dst, dport] of targets) {
      const protocol = s.protocol.toLowerCase();
      for (const src of sources) add(s.key, { src, protocol, dst, dport, nodeIPs: [NODE_IP] });
      add(s.key, { src: NODE_IP, protocol, dst, dport, nodeIPs: [NODE_IP], locallyOriginated: true });
    }
  }
  return [...out.values()];
}

/** Traced outcomes of `probes` over one ruleset, as comparable strings. */
export function outcomes(t: SavedTables, ps: readonly Probe[]): string[] {
  const trace = packetTracer(t);
  return ps.map((p) => outcome(trace(p.input)));
}

function outcome(r: TraceResult): string {
  const dest = r.destinations.map((d) => `${d.ip}:${d.port}@${d.probability.toFixed(6)}`).sort();
  return `${r.verdict} masq=${r.masquerade} ${dest.join(',')}`;
}

/** Our chains and rules only, for comparing two kernels. */
export function owned(t: SavedTables): string {
  const out: string[] = [];
  for (const [table, chains] of t) {
    for (const [name, c] of [...chains].sort(([x], [y]) => x.localeCompare(y))) out.push(`${table} ${name}`, ...[...c.rules].sort());
  }
  return out.join('\n');
}

export interface Violation {
  readonly k: number;
  readonly what: string;
}

/** The checks of the file comment, for the ruleset `now` between `a` and `b`. */
export interface Side {
  readonly tables: SavedTables;
  readonly outcomes: readonly string[];
}

export function check(k: number, now: SavedTables, a: Side, b: Side, services: readonly ServicePort[], ps: readonly Probe[]): { violations: Violation[]; oldKeys: number; newKeys: number } {
  const violations: Violation[] = [];
  const keys = [...new Set(services.map((s) => s.key))];
  let oldKeys = 0;
  let newKeys = 0;
  for (const key of keys) {
    const [va, vb, vn] = [natView(a.tables, key), natView(b.tables, key), natView(now, key)];
    if (vn !== va && vn !== vb) violations.push({ k, what: `${key}: nat rules are neither A's nor B's:\n${vn}\n--- A:\n${va}\n--- B:\n${vb}` });
    if (va !== vb && vn === va) oldKeys++;
    if (va !== vb && vn === vb) newKeys++;
    const [fa, fb, fn] = [filterView(a.tables, key), filterView(b.tables, key), filterView(now, key)];
    for (const r of fn) if (!fa.has(r) && !fb.has(r)) violations.push({ k, what: `${key}: filter rule from neither A nor B: ${r}` });
    for (const r of fa) if (fb.has(r) && !fn.has(r)) violations.push({ k, what: `${key}: filter rule of A and B missing: ${r}` });
    const need = va !== vb && vn === va ? fa : va !== vb && vn === vb ? fb : new Set<string>();
    for (const r of need) if (!fn.has(r)) violations.push({ k, what: `${key}: nat is ${vn === va ? 'A' : 'B'}'s but filter lacks ${r}` });
  }
  outcomes(now, ps).forEach((on, i) => {
    const [oa, ob, p] = [a.outcomes[i], b.outcomes[i], ps[i] as Probe];
    if (on !== oa && on !== ob) violations.push({ k, what: `${p.key} ${JSON.stringify(p.input)}: ${on}, A: ${oa}, B: ${ob}` });
  });
  // The nodeports jump stays the last rule of nat KUBE-SERVICES.
  const last = now.get('nat')?.get('KUBE-SERVICES')?.rules.at(-1);
  if (last !== undefined && ruleTarget(last) !== 'KUBE-NODEPORTS') violations.push({ k, what: `KUBE-SERVICES ends with ${last}` });
  return { violations, oldKeys, newKeys };
}

