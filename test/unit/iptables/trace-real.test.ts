// The tracer over real `iptables-save` output (iptables v1.8.9 nf_tables, captured from a scratch
// network namespace after applying a full and a partial payload), whose formatting differs from
// what we write: `/32` suffixes, reordered -p, --reject-with, recent's --mask/--rsource.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tracePacket } from '../../../modes/iptables/trace/tracer.js';

const saved = readFileSync(new URL('./data/real-save-ipv4.txt', import.meta.url), 'utf8');
const base = { src: '203.0.113.7', protocol: 'tcp', nodeIPs: ['198.18.0.2'] };

describe('tracer on real iptables-save output', () => {
  it('follows LB source ranges and externalTrafficPolicy Local', () => {
    const r = tracePacket(saved, { ...base, dst: '192.0.2.20', dport: 80 });
    expect(r.destinations).toEqual([{ ip: '198.18.16.5', port: 8080, probability: 1 }]);
    expect(r.masquerade).toBe(false);
    expect(tracePacket(saved, { ...base, src: '198.51.100.1', dst: '192.0.2.20', dport: 80 }).verdict).toBe('DROP');
  });

  it('splits UDP traffic evenly after the partial sync added an endpoint', () => {
    const r = tracePacket(saved, { ...base, src: '198.18.130.1', protocol: 'udp', dst: '198.19.0.2', dport: 53 });
    expect(r.destinations.map((d) => d.ip).sort()).toEqual(['198.18.1.2', '198.18.1.9']);
    for (const d of r.destinations) expect(d.probability).toBeCloseTo(0.5, 9);
  });

  it('rejects the service added without endpoints', () => {
    expect(tracePacket(saved, { ...base, dst: '198.19.0.4', dport: 80 }).verdict).toBe('REJECT');
  });
});
