import { describe, expect, it } from 'vitest';
import { base32, commentArgs, endpointChainName, hashMemoSize, sanitizeComment, servicePortChains, servicePortHash } from '../../../modes/iptables/names.js';
import { formatTenDecimals, probability } from '../../../modes/iptables/probability.js';

describe('chain names', () => {
  it('matches the upstream golden value for ns4/svc4:p80 tcp', () => {
    expect(servicePortChains('ns4/svc4:p80', 'TCP').svc).toBe('KUBE-SVC-4SW47YFZTEDKD3PK');
  });

  it('uses one hash for SVC/SVL/EXT/FW and stays within 28 characters', () => {
    const c = servicePortChains('ns1/svc1:p80', 'UDP');
    const hash = c.svc.slice('KUBE-SVC-'.length);
    expect([c.svl, c.ext, c.fw]).toEqual([`KUBE-SVL-${hash}`, `KUBE-EXT-${hash}`, `KUBE-FW-${hash}`]);
    expect(hash).toMatch(/^[A-Z2-7]{16}$/);
    for (const n of Object.values(c)) expect(n.length).toBeLessThanOrEqual(28);
    expect(servicePortChains('ns1/svc1:p80', 'TCP').svc).not.toBe(c.svc);
  });

  it('hashes endpoints with protocol and ip:port', () => {
    const a = endpointChainName('ns1/svc1:p80', 'TCP', '10.0.0.1:80');
    expect(a).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(endpointChainName('ns1/svc1:p80', 'TCP', '10.0.0.1:81')).not.toBe(a);
    expect(endpointChainName('ns1/svc1:p80', 'UDP', '10.0.0.1:80')).not.toBe(a);
  });

  it('encodes base32 per RFC 4648 test vectors', () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc('f')).toBe('MY');
    expect(enc('fo')).toBe('MZXQ');
    expect(enc('foobar')).toBe('MZXW6YTBOI');
  });
});

describe('chain name memo', () => {
  it('keeps service port hashes but no endpoint chain name: churn of endpoints must not grow it', () => {
    const before = hashMemoSize();
    const names = new Set<string>();
    for (let i = 0; i < 1000; i++) names.add(endpointChainName('memo/churn:http', 'TCP', `198.18.${i >> 8}.${i & 255}:8080`));
    expect(names.size).toBe(1000);
    expect(hashMemoSize()).toBe(before);
    // Still the same name when asked again (pure), memo or not.
    expect(endpointChainName('memo/churn:http', 'TCP', '198.18.0.7:8080')).toBe(endpointChainName('memo/churn:http', 'TCP', '198.18.0.7:8080'));
    servicePortHash('memo/churn:http', 'TCP');
    expect(hashMemoSize()).toBe(before + 1);
  });
});

describe('comment sanitizer', () => {
  it('strips quotes, newlines and non-printables and bounds the length', () => {
    expect(sanitizeComment('a"b\nc\'d\\e\u0000f\u00e9')).toBe('abcdef');
    expect(sanitizeComment('x'.repeat(1000))).toHaveLength(255);
    expect(commentArgs('ns/svc:p "evil"')).toBe('-m comment --comment "ns/svc:p evil"');
  });
});

describe('probability', () => {
  it('formats 1/n like Go %0.10f for n = 1..1000', () => {
    expect(probability(1)).toBe('1.0000000000');
    expect(probability(2)).toBe('0.5000000000');
    expect(probability(3)).toBe('0.3333333333');
    expect(probability(6)).toBe('0.1666666667');
    for (let n = 1; n <= 1000; n++) {
      const s = probability(n);
      expect(s).toMatch(/^[01]\.\d{10}$/);
      expect(Math.abs(Number(s) - 1 / n)).toBeLessThanOrEqual(5e-11);
    }
  });

  it('rounds exact ties to even like Go', () => {
    expect(formatTenDecimals(1 / 2048)).toBe('0.0004882812');
    expect(probability(2048)).toBe('0.0004882812');
  });

  it('rejects nonsense', () => {
    expect(() => probability(0)).toThrow(RangeError);
  });
});
