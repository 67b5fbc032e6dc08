// Endpoint selection rules must read back from iptables-save with the signature they were
// recorded with, or a periodic full sync rewrites the service every time (issue #16: services
// with 202, 274, 451, ... endpoints were re-sent in full on each full sync). The kernel's text
// for a probability comes from test/fakes/iptables/xt-statistic.ts, which the integration test
// checks against the real iptables-save for every n up to 5,000.

import { describe, expect, it } from 'vitest';
import { readKernel } from '../../../modes/iptables/kernel-view.js';
import { servicePortChains } from '../../../modes/iptables/names.js';
import { ruleSignature } from '../../../modes/iptables/payload/signature.js';
import { kernelProbability, probability } from '../../../modes/iptables/probability.js';
import { recordService } from '../../../modes/iptables/record.js';
import { renderServicePort } from '../../../modes/iptables/render/service.js';
import { printStatistic, savedProbability, savedRule, xtStatisticStore } from '../../fakes/iptables/xt-statistic.js';
import { ep, node, options, sp } from './fixtures.js';

const MAX_ENDPOINTS = 5000;

describe('probabilities as the kernel keeps them', () => {
  it('the emulated iptables-save text matches real iptables-save output', () => {
    // From real iptables-nft 1.8.9 / iptables-legacy round trips (see the integration test).
    expect(savedProbability('0.5000000000')).toBe('0.50000000000');
    expect(savedProbability('0.1000000000')).toBe('0.10000000009');
    expect(savedProbability(probability(202))).toBe('0.00495049497');
    // 2^19 / 2^31 = 0.000244140625 exactly: glibc rounds the tie to even.
    expect(savedProbability(probability(4096))).toBe('0.00024414062');
    expect(printStatistic(2n ** 31n)).toBe('1.00000000000');
  });

  it('every probability of every service size up to 5,000 endpoints keeps its signature', () => {
    // A service with n endpoints writes 1/(n-i) for i = 0..n-2, so the probabilities of all sizes
    // up to 5,000 are those of 1/k for k = 2..5,000; each is checked once per size it occurs in.
    const checked = new Map<number, boolean>();
    const brokenSizes = new Set<number>();
    const brokenK = new Set<number>();
    for (let n = 1; n <= MAX_ENDPOINTS; n++) {
      for (let i = 0; i < n - 1; i++) {
        const k = n - i;
        let ok = checked.get(k);
        if (ok === undefined) {
          const rule = `-m comment --comment "ns/big:p80 -> 198.18.1.1:80" -m statistic --mode random --probability ${probability(k)} -j KUBE-SEP-X`;
          ok = ruleSignature(savedRule(rule)) === ruleSignature(rule);
          checked.set(k, ok);
          if (!ok) brokenK.add(k);
        }
        if (!ok) brokenSizes.add(n);
      }
    }
    expect(checked.size).toBe(MAX_ENDPOINTS - 1);
    expect({ probabilities: [...brokenK].slice(0, 10), sizes: [...brokenSizes].slice(0, 3) }).toEqual({ probabilities: [], sizes: [] });
  });

  it('the kernel value is what libxt_statistic stores, for every 1/k up to 5,000', () => {
    for (let k = 1; k <= MAX_ENDPOINTS; k++) {
      const text = probability(k);
      expect(BigInt(kernelProbability(text))).toBe(xtStatisticStore(text));
      // And reading the printed text back gives the same integer (what iptables-restore of a
      // saved ruleset would store).
      expect(kernelProbability(savedProbability(text))).toBe(kernelProbability(text));
    }
  });

  it('probabilities that the kernel keeps apart still sign apart', () => {
    const rule = (p: string): string => ruleSignature(`-m statistic --mode random --probability ${p} -j A`);
    // One step of 2^-31 apart.
    expect(rule(printStatistic(1000n))).not.toBe(rule(printStatistic(1001n)));
    expect(rule(probability(4096))).not.toBe(rule(probability(4095)));
  });

  it('a 5,000-endpoint service chain read back from iptables-save has its recorded digest', () => {
    const eps = Array.from({ length: MAX_ENDPOINTS }, (_, i) => ep(`198.18.${32 + Math.floor(i / 250)}.${(i % 250) + 1}`));
    const svc = sp('ns', 'big', { clusterIPs: ['198.19.0.9'] });
    const rules = renderServicePort(svc, eps, node(), options());
    const recorded = recordService(svc, eps, rules);
    const chain = servicePortChains(svc.key, 'TCP').svc;
    const selection = rules.chains.get(chain) ?? [];
    expect(selection.filter((r) => r.includes('--probability'))).toHaveLength(MAX_ENDPOINTS - 1);
    const save = ['*nat', `:${chain} - [0:0]`, ...selection.map((r) => `-A ${chain} ${savedRule(r)}`), 'COMMIT', ''].join('\n');
    expect(save).toContain('--probability 0.00495049497 ');
    expect(readKernel(save).serviceChains.get(chain)).toBe(recorded.chains.get(chain));
  });
});
