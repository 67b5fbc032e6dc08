// The balance check of the e2e suite (chi-square at p < 0.001 over BALANCE_CONNECTIONS) must reject
// the classic 1/n-probability bug: every selection rule with probability 1/n instead of 1/(n-i)
// gives shares 1/n, (1-1/n)/n, ... with the rest on the last endpoint. Connections are simulated
// through the SVC chain really rendered (and through the same chain with the bug put in), rule by
// rule as the kernel's statistic match takes them; trace's predicted shares are checked the same way.

import { describe, expect, it } from 'vitest';
import { EMPTY_CHANGES } from '../../../proxy/model/types.js';
import { servicePortChains } from '../../../modes/iptables/names.js';
import { probability } from '../../../modes/iptables/probability.js';
import { parseSave, tokenize } from '../../../modes/iptables/save-parse.js';
import { tracePacket } from '../../../modes/iptables/trace/tracer.js';
import { BALANCE_ALPHA, BALANCE_CONNECTIONS, chiSquareTest, describeChiSquare, uniformShares } from '../../support/chi-square.js';
import { ep, harness, NODE_IP, sp, state } from './fixtures.js';

/** mulberry32: a small seeded PRNG, so the simulation is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Programmed {
  readonly save: string;
  readonly svcChain: string;
  /** KUBE-SEP chain → "ip:port" it DNATs to. */
  readonly sepTarget: ReadonlyMap<string, string>;
  readonly endpoints: readonly string[];
}

async function programmed(n: number): Promise<Programmed> {
  const s = sp('ns', 'web');
  const eps = Array.from({ length: n }, (_, i) => ep(`198.18.1.${i + 1}`));
  const h = harness();
  await h.dp.sync({ state: state([[s, eps]]), changes: EMPTY_CHANGES, full: true });
  const save = await h.runner.save('IPv4');
  const nat = parseSave(save).get('nat');
  const sepTarget = new Map<string, string>();
  for (const [name, chain] of nat ?? []) {
    if (!name.startsWith('KUBE-SEP-')) continue;
    for (const r of chain.rules) {
      const m = /--to-destination (\S+)/.exec(r);
      if (m?.[1]) sepTarget.set(name, m[1]);
    }
  }
  return { save, svcChain: servicePortChains(s.key, 'TCP').svc, sepTarget, endpoints: eps.map((e) => `${e.ip}:8080`) };
}

/** The same ruleset with every selection rule at probability 1/n: the classic bug. */
function withOneOverNBug(save: string, svcChain: string, n: number): string {
  return save
    .split('\n')
    .map((l) => (l.startsWith(`-A ${svcChain} `) ? l.replace(/--probability \S+/, `--probability ${probability(n)}`) : l))
    .join('\n');
}

/** Connections through the SVC chain: each rule takes a new connection with its probability. */
function simulate(save: string, p: Programmed, connections: number, rnd: () => number): Record<string, number> {
  const rules = parseSave(save).get('nat')?.get(p.svcChain)?.rules ?? [];
  // Only the selection rules: the chain's first rule marks off-cluster sources for masquerading.
  const steps = rules.flatMap((r) => {
    const t = tokenize(r);
    const target = p.sepTarget.get(t[t.indexOf('-j') + 1] ?? '');
    const at = t.indexOf('--probability');
    return target === undefined ? [] : [{ prob: at >= 0 ? Number(t[at + 1]) : 1, target }];
  });
  expect(steps.length).toBe(p.endpoints.length);
  const counts: Record<string, number> = {};
  for (let c = 0; c < connections; c++) {
    const chosen = steps.find((s) => rnd() < s.prob)?.target ?? 'fell through';
    counts[chosen] = (counts[chosen] ?? 0) + 1;
  }
  return counts;
}

function predictedShares(save: string): Record<string, number> {
  const r = tracePacket(save, { src: '198.18.130.5', protocol: 'tcp', dst: '198.19.0.1', dport: 80, nodeIPs: [NODE_IP] });
  return Object.fromEntries(r.destinations.map((d) => [`${d.ip}:${d.port}`, d.probability]));
}

describe.each([3, 5] as const)('balance check over %i endpoints', (n) => {
  const connections = BALANCE_CONNECTIONS[n];
  const trials = 200;

  it(`accepts the rendered chain and rejects the 1/n bug in (nearly) every one of ${trials} simulated runs of ${connections} connections`, async () => {
    const p = await programmed(n);
    const buggy = withOneOverNBug(p.save, p.svcChain, n);
    const uniform = uniformShares(p.endpoints);
    let correctAccepted = 0;
    let buggyRejected = 0;
    const rnd = prng(17 + n);
    let example = '';
    for (let t = 0; t < trials; t++) {
      if (chiSquareTest(simulate(p.save, p, connections, rnd), uniform).pValue >= BALANCE_ALPHA) correctAccepted++;
      const r = chiSquareTest(simulate(buggy, p, connections, rnd), uniform);
      if (r.pValue < BALANCE_ALPHA) buggyRejected++;
      else example = describeChiSquare(r);
    }
    // At alpha = 0.001 a correct chain fails ~0.2 of 200 runs; the bug must be caught in >= 99 %.
    expect(correctAccepted).toBeGreaterThanOrEqual(trials - 3);
    expect(buggyRejected, `a 1/n-bug run that passed: ${example}`).toBeGreaterThanOrEqual(trials * 0.99);
    expect(buggy).not.toBe(p.save);
  });

  it("trace's predicted shares pass the same test against the chain they describe, for the correct and the buggy chain", async () => {
    const p = await programmed(n);
    const buggy = withOneOverNBug(p.save, p.svcChain, n);
    const good = predictedShares(p.save);
    expect(Object.keys(good).sort()).toEqual([...p.endpoints].sort());
    for (const v of Object.values(good)) expect(v).toBeCloseTo(1 / n, 9);
    const bad = predictedShares(buggy);
    // The 1/n bug's shares: 1/n, (1-1/n)/n, ..., with what is left on the last endpoint.
    const sorted = [...p.endpoints].sort((a, b) => Number(a.split(/[.:]/)[3]) - Number(b.split(/[.:]/)[3]));
    sorted.forEach((e, i) => {
      const want = i < n - 1 ? (1 / n) * (1 - 1 / n) ** i : (1 - 1 / n) ** (n - 1);
      expect(bad[e], e).toBeCloseTo(want, 6);
    });
    const rnd = prng(99 + n);
    expect(chiSquareTest(simulate(p.save, p, connections, rnd), good).pValue).toBeGreaterThanOrEqual(BALANCE_ALPHA);
    expect(chiSquareTest(simulate(buggy, p, connections, rnd), bad).pValue).toBeGreaterThanOrEqual(BALANCE_ALPHA);
    // ... and a prediction that does not describe the chain is rejected.
    expect(chiSquareTest(simulate(buggy, p, connections, rnd), good).pValue).toBeLessThan(BALANCE_ALPHA);
  });
});
