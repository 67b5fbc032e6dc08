// ruleSignature scans a rule's options by hand (payload/rule-options.ts) where it ran a regex.
// The regex version is kept here as the reference: both must give the same signature for the
// rules we render, for the rules iptables-save prints, and for any text built from the pieces
// that make scanning tricky (quotes, escapes, '!', flags, unicode spaces, line terminators).

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ruleSignature, SIGNATURE_FLAGS as FLAGS, SIGNATURE_KEYS as KEYS } from '../../../modes/iptables/payload/signature.js';
import { kernelProbability } from '../../../modes/iptables/probability.js';
import { renderServicePort } from '../../../modes/iptables/render/service.js';
import { staticRules } from '../../../modes/iptables/render/skeleton.js';
import { ep, localEp, node, options, sp } from './fixtures.js';

const OPTION = /(?<=^|\s)(!\s+)?(--?[a-zA-Z][\w-]*)(?:\s+("(?:[^"\\]|\\.)*"|[^\s"-][^\s"]*))?/g;

/** The regex implementation ruleSignature had before the scanner, unchanged. */
function regexSignature(rule: string): string {
  const parts: string[] = [];
  OPTION.lastIndex = 0;
  for (let m = OPTION.exec(rule); m !== null; m = OPTION.exec(rule)) {
    const option = m[2] as string;
    const key = KEYS.get(option);
    if (key === undefined) continue;
    const neg = m[1] ? '!' : '';
    if (FLAGS.has(option)) {
      parts.push(`${neg}${key}`);
      if (m[3] !== undefined) OPTION.lastIndex = m.index + m[0].length - m[3].length;
      continue;
    }
    let value = m[3] ?? '';
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    if (key === 's' || key === 'd') value = value.replace(/\/(32|128)$/, '');
    else if (key === 'prob') value = String(kernelProbability(value));
    parts.push(`${neg}${key}=${value}`);
  }
  return parts.sort().join(' ');
}

describe('ruleSignature (scanner) against the regex it replaced', () => {
  it('agrees on every rule of a real iptables-save', () => {
    const saved = readFileSync(new URL('./data/real-save-ipv4.txt', import.meta.url), 'utf8');
    const rules = saved.split('\n').filter((l) => l.startsWith('-A ')).map((l) => l.replace(/^-A \S+ /, ''));
    expect(rules.length).toBeGreaterThan(20);
    for (const r of rules) expect(ruleSignature(r)).toBe(regexSignature(r));
  });

  it('agrees on the rules we render (affinity, NodePort, LoadBalancer with source ranges, Local policies)', () => {
    const o = options();
    const rules: string[] = [];
    for (const [, list] of staticRules(o)) rules.push(...list);
    const ports = [
      sp('ns', 'a', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }),
      sp('ns', 'b', { type: 'NodePort', nodePort: 30001, externalTrafficPolicy: 'Local' }),
      sp('ns', 'c', {
        type: 'LoadBalancer',
        nodePort: 30002,
        loadBalancerIPs: ['198.18.200.1'],
        loadBalancerSourceRanges: ['203.0.113.0/24'],
        externalIPs: ['198.18.201.1'],
      }),
      sp('ns', 'd', { internalTrafficPolicy: 'Local' }),
    ];
    for (const p of ports) {
      const r = renderServicePort(p, [ep('198.18.1.1'), ep('198.18.1.2'), localEp('198.18.16.1')], node(), o);
      for (const list of r.chains.values()) rules.push(...list);
      for (const list of r.dispatch.values()) rules.push(...list);
    }
    expect(rules.length).toBeGreaterThan(40);
    for (const r of rules) expect(ruleSignature(r)).toBe(regexSignature(r));
  });

  it('agrees on any text made of option-like pieces', () => {
    const piece = fc.constantFrom(
      ...[...KEYS.keys()],
      '-m', '--mode', '--reap', '--mask', '-x', '--x-y_z', '---a', '-', '--', '-1', '!', '! ', '"', '\\', '\\"', '\\\n',
      ' ', '  ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff', 'a', 'Z', '9', '_', '=',
      '198.18.0.1/32', '2001:db8::1/128', '/32', '0.1000000000', '0.10000000009', 'abc', '"q u"', '"a\\"b"', '"unterminated',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const rule = pieces.join('');
        expect(ruleSignature(rule)).toBe(regexSignature(rule));
      }),
      { numRuns: 20_000 },
    );
  });
});
